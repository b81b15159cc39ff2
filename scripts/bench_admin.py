"""The support queue in the Django admin: SQL queries and response time per page.

Seeds a fresh SQLite database (benchlib's production-like set-up) with --tickets tickets (a
mix of statuses and priorities over the last 10 days, 1-3 messages each) and 3 agents in the
"Support agent" group, then, through Django's test client logged in as one agent, requests
each page --requests times after a warm-up and prints its SQL queries, what it shows (rows,
messages) and p50/p95 response time:

- the queue as it opens (/admin/tickets/ticket/: the agent's to-do list),
- the queue with ?queue=anyone (every ticket, 100 rows per page),
- one ticket's page (/admin/tickets/ticket/<pk>/change/),
- the leads' reports (/admin/reports/, 30 and 90 days), as a lead.

A page whose queries repeat once per row (an N+1) is named with its most repeated query.

    .venv/bin/python scripts/bench_admin.py
    .venv/bin/python scripts/bench_admin.py --tickets 5000 --requests 100
    .venv/bin/python scripts/bench_admin.py --tickets 10000   # the reports' goal: p95 < 300 ms
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from benchlib import django_in_this_process

AGENTS = ["agent-mei", "agent-jun", "agent-lan"]
STATUS_WEIGHTS = {"new": 20, "open": 30, "waiting": 15, "resolved": 20, "closed": 15}
PRIORITY_WEIGHTS = {"low": 20, "normal": 50, "high": 20, "urgent": 10}
TOPICS = ["account", "top-up", "withdrawal", "payment", "security", "other"]
SUBJECTS = [
    "Withdrawal not received",
    "Top-up charged twice",
    "Cannot log in after changing phone",
    "Refund for a cancelled order",
    "Suspicious login from another city",
    "How do I close my account?",
]
CUSTOMER_LINES = [
    "I still have not received the money, please check.",
    "Here is the screenshot of the transfer.",
    "Any news? It has been two days.",
]
STAFF_LINES = [
    "Thank you, we are checking this with the bank.",
    "Could you send us the transaction reference from your bank statement?",
    "The refund has been issued; it arrives within 3 business days.",
]
ROW_MARKER = 'class="field-reference"'  # one per ticket in the queue
REPORT_MARKER = '<section class="report module"'  # one per report
MESSAGE_MARKER = '<li class="message message-'  # one per message on the ticket page


def seed(ticket_count: int, rng: random.Random) -> tuple[Any, int]:
    """The agents and the tickets; returns the agent to log in as and a ticket of theirs."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from tickets.models import Macro, Message, Ticket
    from tickets.roles import AGENT

    group = Group.objects.get(name=AGENT)  # made by the migrations
    agents = []
    for username in AGENTS:
        user = get_user_model().objects.create_user(
            username, f"{username}@okwallet.example", first_name=username[6:].title(),
            is_staff=True,
        )  # fmt: skip
        user.groups.add(group)
        agents.append(user)
    Macro.objects.bulk_create(
        Macro(title=f"Reply {n}", body_en=line, body_zh_hans=line)
        for n, line in enumerate(STAFF_LINES)
    )

    now = timezone.now()
    tickets = []
    for n in range(ticket_count):
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        unassigned = rng.random() < (0.8 if status == "new" else 0.3)
        topic = rng.choice(TOPICS)
        tickets.append(
            Ticket(
                kind=rng.choice(["complaint", "complaint", "suggestion"]),
                topic=topic,
                status=status,
                priority=rng.choices(
                    list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values())
                )[0],
                subject=f"{rng.choice(SUBJECTS)} #{n}",
                description="I withdrew 500 yuan three days ago and it has not arrived.",
                email=f"customer{n}@example.com",
                name=rng.choice(["Li Wei", "Zhang Min", "", "Wang Fang"]),
                transaction_reference=f"TX-{n:06d}" if topic != "account" else "",
                language="en",
                assignee=None if unassigned else rng.choice(agents),
                # The reports read these: chats by hour, ratings by agent and topic.
                channel="chat" if rng.random() < 0.15 else "web",
                satisfaction=rng.randint(1, 5)
                if status in {"resolved", "closed"} and rng.random() < 0.6
                else None,
            )
        )
    Ticket.objects.bulk_create(tickets, batch_size=500)

    messages = []
    for ticket in tickets:
        # auto_now_add set created_at to now in bulk_create: spread them over 10 days.
        ticket.created_at = now - timedelta(seconds=rng.uniform(600, 10 * 24 * 3600))
        when = ticket.created_at
        # A new ticket has only the customer's follow-ups; the others were answered, and
        # those with two messages have the customer's answer last ("awaiting us").
        count = rng.randint(1, 3)
        if ticket.status == "new":
            authors = ["customer"] * count
        else:
            authors = ["staff", "customer", "staff"][:count]
        for author in authors:
            when += timedelta(minutes=rng.uniform(5, 600))
            when = min(when, now)
            internal = author == "staff" and rng.random() < 0.15
            if author == "staff" and not internal and ticket.first_response_at is None:
                ticket.first_response_at = when
            staff = ticket.assignee or agents[0]
            messages.append(
                Message(
                    ticket=ticket,
                    author_type=author,
                    author=staff if author == "staff" else None,
                    body=rng.choice(STAFF_LINES if author == "staff" else CUSTOMER_LINES),
                    is_internal=internal,
                    created_at=when,
                )
            )
        ticket.updated_at = ticket.status_changed_at = when
        if ticket.status in {"resolved", "closed"}:
            ticket.resolved_at = when
    Message.objects.bulk_create(messages, batch_size=1000)
    # bulk_update writes the times as given (auto_now only applies in save and bulk_create).
    Ticket.objects.bulk_update(
        tickets,
        ["created_at", "updated_at", "status_changed_at", "first_response_at", "resolved_at"],
        batch_size=500,
    )
    Message.objects.bulk_update(messages, ["created_at"], batch_size=1000)

    agent = agents[0]
    theirs = (
        Ticket.objects.filter(assignee=agent, status="open")
        .exclude(first_response_at=None)
        .order_by("pk")
    )
    ticket = max(theirs[:50], key=lambda t: t.messages.count())
    return agent, ticket.pk


