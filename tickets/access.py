"""Which tickets this browser may see: the ones it proved it belongs to, by reference and
e-mail or by the signed link. Used by the ticket pages and the chat window alike."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from tickets.models import Channel, Ticket

ACCESS_SESSION_KEY = "tickets_access"
MAX_REMEMBERED = 20
# What the customer typed when the chat could not start, carried over to the ticket form.
DRAFT_SESSION_KEY = "tickets_draft"


def grant_access(request: HttpRequest, ticket: Ticket) -> None:
    # A new session key whenever access is granted: a session id planted in the victim's
    # browser beforehand (session fixation) must not be the one that can read the ticket.
    request.session.cycle_key()
    granted = [
        ref for ref in request.session.get(ACCESS_SESSION_KEY, []) if ref != ticket.reference
    ]
    request.session[ACCESS_SESSION_KEY] = [ticket.reference, *granted][:MAX_REMEMBERED]


def ticket_for_customer(request: HttpRequest, reference: str) -> Ticket:
    """The ticket, if this browser proved it belongs to it; otherwise 404 (never 403, which
    would tell a guesser that the reference exists)."""
    if reference not in request.session.get(ACCESS_SESSION_KEY, []):
        raise Http404
    return get_object_or_404(Ticket, reference=reference)


def chat_for_customer(request: HttpRequest, reference: str) -> Ticket:
    ticket = ticket_for_customer(request, reference)
    if ticket.channel != Channel.CHAT:
        raise Http404
    return ticket
