from typing import cast

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from faq.models import (
    Article,
    ArticleFeedback,
    ArticleQuerySet,
    Category,
    SearchQuery,
    SecurityNotice,
)
from wallet_support.admin_filters import YesNoFilter


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name_zh_hans", "name_en", "slug", "order", "icon"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name_zh_hans", "name_en", "slug"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
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
        return cast(ArticleQuerySet, super().get_queryset(request)).with_feedback_counts()

    # The counts are annotations of get_queryset(), not fields of the model.
    @admin.display(description=_("Helpful"), ordering="helpful_count")
    def helpful_votes(self, article: Article) -> int:
        return int(getattr(article, "helpful_count", 0))

    @admin.display(description=_("Not helpful"), ordering="not_helpful_count")
    def not_helpful_votes(self, article: Article) -> int:
        return int(getattr(article, "not_helpful_count", 0))

    @admin.display(description=_("Preview (as saved)"))
    def preview(self, article: Article) -> SafeString | StrOrPromise:
        if not article.pk:
            return _("Save the article to see its preview.")
        # body_html went through the sanitizer when the article was saved.
        return format_html('<div class="article-preview">{}</div>', mark_safe(article.body_html))  # noqa: S308

    @admin.display(description=_("Other languages"))
    def translations(self, article: Article) -> SafeString | StrOrPromise:
        others = Article.objects.filter(slug=article.slug).exclude(pk=article.pk)
        if not article.pk or not others:
            return _("No translation yet: add an article with the same slug in the other language.")
        return format_html_join(
            ", ",
            '<a href="../../{}/change/">{}</a>',
            ((other.pk, f"{other.get_language_display()}: {other.title}") for other in others),
        )


@admin.register(SecurityNotice)
class SecurityNoticeAdmin(admin.ModelAdmin[SecurityNotice]):
    list_display = ["title_zh_hans", "title_en", "level", "published", "order", "updated_at"]
    list_editable = ["published", "order"]
    list_filter = ["level", "published"]


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin[ArticleFeedback]):
    list_display = ["article", "helpful", "comment", "updated_at"]
    list_filter = ["helpful", "article__language", "article__category"]
    list_select_related = ["article"]
    search_fields = ["comment", "article__title"]
    readonly_fields = ["article", "helpful", "comment", "created_at", "updated_at"]
    date_hierarchy = "updated_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # feedback comes from customers only


class SearchResultsFilter(YesNoFilter):
    title = _("results")
    parameter_name = "found"
    options = {
        "no": (_("Found nothing"), Q(result_count=0)),
        "yes": (_("Found something"), Q(result_count__gt=0)),
    }


class OpenedFilter(YesNoFilter):
    title = _("result opened")
    parameter_name = "opened"
    options = {"yes": (_("Yes"), ~Q(opened_slug="")), "no": (_("No"), Q(opened_slug=""))}


@admin.register(SearchQuery)
class SearchQueryAdmin(admin.ModelAdmin[SearchQuery]):
    """The search log, read-only, and a report of what customers search for and cannot find."""

    REPORT_PERIODS = [7, 30]  # days
    REPORT_ROWS = 20

    list_display = ["query", "language", "result_count", "opened_slug", "created_at"]
    list_filter = [SearchResultsFilter, OpenedFilter, "language"]
    search_fields = ["query"]
    date_hierarchy = "created_at"
    change_list_template = "admin/faq/searchquery/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # searches come from customers only

    def has_change_permission(self, request: HttpRequest, obj: SearchQuery | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        report = path(
            "report/",
            self.admin_site.admin_view(self.report_view),
            name="faq_searchquery_report",
        )
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        periods = []
        for days in self.REPORT_PERIODS:
            searches = SearchQuery.objects.since(days)
            total = searches.count()
            periods.append(
                {
                    "days": days,
                    "total": total,
                    "found_nothing": searches.without_results().count(),
                    "opened": searches.exclude(opened_slug="").count(),
                    "top": searches.top(self.REPORT_ROWS),
                    "top_without_results": searches.without_results().top(self.REPORT_ROWS),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("What customers search for"),
            "periods": periods,
        }
        return TemplateResponse(request, "admin/faq/searchquery/report.html", context)
