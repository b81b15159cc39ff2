"""E-mails to customers and staff, rendered in the recipient's language."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from tickets.models import Message, Ticket

LINK_SALT = "tickets.link"


def make_ticket_token(ticket: Ticket) -> str:
    return signing.dumps({"r": ticket.reference}, salt=LINK_SALT)


def read_ticket_token(token: str) -> str | None:
    """The reference in a signed link, or None if the link is forged or too old."""
    max_age = settings.TICKETS_LINK_MAX_AGE_DAYS * 24 * 3600
    try:
        reference = signing.loads(token, salt=LINK_SALT, max_age=max_age)["r"]
    except (signing.BadSignature, KeyError, TypeError):
        return None
    return reference if isinstance(reference, str) else None


def ticket_link(ticket: Ticket) -> str:
    """An absolute link that opens the ticket without typing the reference and e-mail."""
    with translation.override(ticket.language):
        path = reverse("tickets:link", args=[make_ticket_token(ticket)])
    return f"{settings.SITE_URL}{path}"


def build_customer_email(
    ticket: Ticket, template: str, message: Message | None = None
) -> EmailMultiAlternatives:
    with translation.override(ticket.language):
        context = {
            "ticket": ticket,
            "message": message,
            "transcript": ticket.messages.public().select_related("author")
            if template == "chat_transcript"
            else (),
            "link": ticket_link(ticket),
            "site_url": settings.SITE_URL,
        }
        subject = render_to_string(f"tickets/email/{template}_subject.txt", context)
        text = render_to_string(f"tickets/email/{template}.txt", context)
        html = render_to_string(f"tickets/email/{template}.html", context)
    email = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=[ticket.email])
    email.attach_alternative(html, "text/html")
    return email


def build_staff_email(ticket: Ticket, template: str) -> EmailMultiAlternatives | None:
    if ticket.assignee is None or not ticket.assignee.email:
        return None
    context = {
        "ticket": ticket,
        "admin_url": settings.SITE_URL + reverse("admin:tickets_ticket_change", args=[ticket.pk]),
    }
    subject = render_to_string(f"tickets/email/{template}_subject.txt", context)
    text = render_to_string(f"tickets/email/{template}.txt", context)
    return EmailMultiAlternatives(
        subject=" ".join(subject.split()), body=text, to=[ticket.assignee.email]
    )


# Which e-mails go to the customer and which to the assigned agent.
CUSTOMER_TEMPLATES = {"confirmation", "staff_replied", "auto_resolved", "chat_transcript"}
STAFF_TEMPLATES = {"customer_replied"}


def build_email(
    ticket: Ticket, template: str, *, message_id: int | None = None
) -> EmailMultiAlternatives | None:
    if template in CUSTOMER_TEMPLATES:
        message = ticket.messages.public().filter(pk=message_id).first() if message_id else None
        if message_id is not None and message is None:
            return None  # the reply was deleted before it could be sent
        return build_customer_email(ticket, template, message)
    if template in STAFF_TEMPLATES:
        return build_staff_email(ticket, template)
    raise ValueError(f"unknown e-mail template {template!r}")
