"""Every write that changes a ticket. The public views, the admin and the chat all call these.

Each service is keyword-only and typed, masks what the customer wrote before it is stored,
validates, writes inside one transaction, records the change in the ticket's history, and
queues e-mails only once the transaction has committed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import retention
from tickets.files import delete_file_on_commit, deleted_on_rollback, store_file
from tickets.incident_models import Incident
from tickets.incidents import open_incident_for_topic
from tickets.masking import mask_secrets
from tickets.models import (
    FINISHED,
    MONEY_TOPICS,
    Attachment,
    AttachmentAccess,
    Channel,
    Kind,
    Macro,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    Topic,
    new_reference,
)
from tickets.protection_models import ReportedContact

__all__ = [
    "references_reminder_request",
    "Submission",
    "ticket_submit",
    "emergency_report_create",
    "scam_report_create",
    "TicketClosedError",
    "attachment_access_record",
    "attachments_delete_expired",
    "TicketConflictError",
    "TicketSeen",
    "can_change_status",
    "chat_add_customer_message",
    "chat_end",
    "chat_hand_over",
    "chat_reply",
    "chat_start",
    "chat_take",
    "initial_priority",
    "ticket_add_customer_message",
    "ticket_apply_macro",
    "ticket_assign",
    "ticket_classify",
    "ticket_change_status",
    "ticket_confirm_resolution",
    "ticket_create",
    "ticket_mark_spam",
    "ticket_merge",
    "ticket_rate",
    "ticket_reopen",
    "ticket_reply",
    "ticket_set_priority",
    "ticket_tag",
    "ticket_update",
    "tickets_auto_resolve",
]
from tickets import quotas
from tickets.uploads import CleanUpload

MAX_ATTACHMENTS = 3
_URGENT_WORDS = re.compile(r"fraud|theft|stolen|scam|被盗|盗刷|诈骗|骗子", re.IGNORECASE)

# Which status may follow which. Closed is final for the customer; staff may reopen it.
_ALLOWED_STATUS_CHANGES: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.WAITING, Status.RESOLVED, Status.CLOSED},
    Status.WAITING: {Status.OPEN, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}


def too_many_files_message() -> str:
    return _("Attach at most %(count)d files.") % {"count": MAX_ATTACHMENTS}


def can_change_status(old: str, new: str) -> bool:
    return old == new or new in _ALLOWED_STATUS_CHANGES.get(old, set())


class TicketClosedError(Exception):
    """The customer tried to change a closed ticket."""


def _queue_email(ticket_id: int, template: str, **extra: Any) -> None:
    from tickets.tasks import send_ticket_email

    # One key per e-mail, kept by its retries: the worker never sends it twice.
    key = uuid.uuid4().hex
    transaction.on_commit(lambda: send_ticket_email.enqueue(ticket_id, template, key=key, **extra))


def _actor_label(actor: User | None, default: str) -> str:
    return "staff" if actor is not None else default


def _record(
    ticket: Ticket,
    field: str,
    old: object,
    new: object,
    *,
    actor: User | None = None,
    label: str = "system",
) -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        actor_label=_actor_label(actor, label),
        field=field,
        old_value=str(old or "")[:200],
        new_value=str(new or "")[:200],
    )


def _store_attachments(
    ticket: Ticket, message: Message | None, uploads: Sequence[CleanUpload]
) -> None:
    for upload in uploads:
        attachment = Attachment(
            ticket=ticket,
            message=message,
            original_name=upload.original_name,
            content_type=upload.content_type,
            size=len(upload.content),
        )
        # The stored name is random (attachment_path); the extension is the detected type's.
        store_file(attachment.file, f"upload{upload.extension}", upload.content)
        attachment.save()


def attachment_access_record(*, attachment: Attachment, user: User, inline: bool) -> None:
    """A staff member opened a customer's file (downloaded it, or saw it in the page): the
    ticket's audit of who has seen it. Nothing about the ticket changes."""
    AttachmentAccess.objects.create(
        attachment=attachment, user=user, username=user.get_username(), inline=inline
    )


def _tickets_with_expired_files(cutoff: datetime) -> list[int]:
    """Read without a lock, so possibly stale by the time each ticket is locked."""
    return list(
        Attachment.objects.past_retention(cutoff)
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
        .distinct()
    )


def attachments_delete_expired(*, now: datetime | None = None) -> list[Attachment]:
    """The retention rule (tickets/retention.py): delete the files of tickets finished longer
    ago than TICKETS_ATTACHMENT_RETENTION_DAYS. Each row stays, named, with `deleted_at`, and
    the ticket's history says so; the file goes once its ticket's transaction commits.

    One ticket at a time under its row lock, the rule checked again there: a customer who
    reopens a ticket at this moment keeps its files."""
    now = now or timezone.now()
    cutoff = retention.cutoff(now)
    deleted: list[Attachment] = []
    for ticket_id in _tickets_with_expired_files(cutoff):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
            if ticket is None:
                continue  # deleted meanwhile, with its files
            expired = list(
                Attachment.objects.past_retention(cutoff)
                .filter(ticket=ticket)
                .select_related("ticket")
            )
            for attachment in expired:
                delete_file_on_commit(attachment.file)
                attachment.file.name = ""
                attachment.deleted_at = now
                attachment.save(update_fields=["file", "deleted_at"])
                _record(ticket, "file_deleted", attachment.original_name, "", label="system")
            deleted.extend(expired)
    return deleted


