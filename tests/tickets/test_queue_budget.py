"""What the support queue costs in SQL with a realistic load: three agents, a few hundred
tickets with their conversations. Each page's budget is a fixed number of queries, however
many rows it shows (scripts/bench_admin.py measures the same pages and times them)."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import TicketFactory
from tickets.models import Message, Priority, Status, Ticket

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"
ROW = 'class="field-reference"'
MESSAGE = '<li class="message message-'

STATUSES = [Status.NEW, Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED]
PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


@pytest.fixture
def team(make_staff):
    return [make_staff(name, "agent") for name in ("agent-a", "agent-b", "agent-c")]


@pytest.fixture
def busy_queue(team):
    """400 tickets, one in four unassigned, the others spread over the three agents; 1-3
    messages each, some with the customer's last. Returns an open ticket of agent-a's with
    three messages."""
    now = timezone.now()
    tickets = []
    for n in range(400):
        ticket = TicketFactory.build(
            subject=f"Ticket {n}",
            status=STATUSES[n % 5],
            priority=PRIORITIES[n % 4],
            assignee=None if n % 4 == 0 else team[n % 3],
        )
        if n % 5:  # all but the new ones were answered
            ticket.first_response_at = now - timedelta(hours=n % 48)
        tickets.append(ticket)
    Ticket.objects.bulk_create(tickets)
    messages = [
        Message(
            ticket=ticket,
            author_type=Message.Author.STAFF if (n + k) % 2 else Message.Author.CUSTOMER,
            author=ticket.assignee if (n + k) % 2 else None,
            body=f"Message {k}",
        )
        for n, ticket in enumerate(tickets)
        for k in range(1 + n // 7 % 3)
    ]
    Message.objects.bulk_create(messages)
    chosen = (
        Ticket.objects.filter(assignee=team[0], status=Status.OPEN)
        .annotate(message_count=Count("messages"))
        .filter(message_count=3)
        .first()
    )
    assert chosen is not None
    return chosen


def test_the_default_queue_costs_a_fixed_number_of_queries(
    busy_queue, team, client_for, django_assert_max_num_queries
):
    client = client_for(team[0])
    with django_assert_max_num_queries(10):  # measured: 8
        response = client.get(CHANGELIST)
    html = response.content.decode()
    assert html.count(ROW) == 100  # of agent-a's 119 to do
    assert "awaiting us" in html and 'class="field-assignee nowrap">agent-b<' not in html


def test_the_whole_queue_costs_a_fixed_number_of_queries(
    busy_queue, team, client_for, django_assert_max_num_queries
):
    client = client_for(team[0])
    with django_assert_max_num_queries(10):  # measured: 8
        response = client.get(CHANGELIST + "?queue=anyone")
    html = response.content.decode()
    assert html.count(ROW) == 100  # of 400
    assert 'class="field-assignee nowrap">agent-b<' in html


def test_a_ticket_page_costs_a_fixed_number_of_queries(
    busy_queue, team, client_for, django_assert_max_num_queries
):
    client = client_for(team[0])
    url = reverse("admin:tickets_ticket_change", args=[busy_queue.pk])
    # A worker that has served the page once: content types and the session are looked up
    # once per process or login, not per page, and a lone run of this test would count them.
    client.get(url)
    with django_assert_max_num_queries(18):
        response = client.get(url)
    assert response.content.decode().count(MESSAGE) == 4  # the opening words and 3 messages
