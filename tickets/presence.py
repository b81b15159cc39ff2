"""Which agents are at the chat console, and who has which ticket open, in the shared cache.

The console refreshes an agent's mark while it is open; the mark expires a minute after the
console is closed. Every worker sees the same marks, so a customer is only offered a live chat
when someone can answer it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache

from wallet_support.cache import cache_or

# Browsers poll a background tab about once a minute; a little longer keeps its agent online.
ONLINE_FOR_SECONDS = 150
# The console polls every 2 seconds; the agent's session remembers when the mark was last
# written, so the shared cache (the database, unless REDIS_URL is set) is written far less.
REFRESH_AFTER_SECONDS = 20
_SESSION_KEY = "chat_presence_written_at"
_ANY_AGENT_KEY = "chat:agent-online"


def _agent_key(user_id: int) -> str:
    return f"chat:agent-online:{user_id}"


def mark_agent_online(user: User, session: SessionBase | None = None) -> None:
    now = time.time()
    if session is not None and now - session.get(_SESSION_KEY, 0) < REFRESH_AFTER_SECONDS:
        return
    marks = {_agent_key(user.pk): True, _ANY_AGENT_KEY: True}
    cache_or(None, lambda: cache.set_many(marks, ONLINE_FOR_SECONDS), what="agent online")
    if session is not None:
        session[_SESSION_KEY] = now


def any_agent_online() -> bool:
    # Unknown in an outage: say nobody, so customers are offered the form rather than a chat
    # nobody may see.
    return bool(cache_or(None, lambda: cache.get(_ANY_AGENT_KEY), what="any agent online"))


def online_agent_ids(user_ids: Iterable[int]) -> set[int]:
    keys = {_agent_key(user_id): user_id for user_id in user_ids}
    found: dict[str, Any] = cache_or({}, lambda: cache.get_many(list(keys)), what="agents online")
    return {keys[key] for key in found}


# --- who has a ticket open in the admin ---------------------------------------------------
# The ticket page polls every VIEWING_POLL_SECONDS; a mark lives VIEWING_FOR_SECONDS, so an
# agent who leaves is gone from the page and the queue within a minute. One cache entry per
# ticket holds {user id: [name, typing, expires at]}: two agents writing it at the same moment
# can lose one mark until that agent's next poll, which is all a cached hint may cost.
VIEWING_POLL_SECONDS = 10
VIEWING_FOR_SECONDS = 40


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    typing: bool


def _viewers_key(ticket_id: int) -> str:
    return f"tickets:viewers:{ticket_id}"


def _live(entry: object, now: float) -> dict[int, list[Any]]:
    if not isinstance(entry, dict):
        return {}
    return {uid: mark for uid, mark in entry.items() if isinstance(mark, list) and mark[2] > now}


def mark_viewing(ticket_id: int, user: User, *, typing: bool) -> None:
    now = time.time()
    key = _viewers_key(ticket_id)
    viewers = _live(cache_or(None, lambda: cache.get(key), what="viewers"), now)
    name = user.first_name or user.get_username()
    viewers[user.pk] = [name, typing, now + VIEWING_FOR_SECONDS]
    cache_or(None, lambda: cache.set(key, viewers, VIEWING_FOR_SECONDS), what="viewing")


def stop_viewing(ticket_id: int, user: User) -> None:
    key = _viewers_key(ticket_id)
    viewers = _live(cache_or(None, lambda: cache.get(key), what="viewers"), time.time())
    if viewers.pop(user.pk, None) is not None:
        cache_or(None, lambda: cache.set(key, viewers, VIEWING_FOR_SECONDS), what="leaving")


def viewers_of(ticket_ids: Iterable[int], *, besides: User) -> dict[int, list[Viewer]]:
    """Who else has each ticket open: one cache read for a whole page of the queue."""
    keys = {_viewers_key(ticket_id): ticket_id for ticket_id in ticket_ids}
    now = time.time()
    found: dict[int, list[Viewer]] = {}
    entries: dict[str, Any] = cache_or({}, lambda: cache.get_many(list(keys)), what="viewers")
    for key, entry in entries.items():
        others = [
            Viewer(user_id=uid, name=str(mark[0]), typing=bool(mark[1]))
            for uid, mark in _live(entry, now).items()
            if uid != besides.pk
        ]
        if others:
            found[keys[key]] = sorted(others, key=lambda viewer: viewer.name)
    return found