def initial_priority(*, kind: str, topic: str, transaction_reference: str, text: str) -> str:
    """Money that may be lost or stolen goes to the front of the queue."""
    if kind == Kind.COMPLAINT and topic in MONEY_TOPICS and transaction_reference.strip():
        return Priority.HIGH
    if _URGENT_WORDS.search(text):
        return Priority.HIGH
    return Priority.NORMAL


def ticket_create(
    *,
    kind: str,
    topic: str,
    subject: str,
    description: str,
    email: str,
    language: str,
    name: str = "",
    phone: str = "",
    transaction_reference: str = "",
    transaction_amount: Decimal | None = None,
    transaction_date: date | None = None,
    attachments: Sequence[CleanUpload] = (),
    channel: str = Channel.WEB,
    priority: str = "",
    alert_security: bool = False,
    incident: Incident | None = None,
) -> Ticket:
    """`priority` overrides the one the text would get; `alert_security` e-mails the security
    staff at once (the emergency lane); `incident` is the known incident it was filed during.
    A ticket without an e-mail address (a scam report may be anonymous) gets no confirmation."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError(too_many_files_message())
    masked_subject = mask_secrets(subject)
    masked_description = mask_secrets(description)
    ticket = Ticket(
        kind=kind,
        topic=topic,
        channel=channel,
        subject=masked_subject.text,
        description=masked_description.text,
        email=email.strip(),
        name=name.strip(),
        phone=phone.strip(),
        transaction_reference=transaction_reference.strip() if topic in MONEY_TOPICS else "",
        transaction_amount=transaction_amount if topic in MONEY_TOPICS else None,
        transaction_date=transaction_date if topic in MONEY_TOPICS else None,
        language=language,
        incident=incident,
        masked_secrets=sorted(set(masked_subject.found) | set(masked_description.found)),
        priority=priority
        or initial_priority(
            kind=kind,
            topic=topic,
            transaction_reference=transaction_reference,
            text=f"{subject}\n{description}",
        ),
    )
    ticket.full_clean(exclude=["reference"] if ticket.email else ["reference", "email"])

    # Outside the transaction: files written for a ticket that is not saved are deleted.
    with deleted_on_rollback(), transaction.atomic():
        for attempt in range(5):
            try:
                with transaction.atomic():  # a savepoint: a clash of references is retried
                    ticket.save()
                break
            except IntegrityError:
                if attempt == 4:
                    raise
                ticket.pk = None
                ticket.reference = new_reference()
        _store_attachments(ticket, None, attachments)
        _record(ticket, "status", "", ticket.status, label="customer")
        if incident is not None:
            _record(ticket, "incident", "", incident.reference, label="system")
        if channel != Channel.CHAT and ticket.email:
            # A chat's customer is in the chat, not waiting 24 hours: the transcript comes at
            # the end instead.
            _queue_email(ticket.pk, "confirmation")
        if alert_security:
            _queue_email(ticket.pk, "security_alert")
    return ticket


@dataclass(frozen=True)
class Submission:
    ticket: Ticket
    joined: bool  # added to the customer's open ticket about the same transaction


def ticket_submit(
    *, email: str, topic: str, transaction_reference: str, **fields: Any
) -> Submission:
    """The public form: a new ticket, unless this customer already has an open one about the
    same transaction. Then what they wrote joins it as a message (staff see one thread, the
    customer is told), with its subject as the first line."""
    reference = transaction_reference.strip()
    if reference and topic in MONEY_TOPICS:
        earlier = (
            Ticket.objects.active()
            .filter(email__iexact=email.strip(), transaction_reference__iexact=reference)
            .order_by("created_at")
            .first()
        )
        if earlier is not None:
            body = f"{fields['subject']}\n\n{fields['description']}"
            ticket_add_customer_message(
                ticket=earlier, body=body, attachments=fields.get("attachments", ())
            )
            earlier.refresh_from_db()
            return Submission(earlier, joined=True)
    ticket = ticket_create(
        email=email,
        topic=topic,
        transaction_reference=transaction_reference,
        # Filed while a known incident on its topic is open: staff answer those together.
        incident=open_incident_for_topic(topic),
        **fields,
    )
    return Submission(ticket, joined=False)


def scam_report_create(*, reported: str, what_happened: str, email: str, language: str) -> Ticket:
    """A customer reports a contact that is not ours (tickets/channels.py): an urgent ticket in
    the security queue, and one more report on the contact for staff to confirm."""
    from tickets.channels import classify

    kind, normalised = classify(reported)
    shown = mask_secrets(" ".join(reported.split())).text[:150]
    with transaction.atomic():
        ticket = ticket_create(
            kind=Kind.COMPLAINT,
            topic=Topic.SECURITY,
            subject=_("Reported impostor: %(contact)s") % {"contact": shown},
            description=what_happened,
            email=email,
            language=language,
            priority=Priority.URGENT,
        )
        contact, _created = ReportedContact.objects.get_or_create(
            kind=kind, normalised=normalised[:200], defaults={"example": shown}
        )
        ReportedContact.objects.filter(pk=contact.pk).update(report_count=F("report_count") + 1)
    return ticket


def emergency_report_create(
    *, phone: str, email: str, what_happened: str, when: str, language: str
) -> Ticket:
    """ "My account was stolen": urgent, in the security queue, and the security staff are
    e-mailed at once, whatever the hour."""
    # "When: today 14:00" in the customer's language (a full-width colon after Chinese).
    when_line = _("When: %(when)s") % {"when": when}
    description = f"{what_happened}\n\n{when_line}" if when else what_happened
    return ticket_create(
        kind=Kind.COMPLAINT,
        topic=Topic.SECURITY,
        subject=_("Account stolen or hacked"),
        description=description,
        email=email,
        phone=phone,
        language=language,
        priority=Priority.URGENT,
        alert_security=True,
    )


def _change_status(ticket: Ticket, status: str, *, actor: User | None, label: str) -> None:
    if status == ticket.status:
        return
    if status not in _ALLOWED_STATUS_CHANGES[ticket.status]:
        raise ValidationError(
            _("A ticket cannot go from “%(old)s” to “%(new)s”.")
            % {"old": ticket.get_status_display(), "new": Status(status).label}
        )
    _record(ticket, "status", ticket.status, status, actor=actor, label=label)
    ticket.status = status
    ticket.status_changed_at = timezone.now()
    if status == Status.RESOLVED:
        ticket.resolved_at = timezone.now()
    elif status in {Status.OPEN, Status.WAITING, Status.NEW}:
        ticket.resolved_at = None


def _locked(ticket: Ticket) -> Ticket:
    """The ticket re-read under a row lock, so two writers never interleave their changes."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _save(ticket: Ticket) -> None:
    """Every change raises the version, so a page loaded before it knows it is stale. The row
    is locked (_locked), so two writers never give out the same version."""
    ticket.version += 1
    ticket.save()


