"""A support team at work: two agents (and a lead) logged in at once, on the same tickets."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.helpers import queued_emails
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.models import Channel, Message, Priority, Status, Ticket
from tickets.services import chat_take, ticket_reply

CHANGELIST = "/admin/tickets/ticket/"


def change_url(ticket: Ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def open_page(client, ticket: Ticket) -> dict[str, str]:
    """Load the ticket page as an agent's browser does, and return the form it would post."""
    response = client.get(change_url(ticket))
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name in ["status", "priority", "assignee", "seen", "reply_kind", "status_after_reply"]:
        value = form[name].value()
        data[name] = "" if value is None else str(value)
    data["reply"] = ""
    return data


def save(client, ticket: Ticket, page: dict[str, str], **changes: object):
    return client.post(change_url(ticket), {**page, **changes})


def form_errors(response) -> dict[str, list[str]]:
    return response.context["adminform"].form.errors


@pytest.fixture
def agent_b(make_staff):
    return make_staff("agent-b", "agent")


@pytest.fixture
def b_client(client_for, agent_b):
    return client_for(agent_b)


# --- no lost words ----------------------------------------------------------------------------


def test_a_reply_on_a_resolved_ticket_is_sent_and_the_ticket_stays_resolved(
    agent_client, agent, django_capture_on_commit_callbacks
):
    ticket = TicketFactory.create(status=Status.RESOLVED, assignee=agent)
    page = open_page(agent_client, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        response = save(agent_client, ticket, page, reply="One more detail for you.")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.messages.get().body == "One more detail for you."
    assert queued_emails() == ["staff_replied"]
    followed = agent_client.get(response["Location"]).content.decode()
    assert "errornote" not in followed and "cannot go from" not in followed


def test_status_after_the_reply_offers_only_what_the_current_status_allows(agent_client, agent):
    ticket = TicketFactory.create(status=Status.CLOSED, assignee=agent)
    html = agent_client.get(change_url(ticket)).content.decode()
    select = re.search(r'<select name="status_after_reply".*?</select>', html, re.S)
    assert select is not None
    offered = re.findall(r'<option value="(\w*)"', select.group())
    assert offered == ["", "open", "closed"]


def test_a_refused_save_keeps_everything_typed_and_changes_nothing(
    agent_client, b_client, agent, agent_b
):
    ticket = TicketFactory.create(status=Status.OPEN)
    page_a = open_page(agent_client, ticket)
    page_b = open_page(b_client, ticket)
    assert save(agent_client, ticket, page_a, status=Status.WAITING).status_code == 302

    # B's page still says Open; B sets Resolved, raises the priority and types a reply.
    response = save(
        b_client,
        ticket,
        page_b,
        status=Status.RESOLVED,
        priority=Priority.HIGH,
        reply="Long careful answer that must not be lost.",
    )
    assert response.status_code == 200
    errors = form_errors(response)
    assert "agent-a set this to “Waiting on customer” at" in errors["status"][0]
    html = response.content.decode()
    assert "Long careful answer that must not be lost." in html
    assert "was changed successfully" not in html
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING  # A's change stands
    assert ticket.priority == Priority.NORMAL  # and nothing of B's save happened
    assert not ticket.messages.exists()

    # The page now shows A's status; saving it again sends B's reply and priority on top.
    again = {**open_page(b_client, ticket), **{"priority": Priority.HIGH}}
    again["seen"] = response.context["adminform"].form["seen"].value()
    again["status"] = response.context["adminform"].form["status"].value()
    response = save(b_client, ticket, again, reply="Long careful answer that must not be lost.")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert ticket.messages.get().body.startswith("Long careful answer")


def test_a_stale_page_changes_only_what_its_agent_changed(agent_client, b_client):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    page_a = open_page(agent_client, ticket)
    page_b = open_page(b_client, ticket)
    save(agent_client, ticket, page_a, status=Status.OPEN, reply="Reopened: we found more.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN

    # B's page still says Resolved. B only raises the priority and leaves a note.
    response = save(
        b_client,
        ticket,
        page_b,
        priority=Priority.URGENT,
        reply="Finance is on it",
        reply_kind="internal",
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # not undone to Resolved
    assert ticket.priority == Priority.URGENT
    assert not ticket.events.filter(field="status", old_value="open", new_value="resolved")
    assert [m.body for m in ticket.messages.all()] == [
        "Reopened: we found more.",
        "Finance is on it",
    ]


# --- assignment -------------------------------------------------------------------------------


def test_saving_a_colleagues_ticket_keeps_its_assignee(agent_client, agent_b):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent_b)
    response = agent_client.get(change_url(ticket))
    field = response.context["adminform"].form["assignee"]
    assert field.value() == agent_b.pk
    assert "agent-b" in str(field)  # the menu shows the real assignee
    page = open_page(agent_client, ticket)
    page["assignee"] = ""  # even a forged blank is ignored: the field is not hers to change
    response = save(agent_client, ticket, page, reply="Checked the logs", reply_kind="internal")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent_b
    assert not ticket.events.filter(field="assignee").exists()


def test_an_agent_cannot_take_a_colleagues_ticket_from_the_queue(agent_client, agent_b):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent_b)
    response = agent_client.post(
        f"{CHANGELIST}?queue=anyone",
        {"action": "assign_to_me", "_selected_action": [ticket.pk], "index": 0},
        follow=True,
    )
    html = response.content.decode()
    assert "agent-b holds this ticket" in html
    assert "assigned to you" not in html
    ticket.refresh_from_db()
    assert ticket.assignee == agent_b


def test_an_agent_cannot_take_a_chat_a_colleague_is_in(agent_client, agent_b):
    chat = TicketFactory.create(channel=Channel.CHAT, kind="question", topic="other")
    chat_take(ticket=chat, agent=agent_b)
    response = agent_client.post(
        f"{CHANGELIST}?queue=anyone",
        {"action": "assign_to_me", "_selected_action": [chat.pk], "index": 0},
        follow=True,
    )
    assert "chat console" in response.content.decode()
    chat.refresh_from_db()
    assert chat.assignee == agent_b
    page = open_page(agent_client, chat)
    assert agent_client.get(change_url(chat)).context["adminform"].form["assignee"].field.disabled
    save(agent_client, chat, page, assignee="")
    chat.refresh_from_db()
    assert chat.assignee == agent_b


def test_an_agent_hands_her_ticket_to_a_colleague_with_a_note(agent_client, agent, agent_b):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    page = open_page(agent_client, ticket)
    response = save(
        agent_client,
        ticket,
        page,
        assignee=agent_b.pk,
        reply="Over to you: the bank replied",
        reply_kind="internal",
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent_b
    assert ticket.messages.get().is_internal


def test_a_lead_reassigns_anyones_ticket(lead_client, agent, agent_b):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    page = open_page(lead_client, ticket)
    assert save(lead_client, ticket, page, assignee=agent_b.pk).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent_b


# --- the queue --------------------------------------------------------------------------------


def _subjects_in_order(html: str, subjects: list[str]) -> list[str]:
    found = [(html.find(f">{subject}<"), subject) for subject in subjects]
    return [subject for position, subject in sorted(found) if position >= 0]


def test_the_default_queue_is_the_teams_to_do_list_most_urgent_first(agent_client, agent, lead):
    now = timezone.now()

    def ticket(subject: str, age_hours: float, **fields: object) -> Ticket:
        made = TicketFactory.create(subject=subject, **fields)
        Ticket.objects.filter(pk=made.pk).update(created_at=now - timedelta(hours=age_hours))
        return made

    ticket("Normal new", 1)
    ticket("Urgent new", 0.5, priority=Priority.URGENT)
    ticket("Normal overdue", 30)
    ticket("Mine open", 2, assignee=agent, status=Status.OPEN)
    ticket("Unassigned open", 3, status=Status.OPEN)
    answered = ticket("Normal answered long ago", 40, status=Status.WAITING)
    Ticket.objects.filter(pk=answered.pk).update(first_response_at=now - timedelta(hours=39))
    ticket("Someone else's", 1, assignee=lead, status=Status.OPEN)
    ticket("Mine resolved", 1, assignee=agent, status=Status.RESOLVED)
    html = agent_client.get(CHANGELIST).content.decode()
    everything = [
        "Urgent new", "Normal overdue", "Unassigned open", "Mine open", "Normal new",
        "Normal answered long ago", "Someone else's", "Mine resolved",
    ]  # fmt: skip
    assert _subjects_in_order(html, everything) == everything[:6]


def test_sorting_by_priority_goes_by_rank(agent_client):
    for priority in [Priority.NORMAL, Priority.URGENT, Priority.LOW, Priority.HIGH]:
        TicketFactory.create(subject=f"P {priority}", priority=priority)
    subjects = [f"P {p}" for p in Priority.values]
    html = agent_client.get(CHANGELIST, {"queue": "anyone", "o": "5"}).content.decode()
    assert _subjects_in_order(html, subjects) == ["P urgent", "P high", "P normal", "P low"]
    html = agent_client.get(CHANGELIST, {"queue": "anyone", "o": "-5"}).content.decode()
    assert _subjects_in_order(html, subjects) == ["P low", "P normal", "P high", "P urgent"]


def test_the_queue_flags_tickets_where_the_customer_wrote_last(agent_client, agent):
    ours = TicketFactory.create(subject="Customer answered", status=Status.OPEN, assignee=agent)
    ticket_reply(ticket=ours, author=agent, body="Please send a screenshot")
    MessageFactory.create(ticket=ours, author_type=Message.Author.CUSTOMER, author=None)
    theirs = TicketFactory.create(subject="We asked", status=Status.OPEN, assignee=agent)
    ticket_reply(ticket=theirs, author=agent, body="Please send a screenshot")
    html = agent_client.get(CHANGELIST, {"queue": "anyone"}).content.decode()
    rows = {
        subject: row
        for row in html.split("<tr")
        for subject in [ours.subject, theirs.subject]
        if f">{subject}<" in row
    }
    assert "awaiting us" in rows[ours.subject]
    assert "awaiting us" not in rows[theirs.subject]
    assert "Waiting on customer" in rows[theirs.subject]


def test_the_queue_page_costs_a_fixed_number_of_queries(
    agent_client, agent, django_assert_max_num_queries
):
    for number in range(60):
        made = TicketFactory.create(
            subject=f"Ticket {number}", assignee=agent if number % 2 else None
        )
        MessageFactory.create(ticket=made)
    with django_assert_max_num_queries(10):
        response = agent_client.get(CHANGELIST)
    assert response.content.decode().count('class="field-reference"') >= 60


# --- who else is here --------------------------------------------------------------------------


def test_each_agent_sees_who_else_has_the_ticket_open_and_typing(agent_client, b_client, agent):
    ticket = TicketFactory.create(status=Status.OPEN)
    presence_url = reverse("admin:tickets_ticket_presence", args=[ticket.pk])
    assert agent_client.post(presence_url, {"typing": "1"}).status_code == 200
    seen_by_b = b_client.post(presence_url, {"typing": "0"}).content.decode()
    assert "agent-a" in seen_by_b and "typing" in seen_by_b
    seen_by_a = agent_client.post(presence_url, {"typing": "0"}).content.decode()
    assert "agent-b" in seen_by_a and "typing" not in seen_by_a
    assert "agent-a" in b_client.get(change_url(ticket)).content.decode()
    queue = b_client.get(CHANGELIST).content.decode()
    row = next(row for row in queue.split("<tr") if ticket.reference in row)
    assert "agent-a" in row
    # Leaving the page removes the mark at once.
    agent_client.post(presence_url, {"leaving": "1"})
    assert "agent-a" not in b_client.post(presence_url).content.decode()


def test_a_mark_is_gone_within_a_minute(agent_client, b_client, monkeypatch):
    import time

    ticket = TicketFactory.create()
    presence_url = reverse("admin:tickets_ticket_presence", args=[ticket.pk])
    agent_client.post(presence_url)
    later = time.time() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert "agent-a" not in b_client.post(presence_url).content.decode()


# --- history and export -------------------------------------------------------------------------


def test_history_shows_labels_local_time_and_the_conversation(agent_client, agent, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    ticket = TicketFactory.create(status=Status.NEW)
    page = open_page(agent_client, ticket)
    save(agent_client, ticket, page, priority=Priority.URGENT, reply="On it", reply_kind="internal")
    html = agent_client.get(change_url(ticket)).content.decode()
    history = html[html.index('class="ticket-history"') :]
    assert "Priority: Normal → Urgent" in history
    assert "Internal note" in history and "On it" in history
    event = ticket.events.get(field="priority")
    local = timezone.localtime(event.created_at, timezone.get_default_timezone())
    assert local.strftime("%Y-%m-%d %H:%M") in history
    assert "normal →" not in history and "+00:00" not in history


def test_the_csv_export_uses_labels_and_leaves_empty_cells_empty(lead_client):
    ticket = TicketFactory.create(
        subject="=HYPERLINK(1)", transaction_reference="", status=Status.OPEN
    )
    response = lead_client.post(
        CHANGELIST,
        {"action": "export_csv", "_selected_action": [ticket.pk], "index": 0, "queue": "anyone"},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, row = rows[0], rows[1]
    cell = dict(zip(header, row, strict=True))
    assert cell["Status"] == "Open" and cell["Priority"] == "Normal"
    assert cell["Subject"] == "'=HYPERLINK(1)"
    assert cell["Transaction reference"] == ""
    assert cell["First response"] == "" and cell["Assignee"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", cell["Created"])


# --- e-mail and chats ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes its connection (PostgreSQL)
def test_staff_email_subjects_are_not_html_escaped(
    agent, run_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    from tickets.services import ticket_add_customer_message

    ticket = TicketFactory.create(subject='Refund & "fees"', assignee=agent, status=Status.OPEN)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_add_customer_message(ticket=ticket, body="Any news?")
    run_tasks()
    assert mailoutbox[-1].subject.endswith('Refund & "fees"')


# --- found in review ----------------------------------------------------------------------------


def test_saving_again_after_a_conflict_keeps_the_colleagues_other_changes(
    agent_client, lead_client
):
    ticket = TicketFactory.create(status=Status.OPEN)
    page_agent = open_page(agent_client, ticket)
    page_lead = open_page(lead_client, ticket)
    save(lead_client, ticket, page_lead, status=Status.WAITING, priority=Priority.HIGH)
    refused = save(agent_client, ticket, page_agent, status=Status.RESOLVED)
    form = refused.context["adminform"].form
    assert "status" in form.errors
    again = {name: str(form[name].value() or "") for name in ["status", "priority", "seen"]}
    response = save(agent_client, ticket, {**page_agent, **again}, reply="Noted, thanks")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.WAITING, Priority.HIGH)  # nothing reverted


def test_a_lead_saving_a_ticket_of_someone_who_left_keeps_the_assignee(lead_client, make_staff):
    leaver = make_staff("gone", "agent")
    ticket = TicketFactory.create(status=Status.OPEN, assignee=leaver)
    leaver.is_active = False
    leaver.save()
    page = open_page(lead_client, ticket)
    assert page["assignee"] == str(leaver.pk)
    response = save(lead_client, ticket, page, reply="Who takes this?", reply_kind="internal")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == leaver


def test_a_reply_to_an_ended_chat_is_e_mailed_and_does_not_reopen_it(
    agent_client, agent, django_capture_on_commit_callbacks
):
    chat = TicketFactory.create(
        channel=Channel.CHAT, kind="question", topic="other", status=Status.RESOLVED
    )
    page = open_page(agent_client, chat)
    with django_capture_on_commit_callbacks(execute=True):
        save(agent_client, chat, page, reply="One more thing about your top-up")
    chat.refresh_from_db()
    assert chat.status == Status.RESOLVED and not chat.is_live_chat
    assert queued_emails() == ["staff_replied"]


def test_the_ticket_page_cannot_answer_or_end_a_colleagues_live_chat(agent_client, agent_b):
    chat = TicketFactory.create(channel=Channel.CHAT, kind="question", topic="other")
    chat_take(ticket=chat, agent=agent_b)
    chat.refresh_from_db()
    page = open_page(agent_client, chat)
    response = save(agent_client, chat, page, reply="I'll answer instead")
    assert "agent-b has this chat now" in " ".join(form_errors(response)["reply"])
    response = save(agent_client, chat, open_page(agent_client, chat), status=Status.RESOLVED)
    assert response.status_code == 200
    chat.refresh_from_db()
    assert chat.status == Status.OPEN and chat.is_live_chat
    assert not chat.messages.filter(author_type=Message.Author.STAFF).exists()


@pytest.mark.parametrize("seen", ["²:open:normal:", "1" * 5000 + ":open:normal:", "x", ""])
def test_a_forged_page_version_is_an_error_not_a_500(agent_client, seen):
    ticket = TicketFactory.create(status=Status.OPEN)
    page = open_page(agent_client, ticket)
    response = save(agent_client, ticket, {**page, "seen": seen}, reply="hello")
    assert response.status_code == 200
    assert "Reload it" in response.content.decode()
    assert not ticket.messages.exists()
