"""Which tickets this browser may see: the ones it proved it belongs to, by reference and
e-mail or by the signed link. Used by the ticket pages and the chat window alike."""

from __future__ import annotations

import re
import unicodedata

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from tickets.models import Channel, Ticket

ACCESS_SESSION_KEY = "tickets_access"
MAX_REMEMBERED = 20
# What the customer typed when the chat could not start, carried over to the ticket form.
DRAFT_SESSION_KEY = "tickets_draft"


_NOT_REFERENCE = re.compile(r"[\s\-‐‑‒–—―_.·]")


def normalize_reference(raw: str) -> str:
    """A reference as customers type it, written the way it is stored: "okghc2tgd3",
    "ok ghc2 tgd3" and full-width "ＯＫ－ＧＨＣ２－ＴＧＤ３" are all "OK-GHC2-TGD3". Anything
    else comes back upper-cased, to be not found like any wrong reference."""
    compact = _NOT_REFERENCE.sub("", unicodedata.normalize("NFKC", raw)).upper()
    if len(compact) == 10 and compact.startswith("OK"):
        return f"OK-{compact[2:6]}-{compact[6:]}"
    return compact


def merged_target(ticket: Ticket) -> Ticket:
    """The ticket a duplicate was merged into (services.ticket_merge), else the ticket itself:
    the duplicate's reference and links keep working, and lead there."""
    seen = {ticket.pk}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        seen.add(ticket.merged_into_id)
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def _remember(request: HttpRequest, ticket: Ticket) -> None:
    granted = [
        ref for ref in request.session.get(ACCESS_SESSION_KEY, []) if ref != ticket.reference
    ]
    request.session[ACCESS_SESSION_KEY] = [ticket.reference, *granted][:MAX_REMEMBERED]


def grant_access(request: HttpRequest, ticket: Ticket) -> None:
    # A new session key whenever access is granted: a session id planted in the victim's
    # browser beforehand (session fixation) must not be the one that can read the ticket.
    request.session.cycle_key()
    _remember(request, ticket)
    if ticket.merged_into_id is not None:
        _remember(request, merged_target(ticket))


def ticket_for_customer(request: HttpRequest, reference: str) -> Ticket:
    """The ticket, if this browser proved it belongs to it; otherwise 404 (never 403, which
    would tell a guesser that the reference exists)."""
    if reference not in request.session.get(ACCESS_SESSION_KEY, []):
        raise Http404
    ticket = get_object_or_404(Ticket, reference=reference)
    if ticket.merged_into_id is not None:
        # Proof for the duplicate is proof for the ticket it joined: the same conversation.
        ticket = merged_target(ticket)
        if ticket.reference not in request.session.get(ACCESS_SESSION_KEY, []):
            _remember(request, ticket)
    return ticket


def chat_for_customer(request: HttpRequest, reference: str) -> Ticket:
    ticket = ticket_for_customer(request, reference)
    if ticket.channel != Channel.CHAT:
        raise Http404
    return ticket