def ticket_add_customer_message(
    *, ticket: Ticket, body: str, attachments: Sequence[CleanUpload] = ()
) -> Message:
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError(too_many_files_message())
    masked = mask_secrets(body)
    with deleted_on_rollback(), transaction.atomic():
        ticket = _locked(ticket)
        if ticket.is_closed:
            raise TicketClosedError
        # Checked with the row locked: two requests at once cannot both take the last place.
        if ticket.is_live_chat:
            quotas.check_chat_message(ticket)
        else:
            quotas.check_follow_up(ticket, [len(upload.content) for upload in attachments])
        message = Message(ticket=ticket, author_type=Message.Author.CUSTOMER, body=masked.text)
        message.full_clean()
        message.save()
        _store_attachments(ticket, message, attachments)
        if ticket.status in {Status.WAITING, Status.RESOLVED}:
            _change_status(ticket, Status.OPEN, actor=None, label="customer")
        if masked.found:
            ticket.masked_secrets = sorted(set(ticket.masked_secrets) | set(masked.found))
        _save(ticket)
        if ticket.assignee_id and ticket.channel != Channel.CHAT:
            # A chat's agent sees the message live on the console.
            _queue_email(ticket.pk, "customer_replied")
    return message


def ticket_confirm_resolution(*, ticket: Ticket, rating: int, comment: str = "") -> Ticket:
    """The customer agrees the problem is solved, and rates the help."""
    with transaction.atomic():
        ticket = _locked(ticket)
        if not ticket.is_resolved:
            raise ValidationError(_("Only a resolved ticket can be confirmed."))
        ticket.satisfaction = rating
        ticket.satisfaction_comment = mask_secrets(comment).text
        _record(ticket, "satisfaction", "", rating, label="customer")
        _change_status(ticket, Status.CLOSED, actor=None, label="customer")
        ticket.full_clean(exclude=["reference"])
        _save(ticket)
    return ticket


def ticket_reopen(*, ticket: Ticket, reason: str) -> Ticket:
    """The customer says the problem is not solved: the ticket goes back to the queue."""
    with transaction.atomic():
        ticket = _locked(ticket)
        if not ticket.is_resolved:
            raise ValidationError(_("Only a resolved ticket can be reopened."))
        Message.objects.create(
            ticket=ticket, author_type=Message.Author.CUSTOMER, body=mask_secrets(reason).text
        )
        _change_status(ticket, Status.OPEN, actor=None, label="customer")
        _save(ticket)
        if ticket.assignee_id:
            _queue_email(ticket.pk, "customer_replied")
    return ticket


def _check_not_ending_live_chat(ticket: Ticket, status: str) -> None:
    if ticket.is_live_chat and status in FINISHED:
        raise ValidationError(
            _("End a live chat in the chat console, so the customer is told and gets the "
              "transcript.")
        )  # fmt: skip


def ticket_change_status(*, ticket: Ticket, status: str, actor: User | None = None) -> Ticket:
    with transaction.atomic():
        ticket = _locked(ticket)
        was = ticket.status
        _check_not_ending_live_chat(ticket, status)
        _change_status(ticket, status, actor=actor, label="system")
        _save(ticket)
        if actor is not None:
            _queue_resolved_email(ticket, was=was, replied=False)
    return ticket


