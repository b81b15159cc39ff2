"""The leads' reports (/admin/reports/): every number is an aggregate the database computes;
this module shapes the rows into tables and the geometry of the server-drawn SVG charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, DateField, F, FloatField, Func, Q, QuerySet, Window
from django.db.models.functions import CumeDist, ExtractHour, TruncDate, TruncWeek
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets.models import FINISHED, Channel, Kind, Ticket, Topic
from wallet_support.cache import cache_or

PERIODS = (30, 90)
CHART_WIDTH = 720
CHART_HEIGHT = 220
TOP_SEARCHES = 15


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    series: int
    label: str


@dataclass
class Chart:
    """What the template draws: bars in a viewBox, the labels under them, a legend."""

    bars: list[Bar]
    labels: list[tuple[float, str]]
    legend: list[tuple[int, str]]
    top: float
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


@dataclass
class Report:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    note: str = ""
    unit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def bar_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, stacked: bool = False
) -> Chart:
    """Columns, one group per label, side by side or stacked. Coordinates only: the numbers
    were computed by the database."""
    groups = max(len(labels), 1)
    slot = CHART_WIDTH / groups
    inner = slot * 0.8
    if stacked:
        totals = [sum(values[i] or 0 for _name, values in series) for i in range(len(labels))]
        top = max(totals, default=0)
    else:
        top = max((v or 0 for _name, values in series for v in values), default=0)
    top = top or 1
    scale = (CHART_HEIGHT - 10) / top
    bars: list[Bar] = []
    for i, label in enumerate(labels):
        left = i * slot + (slot - inner) / 2
        base = float(CHART_HEIGHT)
        for s, (name, values) in enumerate(series):
            value = float(values[i] or 0)
            height = value * scale
            if stacked:
                bars.append(Bar(left, base - height, inner, height, value, s, f"{label} · {name}"))
                base -= height
            else:
                width = inner / len(series)
                bars.append(
                    Bar(
                        left + s * width,
                        base - height,
                        width,
                        height,
                        value,
                        s,
                        f"{label} · {name}",
                    )
                )
    # At most about 12 labels under the axis, so they never overlap.
    step = max(1, round(groups / 12))
    under = [(i * slot + slot / 2, label) for i, label in enumerate(labels) if i % step == 0]
    legend = [(s, name) for s, (name, _values) in enumerate(series)] if len(series) > 1 else []
    return Chart(bars=bars, labels=under, legend=legend, top=top)


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.not_spam().filter(merged_into__isnull=True)


def _days(since: datetime, now: datetime) -> list[date]:
    first = timezone.localdate(since)
    return [first + timedelta(days=n) for n in range((timezone.localdate(now) - first).days + 1)]


def _per_day_counts(since: datetime) -> dict[str, dict[tuple[date, str], int]]:
    """Tickets per day and kind, and per day and topic, from one grouped query (the local
    day of each row is the costly part on SQLite: computed once for both reports)."""
    rows = (
        _tickets()
        .filter(created_at__gte=since)
        .annotate(day=local_date("created_at"))
        .values("day", "kind", "topic")
        .annotate(total=Count("pk"))
    )
    counts: dict[str, dict[tuple[date, str], int]] = {"kind": {}, "topic": {}}
    for row in rows:
        for by in counts:
            key = (row["day"], row[by])
            counts[by][key] = counts[by].get(key, 0) + row["total"]
    return counts


def tickets_per_day(
    since: datetime, now: datetime, by: str, counted: dict[str, dict[tuple[date, str], int]]
) -> Report:
    choices = Kind if by == "kind" else Topic
    counts = counted[by]
    days = _days(since, now)
    used = [value for value in choices.values if any(key[1] == value for key in counts)]
    rows = [[day.isoformat(), *(counts.get((day, v), 0) for v in used)] for day in days]
    labels = [day.strftime("%m-%d") for day in days]
    series = [(str(choices(v).label), [counts.get((day, v), 0) for day in days]) for v in used]
    title = _("Tickets per day by kind") if by == "kind" else _("Tickets per day by topic")
    return Report(
        key=f"per-day-{by}",
        title=title,
        columns=[_("Day"), *(name for name, _values in series)],
        rows=rows,
        chart=bar_chart(labels, series, stacked=True),
    )


def _fixed_offset() -> int | None:
    """The local time zone's offset from UTC in seconds, if it never changes (no summer
    time: Asia/Shanghai); None where it does."""
    tz = timezone.get_current_timezone()
    year = timezone.now().year
    winter = datetime(year, 1, 1, tzinfo=tz).utcoffset()
    summer = datetime(year, 7, 1, tzinfo=tz).utcoffset()
    if winter is None or winter != summer:
        return None
    return int(winter.total_seconds())


class _LocalDateSQLite(Func):
    """The local day (or the Monday of its week) of a moment, in SQLite's own date
    functions: Django's TruncDate/TruncWeek call a Python function per row there. Only used
    when the zone's offset is fixed, where adding it is exact."""

    output_field = DateField()

    def __init__(self, expression: Any, *, offset: int, week: bool) -> None:
        super().__init__(expression)
        self.offset = offset
        self.week = week

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        modifiers = f"'{self.offset:+d} seconds'" + (
            ", 'weekday 0', '-6 days'" if self.week else ""
        )
        return f"date({sql}, {modifiers})", params


