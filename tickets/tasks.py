"""Background work: sending e-mail, retried with back-off when the mail server fails."""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import timedelta

from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from django_tasks import task

from tickets.emails import build_email, build_incident_fixed_email, build_references_email
from tickets.incident_models import IncidentSubscription
from tickets.models import SentEmail, Ticket

logger = logging.getLogger(__name__)

# 1, 2, 4 ... minutes, then hourly: the last attempt comes more than a day after the first,
# so a mail server down for a day is still caught up (test_email checks the sum).
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 32


def retry_delay(attempt: int) -> timedelta:
    delay: timedelta = min(RETRY_BASE * 2 ** (attempt - 1), RETRY_CAP)
    return delay


@task()
def send_ticket_email(
    ticket_id: int,
    template: str,
    attempt: int = 1,
    message_id: int | None = None,
    key: str = "",
) -> str:
    """Send one e-mail. `key` names this e-mail across its retries and across a task given
    back after its worker died (mail_worker): once it is marked sent, it is never sent again."""
    if key and SentEmail.objects.filter(key=key).exists():
        return "already sent"
    ticket = Ticket.objects.select_related("assignee").filter(pk=ticket_id).first()
    if ticket is None:
        return "ticket deleted"
    message = build_email(ticket, template, message_id=message_id, key=key)
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
            ticket_id, template, attempt + 1, message_id=message_id, key=key
        )
        logger.warning(
            "Mail for %s failed (attempt %d), retrying: %s", ticket.reference, attempt, error
        )
        return f"retry queued after attempt {attempt}"
    if key:
        _mark_sent(key)
    return "sent"


# How long the sent marker is retried through a database outage: well inside the worker's
# lease (mail_worker.LEASE, 10 minutes), so the task is not given back and sent again.
MARK_SENT_FOR_SECONDS = 180


def _mark_sent(key: str) -> None:
    """Record that the mail server took this e-mail. The database may be gone at this very
    moment (a restart, a failover): keep trying, reconnecting, rather than let the task fail
    and be given back to a worker that would send it a second time."""
    deadline = time.monotonic() + MARK_SENT_FOR_SECONDS
    pause = 0.5
    while True:
        try:
            SentEmail.objects.get_or_create(key=key)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > deadline:
                logger.error("Could not record e-mail %s as sent; it may be sent again", key)
                raise
            logger.warning("Database unavailable recording e-mail %s as sent; retrying", key)
            close_old_connections()
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


@task()
def send_references_email(address: str, language: str, key: str, attempt: int = 1) -> str:
    """The references of every ticket of one address, each with its signed link, sent to
    that address only (tickets.services.references_reminder_request)."""
    if SentEmail.objects.filter(key=key).exists():
        return "already sent"
    message = build_references_email(address, language, key=key)
    if message is None:
        return "no tickets"
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        if attempt >= MAX_ATTEMPTS:
            raise
        send_references_email.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(
            address, language, key, attempt + 1
        )
        logger.warning("References e-mail failed (attempt %d), retrying: %s", attempt, error)
        return f"retry queued after attempt {attempt}"
    _mark_sent(key)
    return "sent"


@task()
def send_incident_email(subscription_id: int, key: str, attempt: int = 1) -> str:
    """ "It's fixed" to one customer who asked (tickets.incident_services): once, by its key."""
    if SentEmail.objects.filter(key=key).exists():
        return "already sent"
    subscription = (
        IncidentSubscription.objects.select_related("incident").filter(pk=subscription_id).first()
    )
    if subscription is None:
        return "subscription deleted"
    message = build_incident_fixed_email(subscription, key=key)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        if attempt >= MAX_ATTEMPTS:
            raise
        send_incident_email.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(
            subscription_id, key, attempt + 1
        )
        logger.warning("Incident e-mail failed (attempt %d), retrying: %s", attempt, error)
        return f"retry queued after attempt {attempt}"
    _mark_sent(key)
    return "sent"
