"""E-mails to customers and staff, rendered in the recipient's language."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from tickets.incident_models import IncidentSubscription
from tickets.macros import starts_with_greeting
from tickets.models import Message, Ticket

LINK_SALT = "tickets.link"
# Its own salt: a rating link opens no ticket, and a ticket link rates nothing.
RATING_SALT = "tickets.rating"
RATINGS = (1, 2, 3, 4, 5)


def make_ticket_token(ticket: Ticket) -> str:
    return signing.dumps({"r": ticket.reference}, salt=LINK_SALT)


def _read_reference(token: str, salt: str) -> str | None:
    max_age = settings.TICKETS_LINK_MAX_AGE_DAYS * 24 * 3600
    try:
        reference = signing.loads(token, salt=salt, max_age=max_age)["r"]
    except (signing.BadSignature, KeyError, TypeError):
        return None
    return reference if isinstance(reference, str) else None


def read_ticket_token(token: str) -> str | None:
    """The reference in a signed link, or None if the link is forged or too old."""
    return _read_reference(token, LINK_SALT)


def make_rating_token(ticket: Ticket) -> str:
    return signing.dumps({"r": ticket.reference}, salt=RATING_SALT)


def read_rating_token(token: str) -> str | None:
    """The reference in a rating link, or None if it is forged or too old."""
    return _read_reference(token, RATING_SALT)


def rating_links(ticket: Ticket) -> list[tuple[int, str]]:
    """One absolute link per score, 1 to 5: one click rates, no login."""
    token = make_rating_token(ticket)
    with translation.override(ticket.language):
        return [
            (score, settings.SITE_URL + reverse("tickets:rate", args=[token, score]))
            for score in RATINGS
        ]


def ticket_link(ticket: Ticket) -> str:
    """An absolute link that opens the ticket without typing the reference and e-mail."""
    with translation.override(ticket.language):
        path = reverse("tickets:link", args=[make_ticket_token(ticket)])
    return f"{settings.SITE_URL}{path}"


def build_customer_email(
    ticket: Ticket, template: str, message: Message | None = None, key: str = ""
) -> EmailMultiAlternatives:
    """`key` names the e-mail across its retries: it keeps one authenticity code."""
    from tickets.channels import email_code_for

    code = email_code_for(
        key=key or uuid.uuid4().hex,
        reference=ticket.reference,
        address=ticket.email,
        template=template,
    )
    with translation.override(ticket.language):
        context = {
            "ticket": ticket,
            "message": message,
            "transcript": ticket.messages.public().select_related("author")
            if template == "chat_transcript"
            else (),
            "link": ticket_link(ticket),
            "site_url": settings.SITE_URL,
            # Every e-mail says how to check that it is ours (tickets/channels.py).
            "verify_url": settings.SITE_URL + reverse("protection:verify"),
            "authenticity_code": code,
            # A reply that greets the customer itself gets no second greeting from us.
            "greet": not (message is not None and starts_with_greeting(message.body)),
            # Asked while the ticket is resolved (a reply that resolves it included).
            "ratings": rating_links(ticket) if ticket.is_resolved else [],
            "merged_into": ticket.merged_into if template == "merged" else None,
        }
        subject = render_to_string(f"tickets/email/{template}_subject.txt", context)
        text = render_to_string(f"tickets/email/{template}.txt", context)
        html = render_to_string(f"tickets/email/{template}.html", context)
    email = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=[ticket.email])
    email.attach_alternative(html, "text/html")
    return email


def security_alert_recipients() -> list[str]:
    """SECURITY_ALERT_EMAILS, else every active lead with an address."""
    if settings.SECURITY_ALERT_EMAILS:
        return list(settings.SECURITY_ALERT_EMAILS)
    from tickets.roles import ROLE_BY_NAME

    leads = User.objects.filter(is_active=True, groups__name=ROLE_BY_NAME["lead"]).exclude(email="")
    return sorted(set(leads.values_list("email", flat=True)))


def build_staff_email(ticket: Ticket, template: str) -> EmailMultiAlternatives | None:
    if template == "security_alert":
        recipients = security_alert_recipients()
    elif ticket.assignee is not None and ticket.assignee.email:
        recipients = [ticket.assignee.email]
    else:
        recipients = []
    if not recipients:
        return None
    context = {
        "ticket": ticket,
        "admin_url": settings.SITE_URL + reverse("admin:tickets_ticket_change", args=[ticket.pk]),
    }
    subject = render_to_string(f"tickets/email/{template}_subject.txt", context)
    text = render_to_string(f"tickets/email/{template}.txt", context)
    return EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=recipients)


# Which e-mails go to the customer and which to the assigned agent.
CUSTOMER_TEMPLATES = {
    "confirmation", "staff_replied", "auto_resolved", "chat_transcript", "resolved", "merged",
}  # fmt: skip
STAFF_TEMPLATES = {"customer_replied", "security_alert"}


def build_email(
    ticket: Ticket, template: str, *, message_id: int | None = None, key: str = ""
) -> EmailMultiAlternatives | None:
    if template in CUSTOMER_TEMPLATES:
        message = ticket.messages.public().filter(pk=message_id).first() if message_id else None
        if message_id is not None and message is None:
            return None  # the reply was deleted before it could be sent
        return build_customer_email(ticket, template, message, key)
    if template in STAFF_TEMPLATES:
        return build_staff_email(ticket, template)
    raise ValueError(f"unknown e-mail template {template!r}")


REMINDER_LIMIT = 20  # the newest tickets of an address, with their links


def build_references_email(
    address: str, language: str, *, key: str
) -> EmailMultiAlternatives | None:
    from tickets.channels import email_code_for

    tickets = list(
        Ticket.objects.not_spam()
        .filter(email__iexact=address)
        .order_by("-created_at")[:REMINDER_LIMIT]
    )
    if not tickets:
        return None
    code = email_code_for(
        key=key, reference=tickets[0].reference, address=address, template="references"
    )
    with translation.override(language):
        context = {
            "tickets": [(ticket, ticket_link(ticket)) for ticket in tickets],
            "verify_url": settings.SITE_URL + reverse("protection:verify"),
            "authenticity_code": code,
            "language": language,
        }
        subject = render_to_string("tickets/email/references_subject.txt", context)
        text = render_to_string("tickets/email/references.txt", context)
        html = render_to_string("tickets/email/references.html", context)
    email = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=[address])
    email.attach_alternative(html, "text/html")
    return email


def build_incident_fixed_email(
    subscription: IncidentSubscription, *, key: str
) -> EmailMultiAlternatives:
    """ "It's fixed", to a customer who asked on the banner (tickets/incident_services.py)."""
    from tickets.channels import email_code_for

    incident = subscription.incident
    code = email_code_for(
        key=key,
        reference=incident.reference,
        address=subscription.email,
        template="incident_fixed",
    )
    with translation.override(subscription.language):
        english = subscription.language.startswith("en")
        context = {
            "incident": incident,
            "title": (incident.title_en if english else incident.title_zh_hans)
            or incident.title_zh_hans
            or incident.title_en,
            "status_url": settings.SITE_URL + reverse("incidents:status"),
            "ticket_url": settings.SITE_URL + reverse("tickets:new"),
            "verify_url": settings.SITE_URL + reverse("protection:verify"),
            "authenticity_code": code,
            "language": subscription.language,
        }
        subject = render_to_string("tickets/email/incident_fixed_subject.txt", context)
        text = render_to_string("tickets/email/incident_fixed.txt", context)
        html = render_to_string("tickets/email/incident_fixed.html", context)
    email = EmailMultiAlternatives(
        subject=" ".join(subject.split()), body=text, to=[subscription.email]
    )
    email.attach_alternative(html, "text/html")
    return email