def can_work_tickets(user: User) -> bool:
    return user.is_active and user.is_staff and user.has_perm("tickets.change_ticket")


def _check_may_assign(ticket: Ticket, assignee: User | None, actor: User) -> None:
    """Who may move a ticket. A lead: anyone's, to anyone. An agent: takes an unassigned
    ticket, and hands one she holds to a colleague (or gives it back); a colleague's ticket is
    theirs. A live chat moves only through the chat services (take, hand over), so the
    customer always knows who is talking."""
    if ticket.is_live_chat:
        raise ValidationError(
            _("A live chat is taken or handed over in the chat console, not here.")
        )
    if assignee is not None and not can_work_tickets(assignee):
        raise ValidationError(
            _("%(agent)s cannot work on tickets.") % {"agent": assignee.get_username()}
        )
    if actor.has_perm("tickets.assign_ticket"):
        return
    if ticket.assignee_id is None:
        if assignee is not None and assignee.pk != actor.pk:
            raise ValidationError(_("Only a lead assigns a ticket to someone else."))
        return
    if ticket.assignee_id != actor.pk:
        holder = ticket.assignee.get_username() if ticket.assignee else "?"
        raise ValidationError(
            _("%(agent)s holds this ticket: only they or a lead can reassign it.")
            % {"agent": holder}
        )


def _assign(ticket: Ticket, assignee: User | None, actor: User) -> None:
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return
    _check_may_assign(ticket, assignee, actor)
    _record(ticket, "assignee", ticket.assignee, assignee, actor=actor)
    ticket.assignee = assignee
    if assignee is not None and ticket.status == Status.NEW:
        _change_status(ticket, Status.OPEN, actor=actor, label="staff")


def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: User) -> Ticket:
    with transaction.atomic():
        ticket = _locked(ticket)
        _assign(ticket, assignee, actor)
        _save(ticket)
    return ticket


def _set_priority(ticket: Ticket, priority: str, actor: User) -> None:
    if priority not in Priority.values:
        raise ValidationError(_("Unknown priority."))
    if ticket.priority != priority:
        _record(ticket, "priority", ticket.priority, priority, actor=actor)
        ticket.priority = priority


def ticket_set_priority(*, ticket: Ticket, priority: str, actor: User) -> Ticket:
    with transaction.atomic():
        ticket = _locked(ticket)
        _set_priority(ticket, priority, actor)
        _save(ticket)
    return ticket


def default_status_after_reply(status: str, *, internal: bool, live_chat: bool) -> str:
    """What a reply does to the status unless the agent chooses: a public reply waits on the
    customer where that is allowed (a live chat stays open); a note, or a reply on a resolved
    or closed ticket (an ended chat too), leaves the status as it is."""
    if internal:
        return status
    wanted = Status.OPEN if live_chat else Status.WAITING
    return wanted if can_change_status(status, wanted) else status


def statuses_after(status: str) -> list[str]:
    """The statuses a ticket can have after a reply: its own, and those allowed from it."""
    return [value for value in Status.values if can_change_status(status, value)]


def _add_staff_message(
    ticket: Ticket, *, author: User, body: str, internal: bool, status_after: str | None
) -> Message:
    body = body.strip()
    if not body:
        raise ValidationError(_("Write the reply first."))
    message = Message(
        ticket=ticket,
        author_type=Message.Author.STAFF,
        author=author,
        body=body,
        is_internal=internal,
    )
    message.full_clean()
    message.save()
    if not internal:
        if ticket.first_response_at is None:
            ticket.first_response_at = message.created_at
            _record(ticket, "first_response_at", "", message.created_at, actor=author)
        if not ticket.is_live_chat:
            # The customer reading a live chat sees it there (its transcript is e-mailed at the
            # end); an ended chat's customer is gone, and gets the reply by e-mail.
            _queue_email(ticket.pk, "staff_replied", message_id=message.pk)
    target = status_after or default_status_after_reply(
        ticket.status, internal=internal, live_chat=ticket.is_live_chat
    )
    _change_status(ticket, target, actor=author, label="staff")
    return message


def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    internal: bool = False,
    status_after: str | None = None,
) -> Message:
    """A staff member answers the customer (e-mailed) or leaves an internal note (never sent).

    A public reply records the first response and, unless told otherwise, waits on the
    customer (default_status_after_reply); a note changes the status only when asked. In a
    chat the reply is not e-mailed and the chat stays open.
    """
    with transaction.atomic():
        ticket = _locked(ticket)
        message = _add_staff_message(
            ticket, author=author, body=body, internal=internal, status_after=status_after
        )
        _save(ticket)
    return message


@dataclass(frozen=True)
class TicketSeen:
    """What the agent's page showed when it was loaded: the save is judged against it."""

    version: int
    status: str
    priority: str
    assignee_id: int | None

    @classmethod
    def of(cls, ticket: Ticket) -> TicketSeen:
        return cls(ticket.version, ticket.status, ticket.priority, ticket.assignee_id)


class TicketConflictError(ValidationError):
    """A colleague changed what this agent is changing, after the agent's page was loaded."""


