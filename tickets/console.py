"""The agents' chat console, a page of the admin: waiting chats, take one, answer, hand it over,
end it, with every chat of the agent open at once.

The page polls `updates/` every 2 seconds. What the page already shows travels with each request
as `shown` ("chat id:last message id,..."), so an answer carries only what is new: lines for the
open chats, panels for chats just taken or handed over, and the removal of chats that ended.
Every change goes through tickets/services.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from tickets.forms import ChatHandOverForm, ChatMessageForm
from tickets.models import Channel, Message, Ticket
from tickets.presence import mark_agent_online, online_agent_ids
from tickets.roles import chat_agents
from tickets.services import agent_name, chat_end, chat_hand_over, chat_reply, chat_take
from wallet_support.htmx import HtmxHttpRequest, staff_user

MAX_SHOWN = 50
TEMPLATE = "admin/tickets/chat_console.html"


_SHOWN_ITEM = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")


def parse_shown(raw: str) -> dict[int, int]:
    """ "12:340,15:377" → {12: 340, 15: 377}; anything malformed is left out."""
    shown: dict[int, int] = {}
    for item in raw.split(",")[:MAX_SHOWN]:
        if match := _SHOWN_ITEM.fullmatch(item.strip()):
            shown[int(match[1])] = int(match[2])
    return shown


@dataclass
class ChatPanel:
    """One of the agent's chats on the console: the lines the page lacks, and whether the page
    has a panel for it yet (a new panel shows the whole chat)."""

    chat: Ticket
    lines: list[Message]
    is_new: bool


@dataclass
class ConsoleState:
    """What one answer of the console holds, computed in a fixed number of queries."""

    waiting: list[Ticket]
    mine: list[ChatPanel]
    ended_ids: list[int]
    # Of those: the chats a colleague has now (id → their name), so the panel can say so.
    moved_to: dict[int, str] = field(default_factory=dict)

    @property
    def left(self) -> list[tuple[int, str]]:
        """Each chat the page shows that is no longer this agent's, with who has it now."""
        return [(chat_id, self.moved_to.get(chat_id, "")) for chat_id in self.ended_ids]

    shown: dict[int, int] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return ",".join(f"{chat_id}:{last_id}" for chat_id, last_id in self.shown.items())

    @property
    def has_new_panels(self) -> bool:
        return any(panel.is_new for panel in self.mine)


def console_state(agent: User, shown: dict[int, int]) -> ConsoleState:
    live = Ticket.objects.live_chats().order_by("created_at")
    waiting = list(live.filter(assignee__isnull=True)[:MAX_SHOWN])
    mine = list(live.filter(assignee=agent)[:MAX_SHOWN])
    # A new panel shows the whole chat; a shown one gets the lines after its last.
    conditions = [
        Q(ticket_id=chat.pk, pk__gt=shown[chat.pk]) if chat.pk in shown else Q(ticket_id=chat.pk)
        for chat in mine
    ]
    new_lines: dict[int, list[Message]] = defaultdict(list)
    if conditions:
        for message in (
            Message.objects.filter(reduce(or_, conditions))
            .select_related("author", "ticket")
            .order_by("pk")
        ):
            new_lines[message.ticket_id].append(message)
    panels = [
        ChatPanel(chat=chat, lines=new_lines[chat.pk], is_new=chat.pk not in shown) for chat in mine
    ]
    mine_ids = {chat.pk for chat in mine}
    gone = [chat_id for chat_id in shown if chat_id not in mine_ids]
    moved_to = (
        {
            chat.pk: agent_name(chat.assignee)
            for chat in Ticket.objects.filter(pk__in=gone).select_related("assignee")
            if chat.is_live_chat and chat.assignee is not None
        }
        if gone
        else {}
    )
    return ConsoleState(
        waiting=waiting,
        mine=panels,
        ended_ids=gone,
        moved_to=moved_to,
        shown={
            panel.chat.pk: max([shown.get(panel.chat.pk, 0), *(line.pk for line in panel.lines)])
            for panel in panels
        },
    )


def _check_permission(request: HtmxHttpRequest) -> None:
    if not request.user.has_perm("tickets.change_ticket"):
        raise PermissionDenied


def _hand_over_choices(agent: User) -> list[tuple[int, str]]:
    colleagues = [user for user in chat_agents() if user.pk != agent.pk]
    online = online_agent_ids(user.pk for user in colleagues)
    return [
        (user.pk, f"{agent_name(user)}{' ●' if user.pk in online else ''}")
        for user in sorted(colleagues, key=lambda user: user.pk not in online)
    ]


def _render(
    request: HtmxHttpRequest,
    template: str,
    shown: dict[int, int],
    **extra: object,
) -> TemplateResponse:
    mark_agent_online(staff_user(request), request.session)
    state = console_state(staff_user(request), shown)
    context = {
        "console": state,
        "hand_over_choices": _hand_over_choices(staff_user(request))
        if state.has_new_panels
        else [],
        **extra,
    }
    return TemplateResponse(request, template, context)


@require_safe
def console_page(request: HtmxHttpRequest, admin_context: dict[str, Any]) -> TemplateResponse:
    _check_permission(request)
    return _render(request, TEMPLATE, {}, **admin_context)


@require_safe
def console_updates(request: HtmxHttpRequest) -> TemplateResponse:
    _check_permission(request)
    return _render(request, f"{TEMPLATE}#updates", parse_shown(request.GET.get("shown", "")))


def _after_action(
    request: HtmxHttpRequest, error: ValidationError | None = None, **extra: object
) -> HttpResponse:
    """htmx: what is new, with the error next to the chat; without JavaScript: back to the page."""
    if not request.htmx:
        if error is not None:
            messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(reverse("admin:tickets_ticket_chat_console"))
    shown = parse_shown(request.POST.get("shown", ""))
    return _render(request, f"{TEMPLATE}#updates", shown, is_action=True, error=error, **extra)


def _chat(pk: int) -> Ticket:
    return get_object_or_404(Ticket, pk=pk, channel=Channel.CHAT)


def _chat_action(
    request: HtmxHttpRequest, pk: int, change: Callable[[Ticket], object]
) -> HttpResponse:
    """Take, hand over or end: the service decides; a refusal is shown next to the chat."""
    _check_permission(request)
    chat = _chat(pk)
    try:
        change(chat)
    except ValidationError as error:
        return _after_action(request, error, error_chat_id=chat.pk)
    return _after_action(request)


@require_POST
def console_take(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _chat_action(request, pk, lambda chat: chat_take(ticket=chat, agent=staff_user(request)))


@require_POST
def console_send(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    _check_permission(request)
    chat = _chat(pk)
    form = ChatMessageForm(request.POST)
    if form.is_valid():
        try:
            chat_reply(ticket=chat, agent=staff_user(request), body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error("body", error)
    if form.errors and not request.htmx:
        return _after_action(request, ValidationError(list(form.errors["body"])))
    return _after_action(
        request, reply_chat=chat, reply_form=form if form.errors else ChatMessageForm()
    )


@require_POST
def console_hand_over(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    form = ChatHandOverForm(request.POST)

    def hand_over(chat: Ticket) -> None:
        if not form.is_valid():
            raise ValidationError(list(form.errors["agent"]))
        chat_hand_over(ticket=chat, to_agent=form.cleaned_data["agent"], actor=staff_user(request))

    return _chat_action(request, pk, hand_over)


@require_POST
def console_end(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _chat_action(request, pk, lambda chat: chat_end(ticket=chat, actor=staff_user(request)))
