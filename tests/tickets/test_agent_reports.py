"""The leads' reports on a known data set: the numbers, the charts and their tables, CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from faq.models import SearchQuery
from tests.tickets.factories import TicketFactory
from tickets import reports
from tickets.models import Channel, Kind, Status, Ticket, Topic

REPORTS = "/admin/reports/"


@pytest.fixture
def known_tickets(make_staff):
    """Five answered complaints opened 20 hours ago (first replies after 1, 2, 3, 4 and 10
    hours), resolved and rated by customers of two agents, and two chats."""
    mei = make_staff("mei", first_name="Mei")
    jun = make_staff("jun", first_name="Jun")
    opened = timezone.now() - timedelta(hours=20)
    for hours, agent, rating in [(1, mei, 5), (2, mei, 4), (3, jun, 2), (4, jun, 3), (10, mei, 5)]:
        ticket = TicketFactory.create(kind=Kind.COMPLAINT, topic=Topic.WITHDRAWAL, assignee=agent)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=opened,
            first_response_at=opened + timedelta(hours=hours),
            resolved_at=opened + timedelta(hours=hours * 2),
            status=Status.RESOLVED,
            satisfaction=rating,
        )
    TicketFactory.create(kind=Kind.SUGGESTION, topic=Topic.OTHER, assignee=jun, status="open")
    for _ in range(2):
        chat = TicketFactory.create(channel=Channel.CHAT, kind=Kind.QUESTION, topic=Topic.OTHER)
        Ticket.objects.filter(pk=chat.pk).update(created_at=opened)
    return opened


def by_key(days: int = 30) -> dict[str, reports.Report]:
    with translation.override("en"):
        return {report.key: report for report in reports.all_reports(days)}


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_response_times_are_median_and_p90_per_week(known_tickets, settings, zone):
    # Shanghai's fixed offset takes SQLite's own date functions; Berlin's summer time takes
    # Django's: the same figures.
    settings.TIME_ZONE = zone
    report = by_key()["response-times"]
    assert len(report.rows) == 1
    _week, first_median, first_p90, resolved_median, resolved_p90 = report.rows[0]
    assert (first_median, first_p90) == (3.0, 10.0)
    assert (resolved_median, resolved_p90) == (6.0, 20.0)


def test_tickets_per_day_counts_each_kind_on_its_day(known_tickets):
    report = by_key()["per-day-kind"]
    assert len(report.rows) == 31  # every day of the period, quiet ones too
    day = timezone.localdate(known_tickets).isoformat()
    today = timezone.localdate().isoformat()
    rows = {row[0]: row[1:] for row in report.rows}
    columns = report.columns[1:]
    counted = {
        name: rows[day][n] + (rows[today][n] if today != day else 0)
        for n, name in enumerate(columns)
    }
    assert counted == {"Complaint": 5, "Suggestion": 1, "Question": 2}


def test_satisfaction_by_agent_and_by_topic(known_tickets):
    agents = by_key()["satisfaction-agent"].rows
    assert agents == [["Mei", 4.67, 3], ["Jun", 2.5, 2]]
    assert by_key()["satisfaction-topic"].rows == [["Withdrawal", 3.8, 5]]


def test_workload_and_chats_per_hour(known_tickets):
    assert by_key()["workload"].rows == [["Jun", 1, 2], ["Mei", 0, 3]]
    hours = dict(map(tuple, by_key()["chats-hour"].rows))
    hour = f"{timezone.localtime(known_tickets).hour:02d}:00"
    assert hours[hour] == 2 and sum(hours.values()) == 2


def test_top_searches_without_results(db):
    for query, results in [("提现手续费", 0), ("提现手续费", 0), ("充值", 4), ("nfc", 0)]:
        SearchQuery.objects.create(query=query, language="zh-hans", result_count=results)
    assert by_key()["searches"].rows == [["提现手续费", "zh-hans", 2], ["nfc", "zh-hans", 1]]


def test_a_lead_sees_each_chart_with_its_table_within_a_query_budget(
    lead_client, known_tickets, django_assert_max_num_queries
):
    with django_assert_max_num_queries(24):  # measured: 21, the cache's read and write included
        response = lead_client.get(REPORTS)
    html = response.content.decode()
    sections = re.findall(r'<section class="report module".*?</section>', html, re.S)
    assert len(sections) == 9
    for section in sections[:-1]:  # the searches report is empty here
        assert re.search(r'<svg [^>]*role="img"[^>]*>\s*<title id=', section)
        assert "<table>" in section and "<caption>" in section
    assert "script" not in "".join(sections)  # drawn on the server
    with django_assert_max_num_queries(8):  # within 5 minutes: from the cache
        again = lead_client.get(REPORTS)
    assert again.content.decode().count('<section class="report module"') == 9


def test_each_table_downloads_as_csv(lead_client, known_tickets):
    response = lead_client.get(REPORTS + "?days=90&csv=satisfaction-agent")
    assert response["Content-Disposition"] == 'attachment; filename="satisfaction-agent-90d.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Agent", "Average rating", "Ratings"],
        ["Mei", "4.67", "3"],
        ["Jun", "2.5", "2"],
    ]
    assert lead_client.get(REPORTS + "?csv=nothing").status_code == 404


def test_only_staff_with_the_analytics_permission_see_the_reports(agent_client, client, db):
    assert agent_client.get(REPORTS).status_code == 403
    assert client.get(REPORTS).status_code == 302  # to the login page


def test_an_unknown_period_falls_back_to_30_days(lead_client, db):
    html = lead_client.get(REPORTS + "?days=7").content.decode()
    assert "<strong>last 30 days</strong>" in html
