"""Customers' files are kept only as long as needed.

A ticket's attachments are deleted TICKETS_ATTACHMENT_RETENTION_DAYS after it was resolved (or
closed, for a ticket closed without being resolved): `manage.py delete_expired_attachments`
runs the rule from cron, services.attachments_delete_expired writes it. The row of a deleted
file stays, with its name and `deleted_at`, so the ticket still says what was sent and when it
went. A reopened ticket's files stay; resolved again, its clock starts again.

Every staff view or download of a file is recorded (services.attachment_access_record); the
ticket page in the admin lists, per file, who opened it (files_of).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Max
from django.utils import timezone

from tickets.models import Attachment, Ticket


def retention_period() -> timedelta:
    days = settings.TICKETS_ATTACHMENT_RETENTION_DAYS
    if days < 1:
        # 0 would delete a customer's files the moment a ticket is resolved, before they can
        # say it is not solved: surely a typing error, so refuse rather than guess.
        raise ImproperlyConfigured(
            f"TICKETS_ATTACHMENT_RETENTION_DAYS must be 1 or more, not {days}."
        )
    return timedelta(days=days)


def cutoff(now: datetime | None = None) -> datetime:
    """Files of tickets finished at or before this moment are due for deletion."""
    return (now or timezone.now()) - retention_period()


def due(now: datetime | None = None) -> list[Attachment]:
    """What the rule would delete now (the dry run's report), by ticket, oldest file first."""
    return list(
        Attachment.objects.past_retention(cutoff(now))
        .select_related("ticket")
        .order_by("ticket__reference", "created_at", "pk")
    )


def deletion_date(ticket: Ticket) -> datetime | None:
    """When the ticket's files are deleted, if it stays finished; None while it is active."""
    if not ticket.is_finished:
        return None
    started = ticket.resolved_at or ticket.status_changed_at
    return started + retention_period()


# --- the audit, as the ticket page shows it -----------------------------------------------------


@dataclass(frozen=True)
class Opener:
    username: str
    times: int
    last: datetime


@dataclass
class FileRecord:
    name: str
    size: int
    uploaded: datetime
    deleted_at: datetime | None
    openers: list[Opener] = field(default_factory=list)


def files_of(ticket: Ticket) -> list[FileRecord]:
    """The ticket's files, oldest first, each with who opened it (how often, last when), in
    one query: the ticket page has a query budget (tests/tickets/test_queue_budget.py)."""
    rows = (
        Attachment.objects.filter(ticket=ticket)
        .values("pk", "original_name", "size", "created_at", "deleted_at", "accesses__username")
        .annotate(times=Count("accesses"), last=Max("accesses__created_at"))
        .order_by("created_at", "pk", "-last")
    )
    records: dict[int, FileRecord] = {}
    for row in rows:
        record = records.get(row["pk"])
        if record is None:
            record = records[row["pk"]] = FileRecord(
                name=row["original_name"],
                size=row["size"],
                uploaded=row["created_at"],
                deleted_at=row["deleted_at"],
            )
        if row["times"]:
            record.openers.append(Opener(row["accesses__username"], row["times"], row["last"]))
    return list(records.values())
