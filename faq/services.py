"""Every write of the help centre's own data: votes, search logs, deflections. Views call
these; the help content itself is written by staff in the admin and by load_help_content."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from faq import searchlog
from faq.models import (
    Article,
    ArticleFeedback,
    ArticleQuerySet,
    SearchQuery,
    SearchToken,
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
    "search_log_write",
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
) -> SearchQuery:
    """Log one search; the query is stored redacted (see ``redact_query``). No database
    write here: the search joins this worker's next batch (faq.searchlog), and the returned
    search (not yet saved) gives the token the page carries.

    ``previous_token`` is the token of this customer's last search, sent back by the search
    form. When the new query extends or trims that one within a short while, the customer
    is still typing (live search) or has pressed Enter on what they typed: it is the same
    search (the same key), so the earlier row is updated instead of adding one row per pause
    in their typing.
    """
    text = redact_query(query)[: SearchQuery.MAX_LENGTH]
    previous = SearchQuery.read_token(previous_token, max_age=SearchQuery.TYPING_WINDOW)
    key, fresh = secrets.token_urlsafe(12), True
    same_search = previous is not None and (
        text.startswith(previous.query) or previous.query.startswith(text)
    )
    if previous is not None and same_search and previous.language == language:
        key, fresh = previous.key, False
    now = timezone.now()
    search = SearchQuery(
        key=key,
        query=text,
        language=language,
        result_count=result_count,
        created_at=now,
        updated_at=now,
    )
    searchlog.add(search, fresh=fresh)
    return search


def search_log_mark_opened(*, token: str, slug: str) -> bool:
    """Remember the first result the customer opened from the search behind ``token`` (with
    the next batch, like the search itself: its row may not be written yet)."""
    if len(slug) > SearchQuery._meta.get_field("opened_slug").max_length:  # type: ignore[operator]
        return False  # no article has such a slug; PostgreSQL would refuse the whole batch
    previous = SearchQuery.read_token(token, max_age=SearchQuery.OPEN_WINDOW)
    if previous is None:
        return False
    now = timezone.now()
    opened = SearchQuery(
        key=previous.key,
        query=previous.query,
        language=previous.language,
        result_count=previous.result_count,
        opened_slug=slug,
        created_at=now,
        updated_at=now,
    )
    searchlog.add(opened, opened_only=True)
    return True


def search_log_write(batch: list[searchlog.Pending]) -> None:
    """Write a batch of searches (faq.searchlog.flush): one INSERT for the new ones; for the
    others (refinements and opened results, whose row this or another worker may have
    written) one SELECT, then an INSERT of the missing and an UPDATE of the changed."""
    new = [entry.search for entry in batch if entry.fresh]
    known = [entry for entry in batch if not entry.fresh]
    if new:
        try:
            with _savepoint_if_in_transaction():
                if len(new) == 1:  # written at once (FAQ_SEARCH_LOG_FLUSH_SECONDS=0)
                    new[0].save(force_insert=True)  # one INSERT; bulk_create adds BEGIN/COMMIT
                else:
                    SearchQuery.objects.bulk_create(new)
        except IntegrityError:
            # Another worker wrote one of these keys first (an opened result, a refinement
            # it served): merge them all with what is there.
            known += [entry for entry in batch if entry.fresh]
    if len(known) == 1:
        with _savepoint_if_in_transaction():
            _search_log_merge_one(known[0])
    elif known:
        with transaction.atomic():
            _search_log_merge(known)


def _search_log_merge_one(entry: searchlog.Pending) -> None:
    # One search written at once (FAQ_SEARCH_LOG_FLUSH_SECONDS=0, or a quiet worker): one
    # UPDATE when its row is there, as the SELECT of the batch would cost more than it saves.
    search = entry.search
    rows = SearchQuery.objects.filter(key=search.key)
    found = 0
    if not entry.opened_only:
        found = rows.filter(updated_at__lt=search.updated_at).update(
            query=search.query, result_count=search.result_count, updated_at=search.updated_at
        )
    if search.opened_slug:
        found += rows.filter(opened_slug="").update(opened_slug=search.opened_slug)
    if not found:
        # Not written yet, or already newer (or already opened): ignore_conflicts keeps it.
        SearchQuery.objects.bulk_create([search], ignore_conflicts=True)


def _search_log_merge(batch: list[searchlog.Pending]) -> None:
    # Locked (in key order, so two workers never deadlock): another worker merging the same
    # search at once would otherwise write its stale copy of the other fields over ours.
    rows = SearchQuery.objects.filter(key__in=[e.search.key for e in batch]).order_by("key")
    written = {row.key: row for row in rows.select_for_update()}
    missing, changed = [], []
    for entry in batch:
        search, row = entry.search, written.get(entry.search.key)
        if row is None:
            missing.append(search)
            continue
        before = (row.query, row.result_count, row.opened_slug)
        if not entry.opened_only and search.updated_at > row.updated_at:
            row.query, row.result_count = search.query, search.result_count
            row.updated_at = search.updated_at
        row.opened_slug = row.opened_slug or search.opened_slug  # the first opened counts
        if (row.query, row.result_count, row.opened_slug) != before:
            changed.append(row)
    if missing:
        # ignore_conflicts: a key another worker wrote since the SELECT keeps its row.
        SearchQuery.objects.bulk_create(missing, ignore_conflicts=True)
    if changed:
        SearchQuery.objects.bulk_update(
            changed, ["query", "result_count", "opened_slug", "updated_at"]
        )


def _savepoint_if_in_transaction() -> AbstractContextManager[object]:
    # Autocommit (the flusher thread, a request): one INSERT is atomic by itself, and a
    # transaction would cost SQLite a BEGIN. Inside one (a test): a savepoint keeps it usable.
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return nullcontext()


def deflection_record(*, article: Article) -> None:
    """A help article suggested beside the ticket form was opened: the form was not needed."""
    from tickets.models import Deflection  # tickets depends on faq, not the other way round

    _analytics(lambda: Deflection.objects.create(article=article), None, "deflection")


def synonym_suggestion_record(*, token: str, language: str, slug: str, max_age: int) -> None:
    """The visit's last search (``token``) was followed by opening article ``slug`` instead of
    one of its results: count the pair as a synonym suggestion for staff."""
    previous = SearchQuery.read_token(token, max_age=max_age)
    if previous is None or previous.language != language:
        return
    _analytics(lambda: _synonym_suggestion_write(previous, language, slug), None, "synonym")


def _synonym_suggestion_write(previous: SearchToken, language: str, slug: str) -> None:
    from django.db.models import F

    from faq.search import suggested_partner

    # The search as this worker holds it, else its row; neither (another worker has not
    # written it yet): the words its token carries.
    searched = (
        searchlog.pending(previous.key) or SearchQuery.objects.filter(key=previous.key).first()
    )
    phrase = searched.query if searched is not None else previous.query
    if searched is not None and searched.opened_slug:
        return  # a result was opened after all
    article = Article.objects.published().filter(language=language, slug=slug).first()
    if article is None or "[" in phrase:
        return  # or the query held masked personal data
    updated = SynonymSuggestion.objects.filter(
        phrase=phrase, language=language, article=article
    ).update(times=F("times") + 1)
    if not updated:
        SynonymSuggestion.objects.create(
            phrase=phrase,
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