@dataclass
class Figures:
    label: str
    queries: int
    rows: int
    p50: float
    p95: float
    repeated: tuple[str, int] | None


SQL_LITERALS = re.compile(r"'[^']*'|\b\d+\b")


def measure(
    client: Any,
    label: str,
    url: str,
    marker: str,
    requests: int,
    warm_up: int,
    before: Any = None,
) -> Figures:
    """`before`, if given, runs ahead of every request, untimed (e.g. emptying a cache)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warm_up):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    if before is not None:
        before()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    # Read now: captured_queries is a view of the connection's log, which the next request
    # clears.
    queries = [query["sql"] for query in captured.captured_queries]
    rows = response.content.decode().count(marker)
    # The same statement with other values, more than twice: likely a query per row.
    shapes = Counter(SQL_LITERALS.sub("?", sql) for sql in queries)
    shape, times = shapes.most_common(1)[0]
    timings = []
    for _ in range(requests):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    cuts = statistics.quantiles(timings, n=100)
    return Figures(
        label, len(queries), rows, cuts[49], cuts[94], (shape, times) if times > 2 else None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--warm-up", type=int, default=5, help="untimed requests per page")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    # The test client's requests come from "testserver".
    work, _env = django_in_this_process("bench-admin-", DJANGO_ALLOWED_HOSTS="127.0.0.1,testserver")
    from django.test import Client

    from tickets.models import Ticket

    started = time.perf_counter()
    agent, ticket_pk = seed(args.tickets, random.Random(args.seed))
    seeded = time.perf_counter() - started

    client = Client()
    client.force_login(agent)
    client.cookies["django_language"] = "en"
    to_do = Ticket.objects.for_queue_of(agent).count()
    pages = [
        ("queue (to-do list)", "/admin/tickets/ticket/", ROW_MARKER),
        ("queue ?queue=anyone", "/admin/tickets/ticket/?queue=anyone", ROW_MARKER),
        ("ticket change page", f"/admin/tickets/ticket/{ticket_pk}/change/", MESSAGE_MARKER),
    ]
    figures = [
        measure(client, label, url, marker, args.requests, args.warm_up)
        for label, url, marker in pages
    ]
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tickets.roles import LEAD

    lead = get_user_model().objects.create_user("lead-lin", is_staff=True)
    lead.groups.add(Group.objects.get(name=LEAD))
    lead_client = Client()
    lead_client.force_login(lead)
    lead_client.cookies["django_language"] = "en"
    from django.core.cache import cache

    # Recomputed: the cache emptied before each request (a lead opening them after the
    # 5 minutes they are kept); then as served within those 5 minutes.
    figures += [
        measure(lead_client, label, url, REPORT_MARKER, args.requests, args.warm_up, before)
        for label, url, before in [
            ("reports 30 d, computed", "/admin/reports/", cache.clear),
            ("reports 90 d, computed", "/admin/reports/?days=90", cache.clear),
            ("reports 30 d, cached", "/admin/reports/", None),
        ]
    ]

    messages = Ticket.objects.get(pk=ticket_pk).messages.count()
    total = Ticket.objects.count()
    print(f"database: SQLite in {work} ({total} tickets, seeded in {seeded:.1f} s)")
    print(f"logged in as {agent.username} (Support agent); to-do list {to_do} tickets")
    print(f"ticket page: ticket {ticket_pk}, its opening words and {messages} messages")
    print(f"{args.requests} timed requests per page after {args.warm_up} warm-up requests\n")
    print(f"{'page':<22} {'queries':>7} {'shown':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for f in figures:
        print(f"{f.label:<22} {f.queries:>7} {f.rows:>5} {f.p50:>8.1f} {f.p95:>8.1f}")
    print("(shown: tickets listed in the queue; messages on the ticket page; reports)")
    for f in figures:
        if f.repeated:
            shape, times = f.repeated
            print(f"\n{f.label}: one statement ran {times} times:\n  {shape[:300]}")


if __name__ == "__main__":
    main()
