"""The customer's side of the online chat. A chat is a ticket of channel "chat"."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from faq.models import current_language
from faq.pagecache import cached_page, chat_state, combined, incidents_state
from tickets.access import DRAFT_SESSION_KEY, chat_for_customer, grant_access
from tickets.availability import ChatAvailability, chat_status
from tickets.forms import ChatMessageForm, ChatStartForm
from tickets.models import Kind, Message, Ticket
from tickets.quotas import QuotaExceeded
from tickets.ratelimit import CHAT_PER_EMAIL, CHAT_PER_IP, take_all
from tickets.services import TicketClosedError, chat_add_customer_message, chat_end, chat_start
from wallet_support.clients import client_ip
from wallet_support.htmx import HtmxHttpRequest, wants_partial


@require_http_methods(["GET", "HEAD", "POST"])
@cached_page(variant=combined(chat_state, incidents_state))
def chat_start_view(request: HtmxHttpRequest) -> HttpResponse:
    form = ChatStartForm(request.POST or None)
    status = chat_status()
    availability = status.availability
    refused = False
    if request.method == "POST" and form.is_valid():
        if availability != ChatAvailability.OPEN or request.POST.get("use") == "ticket-form":
            # A question, not a complaint: that is what the customer came to the chat with.
            request.session[DRAFT_SESSION_KEY] = {
                "kind": Kind.QUESTION.value,
                "name": form.cleaned_data["name"],
                "email": form.cleaned_data["email"],
                "description": form.cleaned_data["message"],
                "reason": "chose" if availability == ChatAvailability.OPEN else availability.value,
            }
            return redirect("tickets:new")
        # Counted only when a chat really starts; what the customer typed stays in the form.
        # Per address too: one visitor must not start chats (and their e-mails) for a victim's
        # address from many IPs.
        hits = ((CHAT_PER_IP, client_ip(request)), (CHAT_PER_EMAIL, form.cleaned_data["email"]))
        if take_all(*hits):
            data = form.cleaned_data
            ticket = chat_start(
                name=data["name"],
                email=data["email"],
                message=data["message"],
                language=current_language(),
            )
            grant_access(request, ticket)
            return redirect("tickets:chat-window", reference=ticket.reference)
        refused = True
    return TemplateResponse(
        request,
        "tickets/chat_start.html",
        {"form": form, "availability": availability, "chat": status, "refused": refused},
        status=429 if refused else 200,
    )


@require_safe
def chat_status_view(request: HtmxHttpRequest) -> HttpResponse:
    """The online chat line of "still need help?" for pages served from a cache, which must
    not hold a state that changes by the minute (templates/includes/still_need_help.html)."""
    response = TemplateResponse(request, "includes/chat_status.html")
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _after(raw: str | None) -> int:
    """The id of the last message the window already shows."""
    try:
        return max(int(raw or "0"), 0)
    except ValueError:
        return 0


def _window_context(ticket: Ticket, after: int = 0, **extra: object) -> dict[str, object]:
    new_messages = list(ticket.messages.public().filter(pk__gt=after).select_related("author"))
    last_id = new_messages[-1].pk if new_messages else after
    return {
        "ticket": ticket,
        "new_messages": new_messages,
        "last_id": last_id,
        "is_live": not ticket.is_finished,
        "form": ChatMessageForm(),
        **extra,
    }


@require_safe
def chat_window(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    ticket = chat_for_customer(request, reference)
    return TemplateResponse(request, "tickets/chat_window.html", _window_context(ticket))


@require_safe
@vary_on_headers("HX-Request")
def chat_messages(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """What is new since message `after`: polled by htmx every 2 seconds."""
    ticket = chat_for_customer(request, reference)
    context = _window_context(ticket, _after(request.GET.get("after")))
    return TemplateResponse(request, "tickets/chat_window.html#update", context)


@require_POST
def chat_send(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    ticket = chat_for_customer(request, reference)
    form = ChatMessageForm(request.POST)
    if form.is_valid():
        try:
            chat_add_customer_message(ticket=ticket, body=form.cleaned_data["body"])
        except TicketClosedError:
            form.add_error("body", _("This chat has ended. Please send a message instead."))
        except QuotaExceeded as error:
            form.add_error("body", error)
    if not wants_partial(request):
        if not form.errors:
            return HttpResponseRedirect(reverse("tickets:chat-window", args=[ticket.reference]))
        # Without JavaScript a refused message shows the window again, with its error and the
        # text still in the box (a redirect would lose both).
        ticket.refresh_from_db()
        return TemplateResponse(
            request, "tickets/chat_window.html", _window_context(ticket, form=form)
        )
    ticket.refresh_from_db()
    context = _window_context(
        ticket, _after(request.POST.get("after")), form=form if form.errors else ChatMessageForm()
    )
    return TemplateResponse(request, "tickets/chat_window.html#send-result", context)


@require_POST
def chat_to_form(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Nobody took the chat in time: end it and carry what the customer wrote to the form."""
    ticket = chat_for_customer(request, reference)
    if not ticket.waited_too_long:  # an agent joined meanwhile (or it ended): stay in the chat
        return redirect("tickets:chat-window", reference=ticket.reference)
    written = [
        ticket.description,
        *ticket.messages.filter(author_type=Message.Author.CUSTOMER).values_list("body", flat=True),
    ]
    request.session[DRAFT_SESSION_KEY] = {
        "kind": Kind.QUESTION.value,
        "name": ticket.name,
        "email": ticket.email,
        "description": "\n\n".join(written),
        "reason": "waited",
    }
    chat_end(ticket=ticket)
    return redirect("tickets:new")


@require_POST
def chat_end_view(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    ticket = chat_for_customer(request, reference)
    chat_end(ticket=ticket)
    return HttpResponseRedirect(reverse("tickets:chat-window", args=[ticket.reference]))
