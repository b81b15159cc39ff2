"""Every write of the help centre's own data: votes, search logs, deflections. Views call
these; the help content itself is written by staff in the admin and by load_help_content."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from django.db import DatabaseError, transaction
from django.utils.crypto import salted_hmac

from faq.models import Article, ArticleFeedback, SearchQuery, redact_query

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