def _colleague_change(ticket: Ticket, field: str) -> str:
    event = ticket.events.filter(field=field).select_related("actor").order_by("-pk").first()
    if field == "status":
        value = ticket.get_status_display()
    elif field == "priority":
        value = ticket.get_priority_display()
    else:
        value = ticket.assignee.get_username() if ticket.assignee else _("nobody")
    if event is None:
        return _("Someone changed this to “%(value)s” after you opened the ticket.") % {
            "value": value
        }
    who = event.actor.get_username() if event.actor else _("The system")
    when = formats.time_format(timezone.localtime(event.created_at), "H:i")
    return _(
        "%(who)s set this to “%(value)s” at %(when)s, after you opened the ticket. "
        "Your change was not saved; check theirs and save again."
    ) % {"who": who, "value": value, "when": when}


def ticket_update(
    *,
    ticket: Ticket,
    actor: User,
    seen: TicketSeen,
    status: str,
    priority: str,
    assignee: User | None,
    reply: str = "",
    internal: bool = False,
    status_after: str | None = None,
) -> Ticket:
    """One save of the ticket page: triage and a reply or note, all or nothing.

    The values are what the page sends; a field is this agent's change only where it differs
    from what the page showed (`seen`). A field the agent did not touch keeps its current
    value, whatever a colleague set meanwhile; a field both changed is refused, with who
    changed it and when (TicketConflictError, keyed by field). Any refusal rolls the whole
    save back, so the page can come back with everything typed still in it.
    """
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        current = _locked(ticket)
        was = current.status
        wanted = {
            "status": status != seen.status,
            "priority": priority != seen.priority,
            "assignee": (assignee.pk if assignee else None) != seen.assignee_id,
        }
        now_differs = {
            "status": current.status != seen.status,
            "priority": current.priority != seen.priority,
            "assignee": current.assignee_id != seen.assignee_id,
        }
        conflicts = {
            field: [_colleague_change(current, field)]
            for field in wanted
            if wanted[field] and now_differs[field]
        }
        if status_after and now_differs["status"] and "status" not in conflicts:
            conflicts["status_after"] = [_colleague_change(current, "status")]
        if conflicts:
            raise TicketConflictError(conflicts)
        if current.is_live_chat:
            # The chat's own rules: only its agent talks to the customer, and it ends in the
            # console (a system line, the transcript), never by a status on this page.
            if reply.strip() and not internal and current.assignee_id != actor.pk:
                errors["reply"] = [str(_not_in_chat(current).messages[0])]
            for field, value in (("status", status), ("status_after", status_after or "")):
                if value in FINISHED and (field != "status" or wanted["status"]):
                    try:
                        _check_not_ending_live_chat(current, value)
                    except ValidationError as error:
                        errors[field] = error.messages

        steps: list[tuple[str, Callable[[], object]]] = []
        if wanted["assignee"]:
            steps.append(("assignee", lambda: _assign(current, assignee, actor)))
        if wanted["priority"]:
            steps.append(("priority", lambda: _set_priority(current, priority, actor)))
        if wanted["status"]:
            steps.append(
                ("status", lambda: _change_status(current, status, actor=actor, label="staff"))
            )
        if reply.strip():
            steps.append(
                (
                    "reply",
                    lambda: _add_staff_message(
                        current,
                        author=actor,
                        body=reply,
                        internal=internal,
                        # A status the agent chose on the page is not undone by the reply's
                        # automatic "waiting on customer".
                        status_after=status_after or (status if wanted["status"] else None),
                    ),
                )
            )
        elif status_after:
            errors["status_after"] = [_("Write the reply this status should follow.")]
        for field, step in steps:
            try:
                with transaction.atomic():  # a refused step leaves no half-change behind
                    step()
            except ValidationError as error:
                errors.setdefault(field, []).extend(error.messages)
        if errors:
            # Nothing of this save may stay: leave the outer block by an exception.
            raise ValidationError(errors)
        if any(wanted.values()) or reply.strip():
            _save(current)
            _queue_resolved_email(current, was=was, replied=bool(reply.strip()) and not internal)
    return current


def ticket_mark_spam(*, ticket: Ticket, actor: User) -> Ticket:
    with transaction.atomic():
        ticket = _locked(ticket)
        if not ticket.is_spam:
            _record(ticket, "is_spam", False, True, actor=actor)
            ticket.is_spam = True
        _change_status(ticket, Status.CLOSED, actor=actor, label="staff")
        _save(ticket)
    return ticket


def tickets_auto_resolve(*, waited: timedelta, now: datetime | None = None) -> int:
    """Resolve tickets that have waited on the customer for `waited`, telling each customer."""
    cutoff = (now or timezone.now()) - waited
    resolved = 0
    for ticket in Ticket.objects.waiting_since(cutoff).only("pk"):
        with transaction.atomic():
            ticket = _locked(ticket)
            if ticket.status != Status.WAITING or ticket.status_changed_at > cutoff:
                continue  # the customer answered in the meantime
            Message.objects.create(
                ticket=ticket,
                author_type=Message.Author.SYSTEM,
                body=_("Resolved automatically: no reply for %(days)d days.")
                % {"days": waited.days},
            )
            _change_status(ticket, Status.RESOLVED, actor=None, label="system")
            _save(ticket)
            _queue_email(ticket.pk, "auto_resolved")
            resolved += 1
    return resolved


