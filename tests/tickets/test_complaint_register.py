"""The complaint register: acknowledgement within working days, a final response within
calendar days, the queue's column and filter, the escalation, and the regulator's export."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.tickets.factories import TicketFactory
from tickets import register
from tickets.models import Kind, Priority, Status, Ticket, TicketEvent
from tickets.services import complaints_escalate_overdue

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
CHANGELIST = "/admin/tickets/ticket/"
REGISTER = "/admin/tickets/register/"


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def complaint(received: datetime, **fields) -> Ticket:
    ticket = TicketFactory.create(**fields)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=received)  # auto_now_add otherwise
    ticket.refresh_from_db()
    return ticket


def ack_overdue_at(moment: str) -> set[str]:
    overdue = Ticket.objects.complaint_ack_overdue(beijing(moment))
    return set(overdue.values_list("reference", flat=True))


def test_a_friday_complaint_is_acknowledged_in_time_until_monday_ends():
    friday = complaint(beijing("2026-11-27 10:00"))

    assert ack_overdue_at("2026-11-30 23:59") == set()  # the weekend does not count
    assert ack_overdue_at("2026-12-01 00:01") == {friday.reference}
    assert not register.clocks(friday, beijing("2026-11-30 23:59")).ack_late
    assert register.clocks(friday, beijing("2026-12-01 00:01")).ack_late


def test_national_day_holidays_do_not_count_towards_acknowledgement():
    before_holiday = complaint(beijing("2026-09-30 16:00"))  # 1-7 October are holidays

    assert ack_overdue_at("2026-10-08 20:00") == set()
    assert ack_overdue_at("2026-10-09 09:00") == {before_holiday.reference}


def test_a_reply_acknowledges_and_a_late_one_is_a_breach():
    received = beijing("2026-11-27 10:00")
    in_time = complaint(received, first_response_at=beijing("2026-11-30 18:00"))
    late = complaint(received, first_response_at=beijing("2026-12-01 09:00"))

    assert ack_overdue_at("2026-12-02 09:00") == set()
    assert register.clocks(in_time, beijing("2026-12-02 09:00")).breaches == []
    assert register.clocks(late, beijing("2026-12-02 09:00")).breaches == ["acknowledgement late"]


def test_the_final_response_is_due_within_fifteen_calendar_days():
    received = complaint(beijing("2026-11-01 10:00"), first_response_at=beijing("2026-11-02 09:00"))

    final_overdue = Ticket.objects.complaint_final_overdue
    assert not final_overdue(beijing("2026-11-16 23:00")).exists()
    assert list(final_overdue(beijing("2026-11-17 00:30"))) == [received]
    Ticket.objects.filter(pk=received.pk).update(
        status=Status.RESOLVED, resolved_at=beijing("2026-11-20 10:00")
    )
    assert not final_overdue(beijing("2026-11-21 00:30")).exists()
    received.refresh_from_db()
    assert register.clocks(received).breaches == ["final response late"]


def test_suggestions_and_questions_have_no_register_clocks():
    long_ago = beijing("2026-01-05 10:00")
    complaint(long_ago, kind=Kind.SUGGESTION)
    complaint(long_ago, kind=Kind.QUESTION)

    assert ack_overdue_at("2026-11-30 10:00") == set()
    assert not Ticket.objects.complaint_final_overdue(beijing("2026-11-30 10:00")).exists()


def test_the_queue_filters_complaints_by_their_register_state(agent_client):
    now = timezone.now()
    unanswered = complaint(now - timedelta(days=20), subject="Unanswered for weeks")
    answered = complaint(
        now - timedelta(days=20),
        subject="Answered, still open",
        first_response_at=now - timedelta(days=19),
        status=Status.OPEN,
    )
    fresh = complaint(now - timedelta(minutes=5), subject="Just arrived")
    complaint(now - timedelta(days=20), kind=Kind.SUGGESTION, subject="An old suggestion")

    def shown(query: str) -> set[str]:
        html = agent_client.get(CHANGELIST + query).content.decode()
        subjects = ["Unanswered for weeks", "Answered, still open", "Just arrived"]
        return {subject for subject in [*subjects, "An old suggestion"] if subject in html}

    assert shown("?register=ack") == {unanswered.subject}
    assert shown("?register=final") == {unanswered.subject, answered.subject}
    assert shown("?register=on-time") == {fresh.subject}
    html = agent_client.get(CHANGELIST).content.decode()
    assert "acknowledgement overdue" in html and "final response overdue" in html
    assert "acknowledge by" in html


def test_a_breach_escalates_the_priority_once_and_says_so_in_the_history():
    ticket = complaint(beijing("2026-11-27 10:00"), priority=Priority.NORMAL)
    monday_night, tuesday = beijing("2026-11-30 23:00"), beijing("2026-12-01 09:00")

    assert complaints_escalate_overdue(now=monday_night) == 0
    assert complaints_escalate_overdue(now=tuesday) == 1
    assert complaints_escalate_overdue(now=tuesday + timedelta(hours=1)) == 0

    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    events = TicketEvent.objects.filter(ticket=ticket)
    assert list(events.values_list("field", "old_value", "new_value")) == [
        ("register", "", "acknowledgement overdue"),
        ("priority", "normal", "high"),
    ]
    assert {event.actor_label for event in events} == {"register"}


def test_the_cron_command_escalates_each_breach_once():
    ticket = complaint(timezone.now() - timedelta(days=20), priority=Priority.NORMAL)

    call_command("escalate_overdue_complaints")
    call_command("escalate_overdue_complaints")

    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT  # both deadlines passed: one step each
    assert TicketEvent.objects.filter(ticket=ticket, field="priority").count() == 2


@pytest.fixture
def november(make_staff):
    agent = make_staff("agent-b", "agent")
    late = complaint(
        beijing("2026-11-02 09:30"),
        topic="withdrawal",
        first_response_at=beijing("2026-11-04 10:00"),
        resolved_at=beijing("2026-11-25 16:00"),
        status=Status.RESOLVED,
        assignee=agent,
    )
    in_time = complaint(
        beijing("2026-11-30 23:30"),  # 15:30 UTC: still November in Beijing
        topic="payment",
        first_response_at=beijing("2026-12-01 08:00"),
    )
    complaint(beijing("2026-11-10 10:00"), kind=Kind.SUGGESTION)
    complaint(beijing("2026-12-01 00:10"))  # December in Beijing, November in UTC
    return late, in_time


def test_the_register_lists_the_months_complaints_in_beijing_time(
    lead_client, november, django_assert_max_num_queries
):
    late, in_time = november
    for n in range(10):
        complaint(beijing(f"2026-11-{n + 10} 12:00"))

    # measured: 5 with 12 rows; the complaints are one query, however many
    with django_assert_max_num_queries(6):
        response = lead_client.get(REGISTER + "?from=2026-11-01&to=2026-11-30")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<th scope="row">') == 12
    assert "2026-11-02 09:30" in html and "2026-11-04 10:00" in html
    assert "2026-11-25 16:00" in html and "acknowledgement late; final response late" in html
    assert "2026-11-30 23:30" in html
    assert in_time.reference in html and late.reference in html


def test_the_register_downloads_as_csv(lead_client, november):
    late, in_time = november

    response = lead_client.get(REGISTER + "?from=2026-11-01&to=2026-11-30&format=csv")

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "reference,received,acknowledged,final response,outcome,topic,breaches"
    assert lines[1:] == [
        f"{late.reference},2026-11-02 09:30,2026-11-04 10:00,2026-11-25 16:00,Resolved,"
        "Withdrawal,acknowledgement late; final response late",
        f"{in_time.reference},2026-11-30 23:30,2026-12-01 08:00,,New,Payment & refund,",
    ]


def test_agents_cannot_open_the_register(agent_client, november):
    assert agent_client.get(REGISTER + "?from=2026-11-01&to=2026-11-30").status_code == 403
    assert agent_client.get(REGISTER + "?format=csv").status_code == 403


def test_a_wrong_date_range_is_explained_next_to_the_field(lead_client):
    response = lead_client.get(REGISTER + "?from=2026-11-31&to=2026-11-01")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="register-from-error"' in html and "Enter a valid date." in html
    reversed_range = lead_client.get(REGISTER + "?from=2026-11-30&to=2026-11-01")
    assert "The end date is before the start date." in reversed_range.content.decode()


def test_the_register_is_in_chinese_for_a_chinese_lead(client_for, lead, november):
    client = client_for(lead, "zh-hans")

    html = client.get(REGISTER + "?from=2026-11-01&to=2026-11-30").content.decode()

    assert "投诉登记簿" in html and "最终答复时间" in html
    assert "受理超时；最终答复超时" in html
