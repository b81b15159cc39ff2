"""Reading the known incidents: which are open now, for which pages.

Pages kept in the per-worker cache (faq.pagecache) must show an incident within seconds of a
lead posting it, on every worker, and stop showing it when its planned end passes, though
nobody saved anything. So each worker keeps a copy of the incidents that can still matter (open,
planned, or finished in the last TICKETS_INCIDENT_RECENT_DAYS), loaded again when the shared
content version changes (every save of an incident bumps it, tickets/apps.py) or after
COPY_TTL_SECONDS at most. Which of them are open is worked out from that copy and the clock at
each request: the page variants below cost no query, and a planned end ends the banner on time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone, translation

from faq import pagecache
from tickets.incident_models import Incident, IncidentStatus
from tickets.models import categories_for_topic, topic_for_category

# Tests move the clock on by replacing this (time-bound: a planned start or end).
_now: Callable[[], datetime] = timezone.now

# A copy is trusted at most this long even when the version did not move (a bump lost in a
# cache outage; "recent" moving on with the days).
COPY_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class IncidentView:
    """One incident as pages show it: a plain value, shared by the requests of a worker."""

    pk: int
    reference: str
    title_zh_hans: str
    title_en: str
    message_zh_hans: str
    message_en: str
    topics: tuple[str, ...]
    status: str
    starts_at: datetime
    ends_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, incident: Incident) -> IncidentView:
        return cls(
            pk=incident.pk,
            reference=incident.reference,
            title_zh_hans=incident.title_zh_hans,
            title_en=incident.title_en,
            message_zh_hans=incident.message_zh_hans,
            message_en=incident.message_en,
            topics=tuple(str(topic) for topic in incident.topics or ()),
            status=incident.status,
            starts_at=incident.starts_at,
            ends_at=incident.ends_at,
            resolved_at=incident.resolved_at,
            updated_at=incident.updated_at,
        )

    @property
    def _english(self) -> bool:
        return (translation.get_language() or "").startswith("en")

    @property
    def title(self) -> str:
        """In the visitor's language, else the one it has."""
        own = self.title_en if self._english else self.title_zh_hans
        return own or self.title_zh_hans or self.title_en

    @property
    def message(self) -> str:
        own = self.message_en if self._english else self.message_zh_hans
        return own or self.message_zh_hans or self.message_en

    @property
    def status_label(self) -> str:
        return str(IncidentStatus(self.status).label)

    @property
    def categories(self) -> list[str]:
        """The help categories whose articles carry the banner."""
        return [slug for topic in self.topics for slug in categories_for_topic(topic)]

    def is_open_at(self, now: datetime) -> bool:
        return (
            self.status != IncidentStatus.RESOLVED
            and self.starts_at <= now
            and (self.ends_at is None or now < self.ends_at)
        )

    def is_planned_at(self, now: datetime) -> bool:
        return self.status != IncidentStatus.RESOLVED and now < self.starts_at

    def finished_at(self, now: datetime) -> datetime | None:
        """When it stopped: resolved, or its planned end passed (None while it goes on)."""
        if self.resolved_at is not None and self.status == IncidentStatus.RESOLVED:
            return self.resolved_at
        if self.ends_at is not None and self.ends_at <= now:
            return self.ends_at
        return None

    @property
    def can_subscribe(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    def covers(self, topics: Iterable[str] | None) -> bool:
        """Whether it affects one of these topics (None: any page, e.g. the home page)."""
        return topics is None or any(topic in self.topics for topic in topics)


def recent_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.TICKETS_INCIDENT_RECENT_DAYS)


def open_incident_for_topic(topic: str, now: datetime | None = None) -> Incident | None:
    """The open incident a new ticket on this topic belongs to (the latest started), read from
    the database: a ticket is linked by what is true now, not by a worker's copy."""
    now = now or _now()
    candidates = Incident.objects.open_at(now).order_by("-starts_at", "-pk")
    # The topics are a JSON list: filtered here (a handful of open incidents at most), since
    # SQLite has no JSON "contains".
    return next((incident for incident in candidates if topic in (incident.topics or ())), None)


# --- The per-worker copy ------------------------------------------------------------------


@dataclass(frozen=True)
class _Copy:
    version: str
    loaded: float  # time.monotonic()
    incidents: tuple[IncidentView, ...]


_copy: dict[str, _Copy | None] = {"value": None}
_lock = threading.Lock()


def clear() -> None:
    """Forget the copy (tests; faq.pagecache.clear)."""
    _copy["value"] = None


pagecache.on_clear(clear)


def known_incidents() -> tuple[IncidentView, ...]:
    """Every incident that can still matter, newest first, from this worker's copy."""
    version = pagecache.content_version()
    copy = _copy["value"]
    fresh = time.monotonic()
    if copy is not None and copy.version == version and fresh - copy.loaded < COPY_TTL_SECONDS:
        return copy.incidents
    with _lock:
        incidents = tuple(
            IncidentView.of(incident) for incident in Incident.objects.still_relevant(_now())
        )
        _copy["value"] = _Copy(version=version, loaded=fresh, incidents=incidents)
    return incidents


def open_incidents(topics: Iterable[str] | None = None) -> list[IncidentView]:
    """The incidents open now on any of these topics (None: all of them)."""
    now = _now()
    wanted = None if topics is None else list(topics)
    return [
        incident
        for incident in known_incidents()
        if incident.is_open_at(now) and incident.covers(wanted)
    ]


def topics_of_category(category_slug: str) -> list[str]:
    return [topic_for_category(category_slug)]


def open_incidents_of_category(category_slug: str) -> list[IncidentView]:
    """The banners of an article of this help category."""
    return open_incidents(topics_of_category(category_slug))


@dataclass(frozen=True)
class StatusBoard:
    current: list[IncidentView]
    planned: list[IncidentView]
    recent: list[IncidentView]


def status_board() -> StatusBoard:
    """What the status page lists: open now, planned, and finished recently."""
    now = _now()
    cutoff = recent_cutoff(now)
    current, planned, recent = [], [], []
    for incident in known_incidents():
        finished = incident.finished_at(now)
        if incident.is_open_at(now):
            current.append(incident)
        elif incident.is_planned_at(now):
            planned.append(incident)
        elif finished is not None and finished >= cutoff:
            recent.append(incident)
    planned.sort(key=lambda incident: incident.starts_at)
    return StatusBoard(current=current, planned=planned, recent=recent)


# --- Page variants (faq.pagecache): which incidents a cached copy was rendered with --------


def state_of(incidents: Iterable[IncidentView]) -> str:
    # Each one's last edit too: the article's ETag is built from this state, and a browser
    # holding the page from before a new status or message must not be answered 304.
    return "incidents:" + ",".join(
        f"{incident.pk}@{incident.updated_at.timestamp()}" for incident in incidents
    )


def all_pages_state() -> str:
    """Home page, chat start: every open incident."""
    return state_of(open_incidents())


def status_page_state() -> str:
    """The status page: which are open, planned and recent now."""
    board = status_board()
    return "|".join(state_of(part) for part in (board.current, board.planned, board.recent))


def category_state(category_slug: str) -> Callable[[], str]:
    """An article of this help category: the open incidents of its topic."""
    topics = topics_of_category(category_slug)

    def state() -> str:
        return state_of(open_incidents(topics))

    return state


def last_change(incidents: Iterable[IncidentView]) -> datetime | None:
    """The latest moment one of these was edited or began: a page showing them is that new."""
    moments = [max(incident.updated_at, incident.starts_at) for incident in incidents]
    return max(moments, default=None)