def chat_start(*, name: str, email: str, message: str, language: str) -> Ticket:
    """A customer opens a chat: a ticket of channel "chat" whose first message is the question."""
    first_line = " ".join(message.split())
    subject = first_line if len(first_line) <= 60 else f"{first_line[:59]}…"
    return ticket_create(
        kind=Kind.QUESTION,
        topic=Topic.OTHER,
        subject=subject or _("Online chat"),
        description=message,
        email=email,
        name=name,
        language=language,
        channel=Channel.CHAT,
    )


def agent_name(agent: User) -> str:
    """How an agent is shown to customers: the first name, else the user name."""
    return getattr(agent, "first_name", "") or agent.get_username()


def _tell_customer(ticket: Ticket, text: str, **values: str) -> Message:
    """A system line in the chat, in the customer's language whoever caused it."""
    with translation.override(ticket.language):
        body = _(text) % values
    return Message.objects.create(ticket=ticket, author_type=Message.Author.SYSTEM, body=body)


def _live_chat(ticket: Ticket) -> Ticket:
    ticket = _locked(ticket)
    if not ticket.is_live_chat:
        raise ValidationError(_("This chat has ended."))
    return ticket


def _check_can_chat(agent: User) -> None:
    if not (agent.is_active and agent.is_staff and agent.has_perm("tickets.change_ticket")):
        raise ValidationError(_("%(agent)s cannot answer chats.") % {"agent": agent.get_username()})


def chat_take(*, ticket: Ticket, agent: User) -> Ticket:
    """An agent joins a waiting chat. Two agents taking it at once: the first one wins."""
    _check_can_chat(agent)
    with transaction.atomic():
        ticket = _live_chat(ticket)
        if ticket.assignee_id == agent.pk:
            return ticket
        if ticket.assignee_id is not None:
            raise ValidationError(
                _("%(agent)s has already taken this chat.")
                % {"agent": agent_name(ticket.assignee) if ticket.assignee else "?"}
            )
        _record(ticket, "assignee", "", agent, actor=agent)
        ticket.assignee = agent
        _change_status(ticket, Status.OPEN, actor=agent, label="staff")
        _save(ticket)
        _tell_customer(ticket, gettext_noop("%(agent)s joined the chat."), agent=agent_name(agent))
    return ticket


def chat_hand_over(*, ticket: Ticket, to_agent: User, actor: User) -> Ticket:
    """The agent in a chat hands it to a colleague; the customer is told who took over."""
    _check_can_chat(to_agent)
    with transaction.atomic():
        ticket = _live_chat(ticket)
        _check_in_chat(ticket, actor)
        if ticket.assignee_id == to_agent.pk:
            raise ValidationError(
                _("%(agent)s is already in this chat.") % {"agent": agent_name(to_agent)}
            )
        previous = ticket.assignee
        _record(ticket, "assignee", previous, to_agent, actor=actor)
        ticket.assignee = to_agent
        _change_status(ticket, Status.OPEN, actor=actor, label="staff")
        _save(ticket)
        _tell_customer(
            ticket,
            gettext_noop("%(old)s handed the chat to %(new)s."),
            old=agent_name(previous or actor),
            new=agent_name(to_agent),
        )
    return ticket


def _not_in_chat(ticket: Ticket) -> ValidationError:
    if ticket.assignee is not None:
        return ValidationError(
            _("%(agent)s has this chat now: only the agent in a chat can do this.")
            % {"agent": agent_name(ticket.assignee)}
        )
    return ValidationError(_("Take the chat first: only the agent in a chat can do this."))


def _check_in_chat(ticket: Ticket, agent: User) -> None:
    if ticket.assignee_id != agent.pk and not agent.has_perm("tickets.assign_ticket"):
        raise _not_in_chat(ticket)


def chat_reply(*, ticket: Ticket, agent: User, body: str) -> Message:
    """The agent in a chat answers; the customer sees it at the next poll. Only the agent who
    took the chat answers in it, so the customer always knows who is talking."""
    with transaction.atomic():
        live = _live_chat(ticket)
        if live.assignee_id != agent.pk:
            raise _not_in_chat(live)
        return ticket_reply(ticket=ticket, author=agent, body=body)


def chat_add_customer_message(*, ticket: Ticket, body: str) -> Message:
    """The customer writes in a live chat. Once it has ended, a message would reopen it
    behind the agent's back: the customer follows up on the ticket page instead."""
    with transaction.atomic():
        if not _locked(ticket).is_live_chat:
            raise TicketClosedError
        return ticket_add_customer_message(ticket=ticket, body=body)


def chat_end(*, ticket: Ticket, actor: User | None = None) -> Ticket:
    """End a chat (the customer, or the agent in it): resolved, and the transcript is e-mailed."""
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.channel != Channel.CHAT:
            raise ValidationError(_("Only a chat can be ended."))
        if ticket.is_finished:
            return ticket
        if actor is not None:
            _check_in_chat(ticket, actor)
        _tell_customer(ticket, gettext_noop("The chat has ended."))
        _change_status(ticket, Status.RESOLVED, actor=actor, label="customer")
        _save(ticket)
        _queue_email(ticket.pk, "chat_transcript")
    return ticket


