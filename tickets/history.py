"""A ticket's history as people read it: labels instead of codes, local time, and the replies
and notes in the same timeline as the field changes. The CSV export shares the labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from tickets.models import Message, Ticket, TicketEvent

_CHOICE_FIELDS = ("kind", "topic", "status", "priority", "channel")


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i")


# What the history records that is not a column of its own.
_EXTRA_LABELS = {
    "macro": _lazy("Macro applied"),
    "merged_from": _lazy("Merged from"),
    "merged_into": _lazy("Merged into"),
    "register": _lazy("Complaint register"),
}


def field_label(field: str) -> str:
    if field in _EXTRA_LABELS:
        return str(_EXTRA_LABELS[field])
    try:
        model_field = Ticket._meta.get_field(field)
    except FieldDoesNotExist:  # a field recorded by an older release
        return field
    name = getattr(model_field, "verbose_name", field)
    return str(name).capitalize()


def value_label(field: str, value: str) -> str:
    """A stored value as the admin shows it: "open" → "Open", an ISO time → local time."""
    if not value:
        return "—"
    if field in _CHOICE_FIELDS:
        model_field = Ticket._meta.get_field(field)
        assert isinstance(model_field, models.Field)
        choices = dict(model_field.flatchoices)
        return str(choices.get(value, value))
    if field == "is_spam":
        return _("Yes") if value == "True" else _("No")
    if field.endswith("_at") and (moment := parse_datetime(value)) is not None:
        return local_time(moment)
    return value


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    who: str
    what: str
    detail: str = ""
    is_note: bool = False


def _event_entry(event: TicketEvent) -> TimelineEntry:
    who = event.actor.get_username() if event.actor else event.actor_label.capitalize()
    if event.field == "file_deleted":  # services.attachments_delete_expired: the name is old_value
        what = _("File deleted after the retention period")
        return TimelineEntry(at=event.created_at, who=who, what=what, detail=event.old_value)
    what = _("%(field)s: %(old)s → %(new)s") % {
        "field": field_label(event.field),
        "old": value_label(event.field, event.old_value),
        "new": value_label(event.field, event.new_value),
    }
    return TimelineEntry(at=event.created_at, who=who, what=what)


def _message_entry(message: Message, ticket: Ticket) -> TimelineEntry:
    if message.author_type == Message.Author.CUSTOMER:
        who, what = ticket.name or ticket.email, _("Customer wrote")
    elif message.author_type == Message.Author.SYSTEM:
        who, what = _("System"), _("System message")
    else:
        who = message.author.get_username() if message.author else _("Staff")
        what = _("Internal note") if message.is_internal else _("Public reply")
    first_line = message.body.strip().splitlines()[0] if message.body.strip() else ""
    detail = first_line if len(first_line) <= 120 else f"{first_line[:119]}…"
    return TimelineEntry(
        at=message.created_at, who=who, what=what, detail=detail, is_note=message.is_internal
    )


def timeline(ticket: Ticket) -> list[TimelineEntry]:
    """Everything that happened to the ticket, oldest first, in two queries."""
    events = [_event_entry(e) for e in ticket.events.select_related("actor")]
    messages = [_message_entry(m, ticket) for m in ticket.messages.select_related("author")]
    return sorted([*events, *messages], key=lambda entry: entry.at)


# --- the CSV export ---------------------------------------------------------------------------

CSV_COLUMNS = (
    "reference", "created_at", "kind", "topic", "priority", "status", "channel", "subject",
    "email", "transaction_reference", "first_response_at", "resolved_at", "satisfaction",
)  # fmt: skip
# A cell a spreadsheet would run as a formula (OWASP's list): prefixed with a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_header() -> list[str]:
    return [
        *(field_label(column) for column in CSV_COLUMNS),
        _("Assignee"),
        _("Messages"),
        _("Tags"),
    ]


def csv_row(ticket: Ticket, message_total: int) -> list[str]:
    cells: list[object] = []
    for column in CSV_COLUMNS:
        field = Ticket._meta.get_field(column)
        if isinstance(field, models.Field) and field.choices:
            cells.append(getattr(ticket, f"get_{column}_display")())
        else:
            cells.append(getattr(ticket, column))
    assignee = ticket.assignee.get_username() if ticket.assignee else ""
    # Needs prefetch_related("tags"): one query for the whole export.
    tags = ", ".join(sorted(tag.name for tag in ticket.tags.all()))
    return [csv_cell(cell) for cell in [*cells, assignee, message_total, tags]]
