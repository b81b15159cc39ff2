"""Which agents are at the chat console right now, kept in the shared cache.

The console refreshes an agent's mark while it is open; the mark expires a minute after the
console is closed. Every worker sees the same marks, so a customer is only offered a live chat
when someone can answer it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache

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
    cache.set_many({_agent_key(user.pk): True, _ANY_AGENT_KEY: True}, ONLINE_FOR_SECONDS)
    if session is not None:
        session[_SESSION_KEY] = now


def any_agent_online() -> bool:
    return bool(cache.get(_ANY_AGENT_KEY))


def online_agent_ids(user_ids: Iterable[int]) -> set[int]:
    keys = {_agent_key(user_id): user_id for user_id in user_ids}
    return {keys[key] for key in cache.get_many(list(keys))}
