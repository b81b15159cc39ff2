"""Background work: sending e-mail, retried with back-off when the mail server fails."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from tickets.emails import build_email
from tickets.models import Ticket

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# 1, 2, 4 ... minutes, at most an hour apart: a mail server down for a day is still caught up.
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


def retry_delay(attempt: int) -> timedelta:
    delay: timedelta = min(RETRY_BASE * 2 ** (attempt - 1), RETRY_CAP)
    return delay


@task()
def send_ticket_email(
    ticket_id: int, template: str, attempt: int = 1, message_id: int | None = None
) -> str:
    ticket = Ticket.objects.select_related("assignee").filter(pk=ticket_id).first()
    if ticket is None:
        return "ticket deleted"
    message = build_email(ticket, template, message_id=message_id)
    if message is None:
        return "no recipient"
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        if attempt >= MAX_ATTEMPTS:
            logger.error("Giving up on %s e-mail for %s: %s", template, ticket.reference, error)
            raise
        # django-tasks has no retries of its own: queue the next attempt, deferred.
        send_ticket_email.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(
            ticket_id, template, attempt + 1, message_id=message_id
        )
        logger.warning(
            "Mail for %s failed (attempt %d), retrying: %s", ticket.reference, attempt, error
        )
        return f"retry queued after attempt {attempt}"
    return "sent"
