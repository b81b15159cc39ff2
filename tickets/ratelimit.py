"""Fixed-window rate limits that every worker shares, counted by one atomic step per hit.

Each hit is checked and counted at once, in Redis when REDIS_URL is set, else in the database
(tickets.models.RateLimitCounter): two workers can never both take the last place, a refused
hit adds nothing, and a counter lives exactly as long as its window, never evicted early.

Not in Django's cache: on the database cache `incr` is a read then a write (simultaneous hits
all see the same count), rewrites the row with the cache's default timeout, and the cache culls
rows when full.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Literal

import redis
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import connections, router, transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from tickets.models import RateLimitCounter

logger = logging.getLogger(__name__)

OnOutage = Literal["allow", "refuse"]

# Tests move time on by replacing this.
_clock: Callable[[], float] = time.time

# About one accepted hit in this many also deletes the counters of windows that have ended.
PURGE_EVERY = 200

REDIS_TIMEOUT_SECONDS = 0.25


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/3600' -> (10, 3600): at most 10 hits per 3600 seconds."""
    count, seconds = rate.split("/")
    return int(count), int(seconds)


@dataclass(frozen=True)
class Limit:
    """One rate limit: its name in the counters' keys, the setting with its rate ("count/seconds",
    read at each hit), and what happens to a hit while Redis cannot be reached.

    on_outage is chosen for each limit on purpose: "allow" where a customer must always be able
    to reach us (a limit that fails open only stops protecting for a while), "refuse" where the
    limit is a defence (guessing ticket references).
    """

    scope: str
    rate_setting: str
    on_outage: OnOutage

    def rate(self) -> tuple[int, int]:
        return parse_rate(str(getattr(settings, self.rate_setting)))

    def reached(self, identity: str) -> bool:
        """Whether the next hit would be refused. Only reads: a page can ask before it does any
        work, and take the hit once the work is sure to happen."""
        window = _Window.now(self, identity)
        if window.limit < 1:
            return True
        try:
            hits = _store().hits(window)
        except redis.RedisError as error:
            _log_outage(self, error)
            return self.on_outage == "refuse"
        return hits >= window.limit

    def take(self, identity: str) -> bool:
        """Count a hit if the limit has room for it; False (and nothing counted) if not."""
        return take_all((self, identity))


# Every tickets/ limit, in one place so each one's outage rule is a visible choice.
TICKET_PER_IP = Limit("ticket-ip", "TICKETS_RATE_PER_IP", on_outage="allow")
TICKET_PER_EMAIL = Limit("ticket-email", "TICKETS_RATE_PER_EMAIL", on_outage="allow")
CHAT_PER_IP = Limit("chat-ip", "TICKETS_RATE_PER_IP", on_outage="allow")
CHAT_PER_EMAIL = Limit("chat-email", "TICKETS_RATE_PER_EMAIL", on_outage="allow")
TRACKING_PER_IP = Limit("track-ip", "TICKETS_RATE_TRACKING", on_outage="refuse")
# "E-mail me my references": one address cannot be flooded with reminders from many places.
REMINDER_PER_EMAIL = Limit("remind-email", "TICKETS_RATE_PER_EMAIL", on_outage="refuse")
# "Tell me when it's fixed" on an incident (tickets/incident_views.py): one visitor cannot sign
# up a list of other people's addresses.
INCIDENT_PER_IP = Limit("incident-ip", "TICKETS_RATE_PER_IP", on_outage="allow")
INCIDENT_PER_EMAIL = Limit("incident-email", "TICKETS_RATE_PER_EMAIL", on_outage="allow")


def take_all(*hits: tuple[Limit, str]) -> bool:
    """Count one hit on each (limit, identity) if every one of them has room, else none.

    All or nothing, so a ticket refused for its e-mail address does not also use up a place of
    its IP address. During a Redis outage the hits pass only if every limit allows that.
    """
    windows = [_Window.now(limit, identity) for limit, identity in hits]
    if any(window.limit < 1 for window in windows):
        return False
    try:
        taken = _store().take(windows)
    except redis.RedisError as error:
        for limit, _identity in hits:
            _log_outage(limit, error)
        return all(limit.on_outage == "allow" for limit, _identity in hits)
    if taken and random.randrange(PURGE_EVERY) == 0:
        purge_ended_windows()
    return taken


def purge_ended_windows() -> int:
    """Delete the database counters of windows that have ended; never one still running."""
    ended = RateLimitCounter.objects.filter(window_end__lte=datetime.fromtimestamp(_clock(), UTC))
    deleted, _by_model = ended.delete()
    return deleted


