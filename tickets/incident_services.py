"""Every write of a known incident: posting and changing it, customers asking to hear when it is
fixed, and answering the tickets filed about it. The admin and the public views call these;
a ticket itself still changes only through tickets/services.py.

Saving an incident bumps the shared page version (tickets/apps.py), so every worker's cached
pages show it within FAQ_PAGE_CACHE_CHECK_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.incident_models import Incident, IncidentStatus, IncidentSubscription
from tickets.models import FINISHED, Message, Status, Ticket, Topic

__all__ = [
    "AnswerAll",
    "IncidentFixedError",
    "incident_answer_tickets",
    "incident_resolve",
    "incident_save",
    "incident_subscribe",
    "incidents_resolve_ended",
]


def _check(incident: Incident) -> None:
    topics = list(dict.fromkeys(str(topic) for topic in incident.topics or ()))
    unknown = [topic for topic in topics if topic not in Topic.values]
    if not topics or unknown:
        raise ValidationError({"topics": [_("Choose at least one affected topic.")]})
    incident.topics = topics
    incident.full_clean(exclude=["reference", "created_by"])


def incident_save(*, incident: Incident, actor: User | None = None) -> Incident:
    """Post or change an incident. Resolving it (the first time, or again after it was
    reopened) e-mails every customer who asked and has not been told yet, once."""
    _check(incident)
    with transaction.atomic():
        before = (
            Incident.objects.select_for_update().filter(pk=incident.pk).first()
            if incident.pk
            else None
        )
        was_resolved = before is not None and before.is_resolved
        if incident.is_resolved and not was_resolved:
            incident.resolved_at = timezone.now()
        elif not incident.is_resolved:
            incident.resolved_at = None
        elif before is not None:
            incident.resolved_at = before.resolved_at  # resolved already: the first time stays
        if incident._state.adding and actor is not None:
            incident.created_by = actor
        incident.save()
        if incident.is_resolved:
            _notify_subscribers(incident)
    return incident


def _notify_subscribers(incident: Incident) -> int:
    """Claim every subscription not yet told, in one UPDATE under the incident's row lock
    (incident_save holds it): a second resolve, or a second worker resolving at the same
    moment, finds nothing left to claim. Each e-mail keeps a key of its own subscription, so
    even a task queued twice sends once (tickets.tasks)."""
    from tickets.tasks import send_incident_email

    waiting = IncidentSubscription.objects.filter(incident=incident, notified_at__isnull=True)
    claimed = list(waiting.values_list("pk", flat=True))
    if not claimed:
        return 0
    IncidentSubscription.objects.filter(pk__in=claimed, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    for pk in claimed:
        transaction.on_commit(partial(send_incident_email.enqueue, pk, key=f"incident-fixed-{pk}"))
    return len(claimed)


class IncidentFixedError(ValidationError):
    """Asking to hear about an incident that is already resolved."""


def incident_subscribe(*, incident: Incident, email: str, language: str) -> IncidentSubscription:
    """ "Tell me when it's fixed". Asking twice is one subscription (the answer is the same,
    so nobody learns whether an address asked before)."""
    address = email.strip()
    with transaction.atomic():
        # Under the incident's lock: a resolve running now either sees this address or has
        # finished, and then the customer is told it is already fixed.
        current = Incident.objects.select_for_update().get(pk=incident.pk)
        if current.is_resolved:
            raise IncidentFixedError(_("This problem is already fixed."))
        existing = IncidentSubscription.objects.filter(
            incident=current, email__iexact=address
        ).first()
        if existing is not None:
            return existing
        subscription = IncidentSubscription(incident=current, email=address, language=language)
        subscription.full_clean()
        subscription.save()
    return subscription


@dataclass
class AnswerAll:
    answered: list[Ticket] = field(default_factory=list)
    skipped: list[Ticket] = field(default_factory=list)  # see _leave_alone
    failed: list[tuple[Ticket, str]] = field(default_factory=list)


def incident_answer_tickets(
    *,
    incident: Incident,
    actor: User,
    body_zh_hans: str,
    body_en: str,
    resolve: bool,
) -> AnswerAll:
    """One reply to every open ticket linked to a resolved incident, each in its customer's
    language (else the text there is), sent as that ticket's normal staff reply
    (services.ticket_reply: history, first response, the customer's e-mail). Each ticket is
    its own transaction: one refused reply does not hold back the others."""
    from tickets.services import ticket_reply

    if not incident.is_resolved:
        raise ValidationError(_("Resolve the incident before answering its tickets."))
    if not (body_zh_hans.strip() or body_en.strip()):
        raise ValidationError(_("Write the reply first."))
    outcome = AnswerAll()
    for listed in incident.tickets.order_by("created_at", "pk"):
        try:
            with transaction.atomic():
                # Judged again under the ticket's lock: the list was read before the first
                # reply went, and meanwhile a colleague (or a second click of "Send") may
                # have resolved or answered a ticket further down.
                ticket = Ticket.objects.select_for_update().get(pk=listed.pk)
                own = body_en if ticket.language.startswith("en") else body_zh_hans
                body = (own or body_zh_hans or body_en).strip()
                skip = _leave_alone(ticket, body)
                if not skip:
                    ticket_reply(
                        ticket=ticket,
                        author=actor,
                        body=body,
                        status_after=Status.RESOLVED if resolve else None,
                    )
        except ValidationError as error:
            outcome.failed.append((listed, " ".join(error.messages)))
        else:
            (outcome.skipped if skip else outcome.answered).append(ticket)
    return outcome


def _leave_alone(ticket: Ticket, body: str) -> bool:
    """Finished, spam, a live chat, or this very reply is already its last one."""
    if ticket.status in FINISHED or ticket.is_spam or ticket.is_live_chat:
        return True
    last = (
        ticket.messages.filter(author_type=Message.Author.STAFF, is_internal=False)
        .order_by("-created_at", "-pk")
        .values_list("body", flat=True)
        .first()
    )
    return last is not None and last.strip() == body


def incident_resolve(*, incident: Incident, actor: User | None = None) -> Incident:
    """Resolve (the admin's action, the end-of-maintenance command): as a save with the status."""
    incident.status = IncidentStatus.RESOLVED
    return incident_save(incident=incident, actor=actor)


def incidents_resolve_ended(*, now: datetime | None = None) -> int:
    """Resolve every incident whose planned end has passed (manage.py resolve_ended_incidents)."""
    now = now or timezone.now()
    ended = Incident.objects.exclude(status=IncidentStatus.RESOLVED).filter(ends_at__lte=now)
    count = 0
    for pk in list(ended.values_list("pk", flat=True)):
        with transaction.atomic():
            # Read again under its lock: a lead may have moved the end later, or resolved it,
            # since the list was read; the stale copy must not overwrite that.
            incident = ended.select_for_update().filter(pk=pk).first()
            if incident is not None:
                incident_resolve(incident=incident)
                count += 1
    return count
