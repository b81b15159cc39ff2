"""Figures for the support dashboard on the admin home."""

from __future__ import annotations

from datetime import timedelta
from statistics import median
from typing import Any

from django.db.models import Avg, Count, F, Q
from django.utils import timezone

from tickets.models import Status, Ticket


def queue_summary() -> dict[str, Any]:
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - timedelta(days=today.weekday())
    counts = Ticket.objects.not_spam().aggregate(
        new_today=Count("pk", filter=Q(created_at__gte=today)),
        open=Count("pk", filter=Q(status__in=[Status.NEW, Status.OPEN])),
        waiting=Count("pk", filter=Q(status=Status.WAITING)),
        resolved_this_week=Count("pk", filter=Q(resolved_at__gte=week_start)),
        average_satisfaction=Avg("satisfaction"),
    )
    counts["chats_waiting"] = Ticket.objects.live_chats().filter(assignee__isnull=True).count()
    counts["overdue"] = Ticket.objects.not_spam().overdue(now).count()
    # Median over the last 30 days: a few very slow tickets should not hide the typical wait.
    waits = [
        wait.total_seconds()
        for wait in Ticket.objects.filter(
            first_response_at__isnull=False, created_at__gte=now - timedelta(days=30)
        )
        .annotate(wait=F("first_response_at") - F("created_at"))
        .values_list("wait", flat=True)
    ]
    counts["median_first_response_hours"] = round(median(waits) / 3600, 1) if waits else None
    return counts
