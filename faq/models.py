"""Help content: categories, articles (one row per language), security notices, feedback.

Articles are documents: each language has its own row, status and search entry, and the two
translations of one article share a slug. Categories and notices are short labels that always
exist in both languages, so they carry both texts on one row.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Count, Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from faq.rendering import render_markdown
from wallet_support.db import choices_constraint


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


def current_language() -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    return language if language in Language.values else settings.LANGUAGE_CODE


class BilingualMixin:
    """Picks the field for the active language: ``name_zh_hans`` or ``name_en``."""

    def localized(self, field: str) -> str:
        suffix = current_language().replace("-", "_")
        text: str = getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh_hans")
        return text


class CategoryIcon(models.TextChoices):
    USER_PLUS = "user-plus", _("New account")
    WALLET = "wallet", _("Wallet")
    BANK = "bank", _("Bank")
    SHIELD = "shield", _("Shield")
    KEY = "key", _("Key")
    RECEIPT = "receipt", _("Receipt")
    WRENCH = "wrench", _("Wrench")
    CHAT = "chat", _("Chat")


class CategoryQuerySet(models.QuerySet["Category"]):
    def with_article_counts(self, language: str) -> CategoryQuerySet:
        published_here = Q(articles__status=Article.Status.PUBLISHED) & Q(
            articles__language=language
        )
        # An aggregate drops Meta.ordering, so the order is spelled out again.
        return self.annotate(article_count=Count("articles", filter=published_here)).order_by(
            "order", "slug"
        )


class Category(BilingualMixin, models.Model):
    Icon = CategoryIcon
    # The category the security page lists (and security notices point to).
    SECURITY = "security"

    slug = models.SlugField(_("slug"), unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    icon = models.CharField(_("icon"), max_length=20, choices=Icon, default=Icon.CHAT)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)
    description_zh_hans = models.CharField(_("description (Chinese)"), max_length=200, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["order", "slug"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            choices_constraint("icon", CategoryIcon, "category_icon_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh_hans} / {self.name_en}"

    def get_absolute_url(self) -> str:
        return reverse("faq:category-detail", args=[self.slug])

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def description(self) -> str:
        return self.localized("description")


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self) -> ArticleQuerySet:
        return self.filter(status=Article.Status.PUBLISHED)

    def in_language(self, language: str | None = None) -> ArticleQuerySet:
        return self.filter(language=language or current_language())

    def in_category(self, category: Category) -> ArticleQuerySet:
        return self.filter(category=category)

    def featured(self) -> ArticleQuerySet:
        return self.filter(featured=True)

    def related_to(self, article: Article, limit: int) -> list[Article]:
        """The published articles of ``article``'s category in its language, but itself, in
        order, with only what the list beside an article shows (slug, title, updated_at).

        The same query on every article render: written as SQL, as building it through the
        ORM took four times as long as running it (~0.4 ms, an eighth of the render).
        tests/faq/test_related_articles.py checks it against the ORM's own query."""
        table = connection.ops.quote_name(Article._meta.db_table)
        order = connection.ops.quote_name("order")
        sql = (
            f"SELECT id, slug, title, language, updated_at FROM {table} "
            "WHERE status = %s AND language = %s AND category_id = %s AND id <> %s "
            f"ORDER BY {order}, id LIMIT %s"
        )
        params = [Article.Status.PUBLISHED, article.language, article.category_id, article.pk]
        return list(Article.objects.raw(sql, [*params, limit]))

    def popular(self, language: str, limit: int = 8) -> ArticleQuerySet:
        """What the home page and an empty search offer: the featured articles, in order."""
        return self.published().in_language(language).featured().select_related("category")[:limit]

    def about_security(self) -> ArticleQuerySet:
        return self.filter(category__slug=Category.SECURITY)

    def due_for_publishing(self) -> ArticleQuerySet:
        """Drafts whose scheduled time has come."""
        return self.filter(
            status=Article.Status.DRAFT, publish_at__isnull=False, publish_at__lte=timezone.now()
        )

    def needing_translation_update(self) -> ArticleQuerySet:
        return self.filter(translation_outdated_since__isnull=False)

    def not_updated_for(self, days: int) -> ArticleQuerySet:
        return self.filter(updated_at__lt=timezone.now() - timedelta(days=days))

    def most_not_helpful(self) -> ArticleQuerySet:
        """Articles with "No" votes, most first, each with its comments (``no_comments``)."""
        comments = models.Prefetch(
            "feedback",
            queryset=ArticleFeedback.objects.filter(helpful=False).exclude(comment=""),
            to_attr="no_comments",
        )
        return (
            self.with_feedback_counts()
            .filter(Q(not_helpful_count__gt=0))  # a Q: django-stubs cannot see annotations
            .order_by("-not_helpful_count", "slug", "language")
            .prefetch_related(comments)
        )

    def with_feedback_counts(self) -> ArticleQuerySet:
        return self.annotate(
            helpful_count=Count("feedback", filter=Q(feedback__helpful=True)),
            not_helpful_count=Count("feedback", filter=Q(feedback__helpful=False)),
        )


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Article(models.Model):
    Status = ArticleStatus

    language = models.CharField(_("language"), max_length=8, choices=Language)
    slug = models.SlugField(
        _("slug"),
        max_length=100,
        help_text=_("The same slug links the Chinese and English versions of one article."),
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="articles", verbose_name=_("category")
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(
        _("summary"),
        max_length=300,
        help_text=_(
            "One or two sentences that answer the question; shown in lists and to search engines."
        ),
    )
    body = models.TextField(
        _("body"),
        help_text=_(
            "Markdown. Numbered lists become steps. Links: [text](article:slug), "
            "[text](page:contact), page:security, page:ticket-form, page:chat."
        ),
    )
    body_html = models.TextField(editable=False, default="")
    keywords = models.CharField(
        _("search keywords"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated words customers search with, including synonyms."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    featured = models.BooleanField(_("featured"), default=False)
    source_checksum = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Checksum of the content as the loader last wrote it; a difference means "
        "a staff member has edited the article since.",
    )
    # Set (by faq.services.article_save) when another language's version of this article
    # changed while this one did not: a translator should look. Nullable, so adding it did
    # not rewrite the table.
    translation_outdated_since = models.DateTimeField(
        _("translation needs update since"), null=True, blank=True, editable=False
    )
    publish_at = models.DateTimeField(
        _("publish at"),
        null=True,
        blank=True,
        help_text=_(
            "To publish later, keep the status Draft and set the time: the article goes live "
            "then. Leave empty and choose Published to publish now."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last updated"), auto_now=True)

    objects = ArticleQuerySet.as_manager()
    # A revision per save (admin, restore, loader): who, when, what. Derived and bookkeeping
    # fields are left out, so a restore brings back content, not a stale checksum or flag.
    history = HistoricalRecords(
        excluded_fields=["body_html", "source_checksum", "translation_outdated_since"]
    )

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [
            models.UniqueConstraint(fields=["language", "slug"], name="article_language_slug"),
            choices_constraint("status", ArticleStatus, "article_status_valid"),
            choices_constraint("language", Language, "article_language_valid"),
        ]
        indexes = [models.Index(fields=["language", "status", "category", "order"])]

    def __str__(self) -> str:
        return f"[{self.language}] {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.body_html = render_markdown(self.body, language=self.language)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        with translation.override(self.language):
            return reverse("faq:article-detail", args=[self.slug])

    def clean(self) -> None:
        super().clean()
        if (
            self.status == self.Status.PUBLISHED
            and self.publish_at
            and (self.publish_at > timezone.now())
        ):
            raise ValidationError(
                {"status": _("An article scheduled for later stays a draft until its time.")}
            )

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def rerender(self) -> bool:
        """Render the body again (links to pages added since) and save if the HTML changed."""
        if render_markdown(self.body, language=self.language) == self.body_html:
            return False
        self.save()
        return True

    def content_checksum(self) -> str:
        """What the content loader compares to tell an edited article from its own copy."""
        fields = [self.category_id, self.title, self.summary, self.body, self.keywords]
        fields += [self.status, self.order, self.featured]
        # str(): a TextChoices member and the string read back from the database must agree.
        return hashlib.sha256("\x1f".join(str(value) for value in fields).encode()).hexdigest()


class SecurityNoticeQuerySet(models.QuerySet["SecurityNotice"]):
    def published(self) -> SecurityNoticeQuerySet:
        return self.filter(published=True)


class NoticeLevel(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")


class SecurityNotice(BilingualMixin, models.Model):
    Level = NoticeLevel

    slug = models.SlugField(_("slug"), unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    level = models.CharField(_("level"), max_length=10, choices=Level, default=Level.INFO)
    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    body_zh_hans = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    published = models.BooleanField(_("published"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SecurityNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("security notice")
        verbose_name_plural = _("security notices")
        constraints = [
            choices_constraint("level", NoticeLevel, "notice_level_valid"),
        ]

    def __str__(self) -> str:
        return self.title_zh_hans

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def body(self) -> str:
        return self.localized("body")


class ArticleFeedback(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("article")
    )
    # A random id from a signed cookie: enough to count one vote per browser, not a person.
    visitor_id = models.CharField(max_length=64, editable=False)
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("what was missing"), blank=True, max_length=1000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        constraints = [
            models.UniqueConstraint(fields=["article", "visitor_id"], name="one_vote_per_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.article} — {'+' if self.helpful else '-'}"


class ArticleSearchDocument(models.Model):
    """An article as the search index sees it: its fields as space-separated search tokens.

    ``faq.search`` writes one row per article whenever the article is saved (and the row goes
    with the article when it is deleted). The database indexes these rows by itself: on SQLite
    triggers copy them into an FTS5 table, on PostgreSQL a generated tsvector column with a GIN
    index follows them (both created in migration 0002). A later migration that alters this
    table must recreate those: SQLite rebuilds a table to alter it, which drops its triggers,
    and PostgreSQL refuses to change a column a generated column depends on.
    """

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField(blank=True)
    keywords = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")

    def __str__(self) -> str:
        return f"search document of article {self.article_id}"


class SearchQueryQuerySet(models.QuerySet["SearchQuery"]):
    def since(self, days: int) -> SearchQueryQuerySet:
        return self.filter(created_at__gte=timezone.now() - timedelta(days=days))

    def without_results(self) -> SearchQueryQuerySet:
        return self.filter(result_count=0)

    def top(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most frequent queries, with how often one of their results was opened."""
        return list(
            self.values("query", "language")
            .annotate(
                searches=Count("id"),
                opened=Count("id", filter=~Q(opened_slug="")),
                found_nothing=Count("id", filter=Q(result_count=0)),
            )
            .order_by("-searches", "query", "language")[:limit]
        )


# Digit runs (possibly grouped by spaces, dots or hyphens) of 4+ digits: phone, card, ID and
# account numbers, verification codes. A search never needs them, and the log must not hold them.
_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){3,}(?!\d)")
_EMAIL = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*")


def redact_query(query: str) -> str:
    """A search query as the analytics log keeps it: case-folded, without personal data."""
    text = _EMAIL.sub("[email]", query.casefold())
    text = _LONG_NUMBER.sub("[number]", text)
    return " ".join(text.split())


KEY_LENGTH = 16  # secrets.token_urlsafe(12)


class SearchQuery(models.Model):
    """One customer search, for the analytics staff see in the admin. No personal data: no
    user, no IP address, no cookie, and the query itself is redacted before it is stored."""

    MAX_LENGTH = 200
    TOKEN_SALT = "faq.search-query"
    TYPING_WINDOW = 120  # seconds: a refinement within this time is the same search
    OPEN_WINDOW = 60 * 60 * 24  # seconds: a result opened later is not counted

    query = models.CharField(_("query"), max_length=MAX_LENGTH)
    language = models.CharField(_("language"), max_length=8, choices=Language)
    result_count = models.PositiveSmallIntegerField(_("results"))
    opened_slug = models.SlugField(
        _("opened article"),
        max_length=100,
        blank=True,
        help_text=_("The first result the customer opened, if any."),
    )
    # Searches are written in batches (faq.searchlog): the time is the search's, set when it
    # is made, not when its row is written.
    created_at = models.DateTimeField(_("searched at"), default=timezone.now, db_index=True)
    # The search's own random name, carried in its token: the row can be found by it before
    # and after it is written (rows older than this column have none).
    # NULL, not "": many old rows without one, and the key is unique.
    key = models.CharField(  # noqa: DJ001
        max_length=KEY_LENGTH, unique=True, null=True, editable=False
    )
    # When the customer last refined the query (typing on): of two workers writing the same
    # search, the later refinement wins.
    updated_at = models.DateTimeField(
        _("last refined"), default=timezone.now, db_default=Now(), editable=False
    )

    objects = SearchQueryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("search query")
        verbose_name_plural = _("search queries")
        constraints = [
            choices_constraint("language", Language, "search_query_language_valid"),
        ]

    def __str__(self) -> str:
        return self.query

    @property
    def token(self) -> str:
        """Signed, so a visitor cannot rewrite or mark someone else's search. It names the
        search by its random key, not its row id: the row may not be written yet."""
        return signing.dumps(
            [self.key, self.language, self.query, self.result_count],
            salt=self.TOKEN_SALT,
            compress=True,
        )

    @classmethod
    def read_token(cls, token: str, *, max_age: int) -> SearchToken | None:
        if not token:
            return None
        try:
            payload = signing.loads(token, salt=cls.TOKEN_SALT, max_age=max_age)
        except (signing.BadSignature, TypeError, ValueError):
            return None
        # A token from before searches had keys ([id, language, query]) is not one any more.
        if not isinstance(payload, list) or len(payload) != 4:
            return None
        key, language, query, result_count = payload
        if not all(isinstance(value, str) for value in (key, language, query)):
            return None
        if not isinstance(result_count, int):
            return None
        return SearchToken(key, language, query, result_count)


class SearchToken(NamedTuple):
    """What a search's token says: which search, in which language, for what words."""

    key: str
    language: str
    query: str
    result_count: int


class SynonymSuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class SynonymSuggestionQuerySet(models.QuerySet["SynonymSuggestion"]):
    def pending(self) -> SynonymSuggestionQuerySet:
        return self.filter(status=SynonymSuggestionStatus.PENDING)

    def accepted(self) -> SynonymSuggestionQuerySet:
        return self.filter(status=SynonymSuggestionStatus.ACCEPTED)


class SynonymSuggestion(models.Model):
    """Words customers use that the help content lacks, learned from the search log.

    A search that found nothing, or whose results the customer did not open, followed in the
    same visit by opening an article suggests that the customer's words mean that article's
    subject. A lead who agrees accepts it: the phrase then joins the synonym group of
    ``joins`` (a word of the article), or makes a new group with it, at once.
    """

    Status = SynonymSuggestionStatus

    phrase = models.CharField(_("customers' words"), max_length=SearchQuery.MAX_LENGTH)
    language = models.CharField(_("language"), max_length=8, choices=Language)
    article = models.ForeignKey(
        Article,
        on_delete=models.CASCADE,
        related_name="synonym_suggestions",
        verbose_name=_("article opened"),
    )
    joins = models.CharField(
        _("means the same as"),
        max_length=100,
        help_text=_(
            "A word of the help content that means the same. If it belongs to a synonym "
            "group, the customers' words join that group; otherwise the two form a new one."
        ),
    )
    times = models.PositiveIntegerField(_("times seen"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last seen"), auto_now=True)

    objects = SynonymSuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["-times", "-updated_at"]
        verbose_name = _("synonym suggestion")
        verbose_name_plural = _("synonym suggestions")
        constraints = [
            models.UniqueConstraint(
                fields=["phrase", "language", "article"], name="one_suggestion_per_pair"
            ),
            choices_constraint("status", SynonymSuggestionStatus, "synonym_suggestion_status"),
            choices_constraint("language", Language, "synonym_suggestion_language"),
        ]

    def __str__(self) -> str:
        return f"{self.phrase} = {self.joins}"

    def clean(self) -> None:
        from faq.search import tokenize  # faq.search reads these models

        if not tokenize(self.joins):
            raise ValidationError({"joins": _("Name a word of the help content.")})
