"""When money normally arrives, in business days (weekends and China's public holidays do not
count, the weekend days worked in exchange do), so the complaint form can tell a customer
whether their transaction is late before they send it.

The windows come from the settings (TICKETS_SETTLEMENT_BUSINESS_DAYS); only withdrawals have
one by default, the one figure the seeds give (1–3 business days). Where no figure is known,
nothing is promised.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings

HOLIDAYS_FILE = Path(__file__).resolve().parent / "content" / "holidays_cn.toml"


@cache
def _calendar() -> tuple[frozenset[date], frozenset[date]]:
    data = tomllib.loads(HOLIDAYS_FILE.read_text(encoding="utf-8"))
    holidays = {date.fromisoformat(day) for year in data.values() for day in year["holidays"]}
    worked = {
        date.fromisoformat(day) for year in data.values() for day in year["working_weekend_days"]
    }
    return frozenset(holidays), frozenset(worked)


def is_business_day(day: date) -> bool:
    holidays, worked = _calendar()
    if day in worked:
        return True
    return day.weekday() < 5 and day not in holidays


def business_days_since(start: date, today: date) -> int:
    """The business days after `start`, up to and including `today`: a withdrawal made on a
    Friday is 1 business day old on the Monday."""
    count, day = 0, start
    while day < today:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count


def add_business_days(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            days -= 1
    return day


@dataclass(frozen=True)
class Settlement:
    topic: str
    shortest: int
    longest: int
    elapsed: int
    due: date  # the last business day of the normal window

    @property
    def is_late(self) -> bool:
        return self.elapsed > self.longest


def settlement(topic: str, made_on: date, today: date) -> Settlement | None:
    window = settings.TICKETS_SETTLEMENT_BUSINESS_DAYS.get(topic)
    if window is None or made_on > today:
        return None
    shortest, longest = window
    return Settlement(
        topic=topic,
        shortest=shortest,
        longest=longest,
        elapsed=business_days_since(made_on, today),
        due=add_business_days(made_on, longest),
    )