@dataclass(frozen=True)
class _Window:
    """One identity's counter in the current window of one limit."""

    key: str
    limit: int
    end: float  # Unix time

    @classmethod
    def now(cls, limit: Limit, identity: str) -> _Window:
        count, seconds = limit.rate()
        number = int(_clock() // seconds)
        # Keyed with SECRET_KEY: a plain hash of an IPv4 address is undone by trying all 2**32.
        digest = salted_hmac(
            "tickets.ratelimit", identity.strip().lower(), algorithm="sha256"
        ).hexdigest()
        return cls(key=f"{limit.scope}:{digest}:{number}", limit=count, end=(number + 1) * seconds)


def _log_outage(limit: Limit, error: Exception) -> None:
    logger.warning(
        "Rate limit %s: Redis unreachable (%s), so this hit is %s.",
        limit.scope,
        error,
        "allowed" if limit.on_outage == "allow" else "refused",
    )


# --- Where the counters live ----------------------------------------------------------------


class _DatabaseStore:
    """One row per counter; each hit is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING.

    The statement inserts the first hit, or adds one to a counter still under its limit, and
    returns the new count; at the limit its WHERE fails, so nothing is written and no row comes
    back. The database does that under the row's lock, so simultaneous hits queue up instead of
    reading the same count. SQLite has the syntax from 3.35, PostgreSQL from 9.5.
    """

    def hits(self, window: _Window) -> int:
        found = RateLimitCounter.objects.filter(key=window.key).values_list("hits", flat=True)
        return found.first() or 0

    def take(self, windows: list[_Window]) -> bool:
        alias = router.db_for_write(RateLimitCounter)
        connection = connections[alias]
        table, key, window_end, hits = (
            connection.ops.quote_name(name)
            for name in (RateLimitCounter._meta.db_table, "key", "window_end", "hits")
        )
        sql = (
            f"INSERT INTO {table} ({key}, {window_end}, {hits}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({key}) DO UPDATE SET {hits} = {table}.{hits} + 1 "
            f"WHERE {table}.{hits} < %s "
            f"RETURNING {hits}"
        )
        try:
            # Several counters: a refusal of a later one rolls back the earlier ones.
            with transaction.atomic(using=alias), connection.cursor() as cursor:
                for window in windows:
                    end = datetime.fromtimestamp(window.end, UTC)
                    cursor.execute(
                        sql,
                        [window.key, connection.ops.adapt_datetimefield_value(end), window.limit],
                    )
                    if cursor.fetchone() is None:
                        raise _Refused
        except _Refused:
            return False
        return True


class _Refused(Exception):
    pass


class _RedisStore:
    """One key per counter, expiring when its window ends; each hit is one Lua script, which
    Redis runs without interleaving any other command."""

    # KEYS: the counters; ARGV: limit then seconds to live, for each key in turn.
    TAKE = """
    for i, key in ipairs(KEYS) do
      if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then
        return 0
      end
    end
    for i, key in ipairs(KEYS) do
      if redis.call('INCR', key) == 1 then
        redis.call('EXPIRE', key, ARGV[2 * i])
      end
    end
    return 1
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.take_script = client.register_script(self.TAKE)

    def hits(self, window: _Window) -> int:
        value = self.client.get(self._key(window))
        return int(value) if value is not None else 0

    def take(self, windows: list[_Window]) -> bool:
        now = _clock()
        args: list[int] = []
        for window in windows:
            # A second past the window's end: the key is never read after that anyway.
            args += [window.limit, max(int(window.end - now), 0) + 1]
        keys = [self._key(window) for window in windows]
        return bool(self.take_script(keys=keys, args=args))

    @staticmethod
    def _key(window: _Window) -> str:
        return f"ratelimit:{window.key}"


@cache
def _redis_store(url: str) -> _RedisStore:
    # One client (and connection pool) per process and URL. A down or frozen Redis costs a hit
    # a quarter of a second at most, then the limit's on_outage decides.
    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    return _RedisStore(client)


def _store() -> _DatabaseStore | _RedisStore:
    url = str(getattr(settings, "REDIS_URL", "") or "")
    return _redis_store(url) if url else _DatabaseStore()


# --- Who is asking --------------------------------------------------------------------------


# --- A refused request's uploads ------------------------------------------------------------


class SkipUploads(FileUploadHandler):
    """Reads a refused form's text fields but no file: each file's bytes are skipped as they
    arrive, never kept in memory or on disk. Remembers whether there were any, to tell the
    customer that they must choose them again."""

    skipped = 0

    def new_file(self, *args: object, **kwargs: object) -> None:
        self.skipped += 1
        raise SkipFile

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        return None  # pragma: no cover - new_file always skips

    def file_complete(self, file_size: int) -> None:
        return None  # pragma: no cover - new_file always skips


def skip_uploads(request: HttpRequest) -> SkipUploads:
    """Make the request's files be skipped when its body is read (which must not have happened
    yet: Django parses the body once)."""
    handler = SkipUploads(request)
    request.upload_handlers = [handler]
    return handler