# --- an agent's day: macros, tags, classification, merge, satisfaction -----------------------


def _queue_resolved_email(ticket: Ticket, *, was: str, replied: bool) -> None:
    """The customer hears that the ticket is resolved, with the rating links, once: a public
    reply in the same save carries them itself (its e-mail shows them while the ticket is
    resolved), and a chat's transcript does the same."""
    resolved_now = ticket.status == Status.RESOLVED and was != Status.RESOLVED
    if resolved_now and not replied and ticket.channel != Channel.CHAT:
        _queue_email(ticket.pk, "resolved")


def _add_tags(ticket: Ticket, tags: Sequence[Tag], actor: User) -> None:
    have = set(ticket.tags.values_list("pk", flat=True))
    new = [tag for tag in tags if tag.pk not in have]
    if new:
        ticket.tags.add(*new)
        names = ", ".join(tag.name for tag in new)
        _record(ticket, "tags", "", f"+ {names}", actor=actor)


def _remove_tags(ticket: Ticket, tags: Sequence[Tag], actor: User) -> None:
    have = set(ticket.tags.values_list("pk", flat=True))
    gone = [tag for tag in tags if tag.pk in have]
    if gone:
        ticket.tags.remove(*gone)
        names = ", ".join(tag.name for tag in gone)
        _record(ticket, "tags", f"− {names}", "", actor=actor)


def ticket_tag(
    *, ticket: Ticket, actor: User, add: Sequence[Tag] = (), remove: Sequence[Tag] = ()
) -> Ticket:
    """Put tags on a ticket or take them off; the history names each."""
    with transaction.atomic():
        ticket = _locked(ticket)
        _add_tags(ticket, add, actor)
        _remove_tags(ticket, remove, actor)
        _save(ticket)
    return ticket


def _set_choice_field(ticket: Ticket, field: str, value: str, actor: User) -> None:
    choices = {"kind": Kind, "topic": Topic}[field]
    if value not in choices.values:
        raise ValidationError({field: [_("Choose one of the offered values.")]})
    old = getattr(ticket, field)
    if old != value:
        _record(ticket, field, old, value, actor=actor)
        setattr(ticket, field, value)


def ticket_classify(
    *,
    ticket: Ticket,
    actor: User,
    kind: str,
    topic: str,
    seen_kind: str | None = None,
    seen_topic: str | None = None,
) -> Ticket:
    """Staff correct what the ticket is about: a chat that turns out to be a withdrawal
    complaint becomes one. Judged like ticket_update: a field is this agent's change where it
    differs from what the page showed, and one a colleague changed meanwhile is refused."""
    seen = {"kind": seen_kind or ticket.kind, "topic": seen_topic or ticket.topic}
    wanted = {"kind": kind, "topic": topic}
    with transaction.atomic():
        current = _locked(ticket)
        changes = {field: value for field, value in wanted.items() if value != seen[field]}
        conflicts = {
            field: [
                _("A colleague set this to “%(value)s” after you opened the ticket. Your "
                  "change was not saved; check theirs and save again.")
                % {"value": getattr(current, f"get_{field}_display")()}
            ]
            for field in changes
            if getattr(current, field) != seen[field]
        }  # fmt: skip
        if conflicts:
            raise TicketConflictError(conflicts)
        for field, value in changes.items():
            _set_choice_field(current, field, value, actor)
        if changes:
            _save(current)
    return current


def ticket_apply_macro(
    *, ticket: Ticket, macro: Macro, actor: User, apply_status: bool = True
) -> Ticket:
    """What a macro does besides writing (its text goes out as the reply, through
    ticket_update): set the priority and topic, add its tags, and set its status unless the
    reply already did (apply_status=False)."""
    if macro.owner_id is not None and macro.owner_id != actor.pk:
        raise ValidationError(_("This macro belongs to a colleague."))
    with transaction.atomic():
        current = _locked(ticket)
        was = current.status
        if macro.set_priority:
            _set_priority(current, macro.set_priority, actor)
        if macro.set_topic:
            _set_choice_field(current, "topic", macro.set_topic, actor)
        _add_tags(current, list(macro.add_tags.all()), actor)
        if apply_status and macro.set_status:
            _check_not_ending_live_chat(current, macro.set_status)
            _change_status(current, macro.set_status, actor=actor, label="staff")
        _record(current, "macro", "", macro.title, actor=actor)
        _save(current)
        _queue_resolved_email(current, was=was, replied=False)
    return current


