"""What one ticket or one chat may cost us, whoever holds its link.

The rate limits (tickets/ratelimit.py) bound how many tickets an address opens; these bound
what happens inside one: follow-ups per hour, files and bytes per ticket, chat messages per
minute. tickets/services.py checks them with the ticket row locked, so two requests at once
cannot both take the last place; the views check them first too, so a refused follow-up's
files are never decoded. Each refusal says, in the customer's language, what to do instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Message, Ticket

MEGABYTE = 1024 * 1024


class QuotaExceeded(ValidationError):
    """A ticket or chat has had as much as it may take for now. `field` is the form field the
    message belongs next to."""

    def __init__(self, message: str, *, field: str, code: str) -> None:
        super().__init__(message, code=code)
        self.field = field


def _customer_messages_since(ticket: Ticket, since: timedelta) -> list[Message]:
    return list(
        ticket.messages.filter(
            author_type=Message.Author.CUSTOMER, created_at__gte=timezone.now() - since
        )
        .order_by("created_at")
        .only("created_at")
    )


def _minutes_until_free(oldest: Message, window: timedelta) -> int:
    wait = oldest.created_at + window - timezone.now()
    return max(1, math.ceil(wait.total_seconds() / 60))


def check_follow_up(ticket: Ticket, file_sizes: Sequence[int]) -> None:
    """A customer's follow-up on the ticket page, with the sizes of the files it brings."""
    hour = timedelta(hours=1)
    recent = _customer_messages_since(ticket, hour)
    if len(recent) >= settings.TICKETS_FOLLOW_UPS_PER_HOUR:
        raise QuotaExceeded(
            _(
                "You have added %(count)d messages to this ticket in the last hour. We read "
                "every one: please wait %(minutes)d minutes before adding another, or put "
                "everything in one message."
            )
            % {"count": len(recent), "minutes": _minutes_until_free(recent[0], hour)},
            field="body",
            code="follow_ups_per_hour",
        )
    check_files(ticket, file_sizes)


def check_files(ticket: Ticket, file_sizes: Sequence[int]) -> None:
    if not file_sizes:
        return
    # Files deleted after the retention period (tickets/retention.py) no longer count.
    held = ticket.attachments.filter(deleted_at__isnull=True).aggregate(
        count=Count("id"), size=Sum("size")
    )
    count, size = held["count"], held["size"] or 0
    if count + len(file_sizes) > settings.TICKETS_FILES_PER_TICKET:
        raise QuotaExceeded(
            _(
                "This ticket already has %(count)d of the %(limit)d files it can hold. Describe "
                "the rest in words; if we need more, your agent will tell you how to send it."
            )
            % {"count": count, "limit": settings.TICKETS_FILES_PER_TICKET},
            field="attachments",
            code="files_per_ticket",
        )
    limit = settings.TICKETS_FILE_MB_PER_TICKET * MEGABYTE
    if size + sum(file_sizes) > limit:
        raise QuotaExceeded(
            _(
                "These files would take this ticket's attachments over %(limit)d MB (it holds "
                "%(held).1f MB). Send smaller screenshots, or fewer of them."
            )
            % {"limit": settings.TICKETS_FILE_MB_PER_TICKET, "held": size / MEGABYTE},
            field="attachments",
            code="bytes_per_ticket",
        )


def check_chat_message(ticket: Ticket) -> None:
    minute = timedelta(minutes=1)
    recent = _customer_messages_since(ticket, minute)
    if len(recent) >= settings.TICKETS_CHAT_MESSAGES_PER_MINUTE:
        raise QuotaExceeded(
            _(
                "You are sending messages faster than the agent can read them. Please wait a "
                "moment, then send this one again: it is still in the box."
            ),
            field="body",
            code="chat_messages_per_minute",
        )
