"""When a live chat can be answered: inside the support hours (Beijing time)."""

from __future__ import annotations

import re
from datetime import datetime, time

from django.conf import settings
from django.utils import timezone

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
