from typing import Any, cast

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from simple_history.admin import SimpleHistoryAdmin

from faq import services
from faq.models import (
    Article,
    ArticleFeedback,
    ArticleQuerySet,
    Category,
    SearchQuery,
    SecurityNotice,
    SynonymSuggestion,
)
from faq.rendering import render_markdown
from faq.services import article_save, article_translations_confirm
from wallet_support.admin_filters import YesNoFilter


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name_zh_hans", "name_en", "slug", "order", "icon"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name_zh_hans", "name_en", "slug"]


class TranslationFilter(YesNoFilter):
    title = _("translation")
    parameter_name = "translation"
    options = {
        "yes": (_("Needs update"), Q(translation_outdated_since__isnull=False)),
        "no": (_("Up to date"), Q(translation_outdated_since__isnull=True)),
    }


@admin.register(Article)
class ArticleAdmin(SimpleHistoryAdmin, admin.ModelAdmin[Article]):  # type: ignore[misc]
    """Help articles. History (simple-history): every save is a revision with who and when,
    its changes against the one before, and Revert to restore it."""

    list_display = [
        "title",
        "language",
        "translation_state",
        "category",
        "status",
        "featured",
        "order",
        "helpful_votes",
        "not_helpful_votes",
        "updated_at",
    ]
    list_filter = ["language", "status", TranslationFilter, "featured", "category"]
    actions = ["confirm_translations"]
    list_editable = ["status", "featured", "order"]
    list_select_related = ["category"]
    search_fields = ["title", "summary", "keywords", "slug"]
    readonly_fields = ["preview", "translations", "translation_state", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["language", "slug", "category", "title", "summary"]}),
        (_("Content"), {"fields": ["body", "preview"]}),
        (_("Search"), {"fields": ["keywords"]}),
        (
            _("Publishing"),
            {
                "fields": [
                    "status",
                    "publish_at",
                    "featured",
                    "order",
                    "translations",
                    "translation_state",
                ]
            },
        ),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]
    save_on_top = True
    change_list_template = "admin/faq/article/change_list.html"
    change_form_template = "admin/faq/article/change_form.html"
    HEALTH_STALE_DAYS = 180
    HEALTH_ROWS = 20

    class Media:
        css = {"all": ["css/admin-support.css"]}  # the "needs update" badge

    def get_urls(self) -> list[URLPattern]:
        health = path(
            "health/",
            self.admin_site.admin_view(self.health_view),
            name="faq_article_health",
        )
        preview = self.admin_site.admin_view(self.preview_view)
        previews = [
            path("preview/", preview, name="faq_article_preview_new"),
            path("<int:object_id>/preview/", preview, name="faq_article_preview"),
        ]
        return [health, *previews, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        # The health report link is for those who can fix what it shows.
        context = {"can_see_health": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def preview_view(self, request: HttpRequest, object_id: int | None = None) -> HttpResponse:
        """The article as customers would see it with the changes typed in the form, unsaved.

        The change form's "Preview" button posts the same fields here (in a new tab); nothing
        is written, so staff can look before they publish.
        """
        article = self.get_object(request, str(object_id)) if object_id else None
        if request.method != "POST" or (object_id and article is None):
            raise Http404
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        form = self.get_form(request, article)(request.POST, instance=article)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Preview"),
                "form": form,
            }
            return TemplateResponse(request, "admin/faq/article/preview_invalid.html", context)
        draft: Article = form.save(commit=False)
        draft.body_html = render_markdown(draft.body, language=draft.language)
        draft.updated_at = draft.updated_at or timezone.now()
        with translation.override(draft.language):
            response = TemplateResponse(
                request,
                "faq/article_detail.html",
                {"article": draft, "related_articles": [], "feedback": None, "preview": True},
            )
            response.render()
        response["X-Robots-Tag"] = "noindex"
        return response

    def health_view(self, request: HttpRequest) -> HttpResponse:
        """What to fix first in the help content: for leads, who edit it."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        articles = Article.objects.select_related("category")
        rows = self.HEALTH_ROWS
        not_updated = articles.not_updated_for(self.HEALTH_STALE_DAYS).order_by("updated_at")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Help content health"),
            "stale_days": self.HEALTH_STALE_DAYS,
            "not_helpful": articles.most_not_helpful()[:rows],
            "not_updated": not_updated[:rows],
            "outdated_translations": articles.needing_translation_update().order_by(
                "translation_outdated_since"
            ),
            "searches_without_results": SearchQuery.objects.since(30).without_results().top(rows),
        }
        return TemplateResponse(request, "admin/faq/article/health_report.html", context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return cast(ArticleQuerySet, super().get_queryset(request)).with_feedback_counts()

    def save_model(self, request: HttpRequest, obj: Article, form: object, change: bool) -> None:
        # The revision's "changed by": simple-history reads this attribute.
        obj._history_user = request.user  # type: ignore[attr-defined]
        article_save(article=obj)  # flags the other language when this one's text changed

    @admin.display(description=_("Translation"), ordering="translation_outdated_since")
    def translation_state(self, article: Article) -> SafeString | str:
        if article.translation_outdated_since is None:
            return ""
        return format_html('<span class="badge status-open">{}</span>', _("needs update"))

    @admin.action(description=_("Confirm the translation is up to date"))
    def confirm_translations(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        count = article_translations_confirm(articles=cast(ArticleQuerySet, queryset))
        self.message_user(request, _("%(count)d article(s) marked up to date.") % {"count": count})

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


@admin.register(SynonymSuggestion)
class SynonymSuggestionAdmin(admin.ModelAdmin[SynonymSuggestion]):
    """What the search log suggests customers mean; a lead accepts (the phrase joins the
    synonym groups at once, the index follows) or rejects. Only "means the same as" is
    editable: the customers' words are what they typed."""

    list_display = ["phrase", "joins", "article", "language", "times", "status", "updated_at"]
    list_filter = ["status", "language"]
    list_select_related = ["article"]
    search_fields = ["phrase", "joins", "article__title"]
    readonly_fields = [
        "phrase",
        "language",
        "article",
        "times",
        "status",
        "decided_by",
        "decided_at",
        "created_at",
        "updated_at",
    ]
    fields = ["phrase", "joins", *readonly_fields[1:]]
    actions = ["accept", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # suggestions come from the search log only

    def save_model(
        self, request: HttpRequest, obj: SynonymSuggestion, form: Any, change: bool
    ) -> None:
        # Editing "means the same as" of an accepted suggestion changes the groups too.
        services.synonym_suggestion_update(suggestion=obj, joins=obj.joins)

    @admin.action(description=_("Accept: add to the synonyms"), permissions=["change"])
    def accept(self, request: HttpRequest, queryset: QuerySet[SynonymSuggestion]) -> None:
        self._decide(request, queryset, accept=True)

    @admin.action(description=_("Reject"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[SynonymSuggestion]) -> None:
        self._decide(request, queryset, accept=False)

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[SynonymSuggestion], *, accept: bool
    ) -> None:
        pending = list(queryset.pending().values_list("pk", flat=True))  # type: ignore[attr-defined]
        if len(pending) < queryset.count():
            self.message_user(
                request, _("Only suggestions waiting for a decision can be decided."), "warning"
            )
        decided = 0
        for pk in pending:
            try:
                services.synonym_suggestion_decide(suggestion_id=pk, accept=accept, by=request.user)
            except ValidationError as error:  # "means the same as" names no searchable word
                self.message_user(
                    request,
                    f"{SynonymSuggestion.objects.get(pk=pk)}: {' '.join(error.messages)}",
                    "error",
                )
            else:
                decided += 1
        message = (
            _("Suggestions accepted: %(count)d. The search index follows.")
            if accept
            else _("Suggestions rejected: %(count)d.")
        )
        self.message_user(request, message % {"count": decided})
