"""When a live chat can be answered: inside the support hours (Beijing time), with an agent
at the chat console."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from tickets.presence import any_agent_online

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")


def support_hours() -> tuple[time, time]:
    """SUPPORT_HOURS such as "09:00–21:00", read in TIME_ZONE."""
    match = _HOURS.match(settings.SUPPORT_HOURS)
    if not match:
        return time(0, 0), time(23, 59, 59)
    opens_h, opens_m, closes_h, closes_m = (int(part) for part in match.groups())
    return time(opens_h, opens_m), time(min(closes_h, 23), closes_m if closes_h < 24 else 59)


def chat_is_open(now: datetime | None = None) -> bool:
    local = timezone.localtime(now or timezone.now()).time()
    opens, closes = support_hours()
    return opens <= local < closes


class ChatAvailability(StrEnum):
    OPEN = "open"
    AFTER_HOURS = "after-hours"
    NO_AGENT = "no-agent"


def chat_availability(now: datetime | None = None) -> ChatAvailability:
    if not chat_is_open(now):
        return ChatAvailability.AFTER_HOURS
    if not any_agent_online():
        return ChatAvailability.NO_AGENT
    return ChatAvailability.OPEN


@dataclass(frozen=True)
class ChatStatus:
    """What the chat links tell a customer: open now, and if not, why and when it opens."""

    availability: ChatAvailability
    # The next opening (Beijing time) when closed for the night; None when within the hours,
    # where nobody can say when an agent will sit down at the console again.
    opens_at: datetime | None = None
    opens_today: bool = False

    @property
    def is_open(self) -> bool:
        return self.availability == ChatAvailability.OPEN


def next_opening(now: datetime | None = None) -> datetime:
    """The next time the support hours begin, in TIME_ZONE: later today or tomorrow."""
    local = timezone.localtime(now or timezone.now())
    opens, _closes = support_hours()
    opening = local.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
    if opening <= local:
        opening = timezone.localtime(opening + timedelta(days=1))
        opening = opening.replace(hour=opens.hour, minute=opens.minute)
    return opening


def chat_status(now: datetime | None = None) -> ChatStatus:
    availability = chat_availability(now)
    if availability == ChatAvailability.AFTER_HOURS:
        opens_at = next_opening(now)
        today = timezone.localtime(now or timezone.now()).date()
        return ChatStatus(availability, opens_at=opens_at, opens_today=opens_at.date() == today)
    return ChatStatus(availability)
