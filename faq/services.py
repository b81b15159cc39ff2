"""Every write of the help centre's own data: votes, search logs, deflections. Views call
these; the help content itself is written by staff in the admin and by load_help_content."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from faq.models import (
    Article,
    ArticleFeedback,
    ArticleQuerySet,
    SearchQuery,
    SynonymSuggestion,
    redact_query,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _analytics(write: Callable[[], T], fallback: T, what: str) -> T:
    """Analytics may fail (a full disk, a locked table) without failing the customer's page:
    the write runs in a savepoint and is given up with a warning."""
    try:
        if not transaction.get_connection().in_atomic_block:
            return write()  # autocommit (a request): a failed write leaves nothing to undo
        with transaction.atomic():  # inside a transaction: a savepoint keeps it usable
            return write()
    except DatabaseError:
        logger.warning("analytics write failed: %s", what, exc_info=True)
        return fallback


def anonymous_visitor_id(ip: str, article_id: int, day: date) -> str:
    """The stand-in visitor of a vote sent without the visitor cookie: one per address,
    article and day, keyed with SECRET_KEY so the address cannot be read back."""
    key = f"{ip}|{article_id}|{day.isoformat()}"
    return "ip-" + salted_hmac("faq.anonymous-vote", key, algorithm="sha256").hexdigest()[:40]


__all__ = [
    "article_save",
    "article_translations_confirm",
    "articles_publish_due",
    "deflection_record",
    "feedback_record",
    "search_log_mark_opened",
    "search_log_record",
]


def feedback_record(
    *, article: Article, visitor_id: str, helpful: bool, comment: str = ""
) -> ArticleFeedback:
    """One vote per visitor per article: voting again changes the earlier vote."""
    defaults: dict[str, object] = {"helpful": helpful}
    if comment or helpful:
        # A "yes" clears a comment about what was missing; a bare "no" keeps it.
        defaults["comment"] = comment
    feedback, _created = ArticleFeedback.objects.update_or_create(
        article=article, visitor_id=visitor_id, defaults=defaults
    )
    return feedback


def search_log_record(
    *, query: str, language: str, result_count: int, previous_token: str = ""
) -> SearchQuery | None:
    """Log one search (see _search_log_write); None if the log could not be written."""
    return _analytics(
        lambda: _search_log_write(query, language, result_count, previous_token),
        None,
        "search log",
    )


def _search_log_write(
    query: str, language: str, result_count: int, previous_token: str
) -> SearchQuery:
    """Log one search; the query is stored redacted (see ``redact_query``).

    ``previous_token`` is the token of this customer's last search, sent back by the search
    form. When the new query extends or trims that one within a short while, the customer
    is still typing (live search) or has pressed Enter on what they typed: the earlier row
    is updated instead of adding one row per pause in their typing.
    """
    text = redact_query(query)[: SearchQuery.MAX_LENGTH]
    previous = SearchQuery.read_token(previous_token, max_age=SearchQuery.TYPING_WINDOW)
    if previous is not None:
        previous_id, previous_language, previous_query = previous
        same_search = text.startswith(previous_query) or previous_query.startswith(text)
        if previous_language == language and same_search:
            updated = SearchQuery.objects.filter(pk=previous_id).update(
                query=text, result_count=result_count
            )
            if updated:
                return SearchQuery(
                    pk=previous_id, query=text, language=language, result_count=result_count
                )
    return SearchQuery.objects.create(query=text, language=language, result_count=result_count)


def search_log_mark_opened(*, token: str, slug: str) -> bool:
    """Remember the first result the customer opened from the search behind ``token``."""
    previous = SearchQuery.read_token(token, max_age=SearchQuery.OPEN_WINDOW)
    if previous is None:
        return False
    pk = previous[0]
    return _analytics(
        lambda: bool(SearchQuery.objects.filter(pk=pk, opened_slug="").update(opened_slug=slug)),
        False,
        "search opened",
    )


def deflection_record(*, article: Article) -> None:
    """A help article suggested beside the ticket form was opened: the form was not needed."""
    from tickets.models import Deflection  # tickets depends on faq, not the other way round

    _analytics(lambda: Deflection.objects.create(article=article), None, "deflection")


def synonym_suggestion_record(*, token: str, language: str, slug: str, max_age: int) -> None:
    """The visit's last search (``token``) was followed by opening article ``slug`` instead of
    one of its results: count the pair as a synonym suggestion for staff."""
    previous = SearchQuery.read_token(token, max_age=max_age)
    if previous is None or previous[1] != language:
        return
    _analytics(lambda: _synonym_suggestion_write(previous[0], language, slug), None, "synonym")


def _synonym_suggestion_write(search_id: int, language: str, slug: str) -> None:
    from django.db.models import F

    from faq.search import suggested_partner

    searched = SearchQuery.objects.filter(pk=search_id, opened_slug="").first()
    article = Article.objects.published().filter(language=language, slug=slug).first()
    if searched is None or article is None or "[" in searched.query:
        return  # a result was opened after all; or the query held masked personal data
    updated = SynonymSuggestion.objects.filter(
        phrase=searched.query, language=language, article=article
    ).update(times=F("times") + 1)
    if not updated:
        SynonymSuggestion.objects.create(
            phrase=searched.query,
            language=language,
            article=article,
            joins=suggested_partner(article)[:100],
        )


def synonym_suggestion_decide(
    *, suggestion_id: int, accept: bool, by: AbstractBaseUser | AnonymousUser
) -> SynonymSuggestion:
    """A lead accepts (or rejects) a pending suggestion. Accepted, its phrase joins the
    synonym group of ``joins`` at once, and the articles holding either are re-indexed."""
    with transaction.atomic():
        suggestion = SynonymSuggestion.objects.select_for_update().get(pk=suggestion_id)
        if suggestion.status != SynonymSuggestion.Status.PENDING:
            return suggestion  # a colleague decided first: theirs stands
        suggestion.status = (
            SynonymSuggestion.Status.ACCEPTED if accept else SynonymSuggestion.Status.REJECTED
        )
        suggestion.decided_by = by if isinstance(by, AbstractBaseUser) else None  # type: ignore[assignment]
        suggestion.decided_at = timezone.now()
        suggestion.full_clean()
        suggestion.save()
        if accept:
            _synonyms_changed(suggestion, [suggestion.phrase, suggestion.joins])
    return suggestion


def synonym_suggestion_update(*, suggestion: SynonymSuggestion, joins: str) -> SynonymSuggestion:
    """Change what a suggestion means the same as; an accepted one moves its group now."""
    with transaction.atomic():
        current = SynonymSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        before = current.joins
        current.joins = joins.strip()
        current.full_clean()  # "means the same as" must hold a word search can find
        current.save(update_fields=["joins"])
        if current.status == SynonymSuggestion.Status.ACCEPTED:
            _synonyms_changed(current, [current.phrase, before, current.joins])
    return current


def _synonyms_changed(suggestion: SynonymSuggestion, texts: list[str]) -> None:
    from faq.search import synonyms_changed

    synonyms_changed(suggestion.language, texts)


# What a translator translates; keywords, order and the like are each language's own.
TRANSLATED_FIELDS = ("title", "summary", "body")


def article_save(*, article: Article) -> Article:
    """Save one language version of an article, keeping the translation flags right.

    Its text changed while it was up to date: the other languages' versions now lag behind
    and are flagged. Its text changed while it was flagged: this is the translator catching
    up, so its own flag goes and nothing else is flagged.
    """
    with transaction.atomic():
        before = (
            Article.objects.select_for_update()
            .filter(pk=article.pk)
            .values(*TRANSLATED_FIELDS, "translation_outdated_since")
            .first()
            if article.pk
            else None
        )
        changed = before is not None and any(
            before[field] != getattr(article, field) for field in TRANSLATED_FIELDS
        )
        was_outdated = before is not None and before["translation_outdated_since"] is not None
        if changed:
            article.translation_outdated_since = None
        article.save()
        if changed and not was_outdated:
            # update(): a flag is for staff only; it must not touch updated_at or the pages.
            Article.objects.filter(
                slug=article.slug, translation_outdated_since__isnull=True
            ).exclude(pk=article.pk).update(translation_outdated_since=timezone.now())
    return article


def article_translations_confirm(*, articles: ArticleQuerySet) -> int:
    """A translator checked these versions and they still say what the other language says."""
    return articles.needing_translation_update().update(translation_outdated_since=None)


def articles_publish_due() -> list[Article]:
    """Publish the drafts whose scheduled time has come (cron runs this every minute)."""
    published = []
    for article in Article.objects.due_for_publishing():
        with transaction.atomic():
            # Locked and checked again: two runs at once publish each article once.
            current = Article.objects.select_for_update().due_for_publishing().filter(pk=article.pk)
            if not current.exists():
                continue
            article.status = Article.Status.PUBLISHED
            published.append(article_save(article=article))
    return published
