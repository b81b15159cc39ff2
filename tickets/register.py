"""The complaint register: the regulator's two clocks on every complaint, and its export.

A complaint (not a suggestion or a question) is acknowledged by the first staff reply
(`first_response_at`) within TICKETS_COMPLAINT_ACK_WORKING_DAYS working days, and gets its final
response (`resolved_at`) within TICKETS_COMPLAINT_FINAL_DAYS calendar days. Both are counted in
Beijing dates: a deadline is the end of its day there, so a complaint received on a Friday with
one working day to acknowledge is due by the end of Monday (tickets/settlement.py knows the
weekends and China's holidays).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from tickets.settlement import add_business_days

if TYPE_CHECKING:
    from tickets.models import Ticket

BEIJING = ZoneInfo("Asia/Shanghai")

ACK_OVERDUE = "ack"
FINAL_OVERDUE = "final"


def beijing_date(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BEIJING)


def ack_due_date(received: date) -> date:
    return add_business_days(received, settings.TICKETS_COMPLAINT_ACK_WORKING_DAYS)


def final_due_date(received: date) -> date:
    return received + timedelta(days=settings.TICKETS_COMPLAINT_FINAL_DAYS)


def ack_deadline(received_at: datetime) -> datetime:
    """The first moment the acknowledgement is late: the start of the day after the due day."""
    return start_of(ack_due_date(beijing_date(received_at)) + timedelta(days=1))


def final_deadline(received_at: datetime) -> datetime:
    return start_of(final_due_date(beijing_date(received_at)) + timedelta(days=1))


def ack_overdue_cutoff(now: datetime | None = None) -> datetime:
    """Complaints received before this moment are past their acknowledgement deadline.

    The due date never goes back as the received date goes forward, so one cutoff on
    `created_at` selects them all in SQL: the start of the day after the latest received date
    whose due day has ended.
    """
    today = beijing_date(now or timezone.now())
    received = today - timedelta(days=1)
    while ack_due_date(received) >= today:  # a few steps at most, over a long holiday
        received -= timedelta(days=1)
    return start_of(received + timedelta(days=1))


def final_overdue_cutoff(now: datetime | None = None) -> datetime:
    today = beijing_date(now or timezone.now())
    return start_of(today - timedelta(days=settings.TICKETS_COMPLAINT_FINAL_DAYS))


@dataclass(frozen=True)
class Clocks:
    ack_deadline: datetime
    final_deadline: datetime
    ack_late: bool  # acknowledged late, or not yet and the deadline has passed
    final_late: bool

    @property
    def breaches(self) -> list[str]:
        found = []
        if self.ack_late:
            found.append(_("acknowledgement late"))
        if self.final_late:
            found.append(_("final response late"))
        return found

    @property
    def breaches_text(self) -> str:
        return pgettext("list separator", "; ").join(self.breaches)


def clocks(ticket: Ticket, now: datetime | None = None) -> Clocks:
    now = now or timezone.now()
    ack_by, final_by = ack_deadline(ticket.created_at), final_deadline(ticket.created_at)
    acked, final = ticket.first_response_at, ticket.resolved_at
    return Clocks(
        ack_deadline=ack_by,
        final_deadline=final_by,
        # Nobody acknowledges a complaint already finally answered: the final response counts.
        ack_late=(min(filter(None, [acked, final]), default=now)) >= ack_by,
        final_late=(final or now) >= final_by,
    )


def beijing_time(moment: datetime | None) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if moment else ""


def column_labels() -> list[str]:
    return [
        _("reference"),
        _("received"),
        _("acknowledged"),
        _("final response"),
        _("outcome"),
        _("topic"),
        _("breaches"),
    ]


def rows(tickets: Iterable[Ticket], now: datetime | None = None) -> list[list[str]]:
    """One row per complaint, its times in Beijing time, as the regulator reads them."""
    now = now or timezone.now()
    return [
        [
            ticket.reference,
            beijing_time(ticket.created_at),
            beijing_time(ticket.first_response_at),
            beijing_time(ticket.resolved_at),
            ticket.get_status_display(),
            ticket.get_topic_display(),
            clocks(ticket, now).breaches_text,
        ]
        for ticket in tickets
    ]