def ticket_merge(*, duplicate: Ticket, into: Ticket, actor: User) -> Ticket:
    """Fold a duplicate into another ticket: its words, messages and attachments move; its
    reference and signed links lead to the ticket it joined (tickets/access.py); it is closed,
    its customer is told, and both histories say so."""
    if duplicate.pk == into.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    with transaction.atomic():
        # Locked in a fixed order, so two merges of the same pair never wait on each other.
        first, second = sorted([duplicate.pk, into.pk])
        locked = {
            t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[first, second])
        }
        duplicate, into = locked[duplicate.pk], locked[into.pk]
        if duplicate.merged_into_id is not None:
            raise ValidationError(_("This ticket has already been merged."))
        if into.merged_into_id is not None:
            raise ValidationError(
                _("%(reference)s was itself merged into another ticket: merge into that one.")
                % {"reference": into.reference}
            )
        if duplicate.is_live_chat or into.is_live_chat:
            raise ValidationError(_("End the live chat before merging it."))
        # No address (an emergency report may have none) is nobody's, not the same customer's.
        if not duplicate.email or duplicate.email.casefold() != into.email.casefold():
            # The duplicate's reference and links open the merged ticket: across customers
            # that would show one customer's conversation to another.
            raise ValidationError(
                _("Only tickets of the same customer (the same e-mail address) can be merged.")
            )
        opening = Message.objects.create(
            ticket=into,
            author_type=Message.Author.CUSTOMER,
            body=f"{duplicate.subject}\n\n{duplicate.description}",
        )
        # Where it belongs in the conversation: when the customer wrote it.
        Message.objects.filter(pk=opening.pk).update(created_at=duplicate.created_at)
        Attachment.objects.filter(ticket=duplicate, message__isnull=True).update(
            ticket=into, message=opening
        )
        Message.objects.filter(ticket=duplicate).exclude(pk=opening.pk).update(ticket=into)
        Attachment.objects.filter(ticket=duplicate).update(ticket=into)
        into.tags.add(*duplicate.tags.all())
        with translation.override(into.language):
            note = _("%(reference)s was merged into this ticket.") % {
                "reference": duplicate.reference
            }
        Message.objects.create(ticket=into, author_type=Message.Author.SYSTEM, body=note)
        _record(into, "merged_from", "", duplicate.reference, actor=actor)
        _record(duplicate, "merged_into", "", into.reference, actor=actor)
        duplicate.merged_into = into
        _change_status(duplicate, Status.CLOSED, actor=actor, label="staff")
        if into.status == Status.CLOSED or into.status == Status.RESOLVED:
            # The duplicate's words are new to whoever works the ticket it joined.
            _change_status(into, Status.OPEN, actor=actor, label="staff")
        _save(duplicate)
        _save(into)
        _queue_email(duplicate.pk, "merged")
    return into


def ticket_rate(*, ticket: Ticket, rating: int, comment: str | None = None) -> Ticket:
    """The customer rates the help from the link in the resolving e-mail (no login: the
    signed link is the proof). The first click counts; the page after it lets the customer
    change the rating and add a comment."""
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": [_("Choose a rating from 1 to 5.")]})
    with transaction.atomic():
        ticket = _locked(ticket)
        if not ticket.is_finished:
            raise ValidationError(_("This ticket is open again: rate it once it is resolved."))
        changed = False
        if ticket.satisfaction != rating:
            _record(ticket, "satisfaction", ticket.satisfaction, rating, label="customer")
            ticket.satisfaction = rating
            changed = True
        if comment is not None:
            text = mask_secrets(comment.strip()).text
            if text != ticket.satisfaction_comment:
                ticket.satisfaction_comment = text
                changed = True
        if changed:
            ticket.full_clean(exclude=["reference", "tags"])
            _save(ticket)
    return ticket


# The complaint register (tickets/register.py): each breach raises a complaint's priority one
# step, once; the "register" event in its history says which breach did, so cron may run
# escalate_overdue_complaints as often as it likes.
_REGISTER_LABEL = "register"
_NEXT_PRIORITY = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
    Priority.URGENT: Priority.URGENT,
}


def complaints_escalate_overdue(*, now: datetime | None = None) -> int:
    """Raise the priority of complaints past a register deadline; returns how many breaches
    were escalated."""
    breaches = [
        ("acknowledgement overdue", Ticket.objects.complaint_ack_overdue(now)),
        ("final response overdue", Ticket.objects.complaint_final_overdue(now)),
    ]
    escalated = 0
    for breach, overdue in breaches:
        already = TicketEvent.objects.filter(field=_REGISTER_LABEL, new_value=breach)
        for ticket in overdue.exclude(pk__in=already.values("ticket")).only("pk"):
            with transaction.atomic():
                ticket = _locked(ticket)
                if already.filter(ticket=ticket).exists():
                    continue  # another run escalated it meanwhile
                raised = _NEXT_PRIORITY[Priority(ticket.priority)]
                _record(ticket, _REGISTER_LABEL, "", breach, label=_REGISTER_LABEL)
                if raised != ticket.priority:
                    _record(ticket, "priority", ticket.priority, raised, label=_REGISTER_LABEL)
                    ticket.priority = raised
                _save(ticket)
                escalated += 1
    return escalated


def references_reminder_request(*, email: str, language: str) -> None:
    """Queue the e-mail of an address's references, if it has tickets. The caller answers
    the same either way: nobody learns from it whether an address wrote to us."""
    from tickets.tasks import send_references_email

    address = email.strip()
    if Ticket.objects.not_spam().filter(email__iexact=address).exists():
        key = uuid.uuid4().hex
        transaction.on_commit(lambda: send_references_email.enqueue(address, language, key))