def local_date(field: str, *, week: bool = False) -> Any:
    """The local day, or the Monday starting its week, as a date: native SQL on every
    backend (Django's Trunc where the database does time zones itself)."""
    offset = _fixed_offset()
    if connection.vendor == "sqlite" and offset is not None:
        return _LocalDateSQLite(F(field), offset=offset, week=week)
    tz = timezone.get_current_timezone()
    if week:
        return TruncDate(TruncWeek(field, tzinfo=tz), tzinfo=tz)
    return TruncDate(field, tzinfo=tz)


class WaitSeconds(Func):
    """Seconds from one moment to another, in the database's own arithmetic. On SQLite,
    Django subtracts datetimes in a Python function called for every row (and again to
    sort); julianday() is SQLite's own and several times faster."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))",
            arg_joiner=" - ",
            **extra,
        )


def _percentiles_by_week(
    queryset: QuerySet[Ticket], end: str, fractions: Sequence[float]
) -> dict[float, dict[datetime, timedelta]]:
    """Nearest-rank percentiles of (end − created) per week. The database ranks each week's
    waits (CUME_DIST over the week) and returns, ordered, only those at or past the lowest
    fraction; the percentile is then the first of them whose rank reaches it."""
    wait = WaitSeconds(F(end), F("created_at"))
    ranked = (
        queryset.filter(**{f"{end}__isnull": False})
        .annotate(
            week=local_date("created_at", week=True),
            wait=wait,
            rank=Window(CumeDist(), partition_by=[F("week")], order_by=F("wait").asc()),
        )
        .filter(rank__gte=min(fractions))
        .order_by("week", "wait")
        .values_list("week", "wait", "rank")
    )
    found: dict[float, dict[datetime, timedelta]] = {fraction: {} for fraction in fractions}
    for week, seconds, rank in ranked:
        for fraction in fractions:
            if rank >= fraction and week not in found[fraction]:
                found[fraction][week] = timedelta(seconds=round(seconds))
    return found


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


def response_times(since: datetime) -> Report:
    base = _tickets().filter(created_at__gte=since)
    figures = {}
    for end in ("first_response_at", "resolved_at"):
        for fraction, by_week in _percentiles_by_week(base, end, (0.5, 0.9)).items():
            figures[(end, fraction)] = by_week
    weeks = sorted({week for values in figures.values() for week in values})
    rows = [
        [
            week.isoformat(),
            *(_hours(figures[key].get(week)) for key in figures),
        ]
        for week in weeks
    ]
    labels = [week.strftime("%m-%d") for week in weeks]
    names = [
        _("First response, median"),
        _("First response, p90"),
        _("Resolution, median"),
        _("Resolution, p90"),
    ]
    series = [
        (name, [figures_hours or 0.0 for figures_hours in column])
        for name, column in zip(
            names,
            ([_hours(figures[key].get(week)) for week in weeks] for key in figures),
            strict=True,
        )
    ]
    return Report(
        key="response-times",
        title=_("First response and resolution time by week (hours)"),
        columns=[_("Week of"), *names],
        rows=rows,
        chart=bar_chart(labels, series),
        unit="h",
    )


def satisfaction_by_week(since: datetime) -> Report:
    rows_db = (
        _tickets()
        .filter(satisfaction__isnull=False, resolved_at__gte=since)
        .annotate(week=local_date("resolved_at", week=True))
        .values("week")
        .annotate(average=Avg("satisfaction"), ratings=Count("pk"))
        .order_by("week")
    )
    rows = [[r["week"].isoformat(), round(r["average"], 2), r["ratings"]] for r in rows_db]
    return Report(
        key="satisfaction-week",
        title=_("Satisfaction by week (1–5)"),
        columns=[_("Week of"), _("Average rating"), _("Ratings")],
        rows=rows,
        chart=bar_chart([r[0][5:] for r in rows], [(_("Average rating"), [r[1] for r in rows])]),
    )


def _agent_name(row: dict[str, Any]) -> str:
    return str(row["assignee__first_name"] or row["assignee__username"] or _("nobody"))


def satisfaction_by(since: datetime, by: str) -> Report:
    group = ["assignee__username", "assignee__first_name"] if by == "agent" else ["topic"]
    rows_db = (
        _tickets()
        .filter(satisfaction__isnull=False, resolved_at__gte=since)
        .values(*group)
        .annotate(average=Avg("satisfaction"), ratings=Count("pk"))
        .order_by("-average", *group)
    )
    rows = [
        [
            _agent_name(r) if by == "agent" else str(Topic(r["topic"]).label),
            round(r["average"], 2),
            r["ratings"],
        ]
        for r in rows_db
    ]
    return Report(
        key=f"satisfaction-{by}",
        title=_("Satisfaction by agent") if by == "agent" else _("Satisfaction by topic"),
        columns=[_("Agent") if by == "agent" else _("Topic"), _("Average rating"), _("Ratings")],
        rows=rows,
        chart=bar_chart([r[0] for r in rows], [(_("Average rating"), [r[1] for r in rows])]),
    )


def workload(since: datetime) -> Report:
    users = (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .annotate(
            active=Count("assigned_tickets", filter=~Q(assigned_tickets__status__in=FINISHED)),
            resolved=Count("assigned_tickets", filter=Q(assigned_tickets__resolved_at__gte=since)),
        )
        .filter(Q(active__gt=0) | Q(resolved__gt=0))
        .order_by("-active", "username")
        .values("username", "first_name", "active", "resolved")
    )
    rows = [[u["first_name"] or u["username"], u["active"], u["resolved"]] for u in users]
    series = [
        (_("Active now"), [r[1] for r in rows]),
        (_("Resolved in the period"), [r[2] for r in rows]),
    ]
    return Report(
        key="workload",
        title=_("Workload per agent"),
        columns=[_("Agent"), _("Active now"), _("Resolved in the period")],
        rows=rows,
        chart=bar_chart([r[0] for r in rows], series),
    )


def chats_per_hour(since: datetime) -> Report:
    counts = {
        row["hour"]: row["chats"]
        for row in _tickets()
        .filter(channel=Channel.CHAT, created_at__gte=since)
        .annotate(hour=ExtractHour("created_at", tzinfo=timezone.get_current_timezone()))
        .values("hour")
        .annotate(chats=Count("pk"))
    }
    rows = [[f"{hour:02d}:00", counts.get(hour, 0)] for hour in range(24)]
    return Report(
        key="chats-hour",
        title=_("Chats per hour of day"),
        columns=[_("Hour"), _("Chats")],
        rows=rows,
        chart=bar_chart([f"{h:02d}" for h in range(24)], [(_("Chats"), [r[1] for r in rows])]),
    )


def searches_without_results(days: int) -> Report:
    from faq.models import SearchQuery

    top = SearchQuery.objects.since(days).without_results().top(TOP_SEARCHES)
    rows = [[row["query"], row["language"], row["searches"]] for row in top]
    return Report(
        key="searches",
        title=_("Top searches that found nothing"),
        columns=[_("Search"), _("Language"), _("Times")],
        rows=rows,
        chart=bar_chart([r[0] for r in rows], [(_("Times"), [r[2] for r in rows])]),
    )


CACHE_SECONDS = 300


def cached_reports(days: int) -> list[Report]:
    """The reports at most CACHE_SECONDS old: a lead reloading the page, or several leads,
    do not recompute them. A cache that is down or has evicted them only costs the time."""
    key = f"tickets:reports:{days}:{translation.get_language()}"
    found = cache_or(None, lambda: cache.get(key), what="reports")
    if found is not None:
        return cast(list[Report], found)
    built = all_reports(days)
    cache_or(None, lambda: cache.set(key, built, CACHE_SECONDS), what="reports")
    return built


def all_reports(days: int, now: datetime | None = None) -> list[Report]:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    per_day = _per_day_counts(since)
    return [
        tickets_per_day(since, now, "kind", per_day),
        tickets_per_day(since, now, "topic", per_day),
        response_times(since),
        satisfaction_by_week(since),
        satisfaction_by(since, "agent"),
        satisfaction_by(since, "topic"),
        workload(since),
        chats_per_hour(since),
        searches_without_results(days),
    ]
