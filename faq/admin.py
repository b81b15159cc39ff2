from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from faq.models import Article, ArticleFeedback, Category, SecurityNotice


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_zh_hans", "name_en", "slug", "order", "icon"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name_zh_hans", "name_en", "slug"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "language",
        "category",
        "status",
        "featured",
        "order",
        "helpful_votes",
        "not_helpful_votes",
        "updated_at",
    ]
    list_filter = ["language", "status", "featured", "category"]
    list_editable = ["status", "featured", "order"]
    list_select_related = ["category"]
    search_fields = ["title", "summary", "keywords", "slug"]
    readonly_fields = ["preview", "translations", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["language", "slug", "category", "title", "summary"]}),
        (_("Content"), {"fields": ["body", "preview"]}),
        (_("Search"), {"fields": ["keywords"]}),
        (_("Publishing"), {"fields": ["status", "featured", "order", "translations"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]
    save_on_top = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return super().get_queryset(request).with_feedback_counts()

    @admin.display(description=_("Helpful"), ordering="helpful_count")
    def helpful_votes(self, article: Article) -> int:
        return article.helpful_count

    @admin.display(description=_("Not helpful"), ordering="not_helpful_count")
    def not_helpful_votes(self, article: Article) -> int:
        return article.not_helpful_count

    @admin.display(description=_("Preview (as saved)"))
    def preview(self, article: Article) -> SafeString | str:
        if not article.pk:
            return _("Save the article to see its preview.")
        # body_html went through the sanitizer when the article was saved.
        return format_html('<div class="article-preview">{}</div>', mark_safe(article.body_html))  # noqa: S308

    @admin.display(description=_("Other languages"))
    def translations(self, article: Article) -> SafeString | str:
        others = Article.objects.filter(slug=article.slug).exclude(pk=article.pk)
        if not article.pk or not others:
            return _("No translation yet: add an article with the same slug in the other language.")
        return format_html_join(
            ", ",
            '<a href="../../{}/change/">{}</a>',
            ((other.pk, f"{other.get_language_display()}: {other.title}") for other in others),
        )


@admin.register(SecurityNotice)
class SecurityNoticeAdmin(admin.ModelAdmin):
    list_display = ["title_zh_hans", "title_en", "level", "published", "order", "updated_at"]
    list_editable = ["published", "order"]
    list_filter = ["level", "published"]


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "helpful", "comment", "updated_at"]
    list_filter = ["helpful", "article__language", "article__category"]
    list_select_related = ["article"]
    search_fields = ["comment", "article__title"]
    readonly_fields = ["article", "helpful", "comment", "created_at", "updated_at"]
    date_hierarchy = "updated_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # feedback comes from customers only
