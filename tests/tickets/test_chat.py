from datetime import timedelta

import pytest

from tests.helpers import queued_emails
from tickets.models import Channel, Kind, Message, Status, Ticket
from tickets.presence import mark_agent_online
from tickets.services import chat_take, ticket_reply

pytestmark = pytest.mark.django_db

START = "/en/tickets/chat/"
QUESTION = {"name": "Wang Fang", "email": "wang@example.com", "message": "My top-up is pending"}


@pytest.fixture(autouse=True)
def open_all_day(settings):
    settings.SUPPORT_HOURS = "00:00–24:00"


@pytest.fixture
def agent(make_staff):
    return make_staff("lili", "agent", first_name="Lili")


@pytest.fixture(autouse=True)
def agent_at_console(agent):
    mark_agent_online(agent)
    return agent


@pytest.fixture
def chat(client):
    response = client.post(START, QUESTION)
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/en/tickets/chat/{ticket.reference}/"
    return ticket


def poll(client, ticket, after=0):
    return client.get(
        f"/en/tickets/chat/{ticket.reference}/messages/",
        {"after": after},
        headers={"HX-Request": "true"},
    )


def test_starting_a_chat_makes_a_chat_ticket_in_the_queue(client, chat):
    assert (chat.channel, chat.kind, chat.status) == (Channel.CHAT, Kind.QUESTION, Status.NEW)
    assert (chat.name, chat.email, chat.description) == (
        "Wang Fang",
        "wang@example.com",
        "My top-up is pending",
    )
    page = client.get(f"/en/tickets/chat/{chat.reference}/").content.decode()
    assert "Waiting for an agent to join" in page and "My top-up is pending" in page
    assert 'hx-trigger="every 2s"' in page


def test_name_email_and_question_are_required(client):
    response = client.post(START, {"name": "", "email": "nope", "message": ""})
    html = response.content.decode()
    assert "Tell us what to call you." in html and "Enter a valid email address" in html
    assert not Ticket.objects.exists()


def test_a_poll_returns_only_what_is_new(client, chat, agent):
    chat_take(ticket=chat, agent=agent)
    first = ticket_reply(ticket=chat, author=agent, body="Hello, I am looking at it.")
    response = poll(client, chat)
    html = response.content.decode()
    assert "Hello, I am looking at it." in html
    assert "Lili is chatting with you." in html
    assert f'id="chat-after" name="after" value="{first.pk}"' in html  # the next poll's cursor

    second = ticket_reply(ticket=chat, author=agent, body="It has arrived now.")
    html = poll(client, chat, after=first.pk).content.decode()
    assert "It has arrived now." in html and "Hello, I am looking at it." not in html
    assert f'id="chat-after" name="after" value="{second.pk}"' in html


def test_agent_chat_replies_are_not_emailed_one_by_one(
    client, chat, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=chat, author=agent, body="Hi!")
    chat.refresh_from_db()
    assert chat.status == Status.OPEN and chat.first_response_at is not None
    assert "staff_replied" not in queued_emails()


def test_the_customer_sends_a_message_and_secrets_are_masked(client, chat):
    response = client.post(
        f"/en/tickets/chat/{chat.reference}/send/",
        {"body": "my code is 123456", "after": 0},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "my code is ******" in html and "123456" not in html
    assert Message.objects.get().body == "my code is ******"
    assert 'hx-swap-oob="beforeend:#transcript"' in html


def test_html_in_a_message_is_shown_as_text(client, chat):
    client.post(
        f"/en/tickets/chat/{chat.reference}/send/", {"body": "<img src=x onerror=alert(1)>"}
    )
    html = client.get(f"/en/tickets/chat/{chat.reference}/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_ending_the_chat_emails_the_transcript(
    client, chat, agent, django_capture_on_commit_callbacks
):
    ticket_reply(ticket=chat, author=agent, body="Glad to help.")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/en/tickets/chat/{chat.reference}/end/")
    chat.refresh_from_db()
    assert chat.status == Status.RESOLVED
    assert queued_emails()[-1:] == ["chat_transcript"]
    html = poll(client, chat, after=0).content.decode()
    assert "This chat has ended" in html and 'hx-trigger="every 2s"' not in html

    from tickets.emails import build_email

    email = build_email(chat, "chat_transcript")
    assert email is not None
    assert "My top-up is pending" in email.body and "Glad to help." in email.body


def test_outside_office_hours_the_ticket_form_gets_what_was_typed(client, settings):
    settings.SUPPORT_HOURS = "00:00–00:00"
    page = client.get(START).content.decode()
    assert "Start chat" not in page.split("<form")[1]
    response = client.post(START, QUESTION)
    assert response["Location"] == "/en/tickets/new/"
    form = client.get(response["Location"]).content.decode()
    assert "My top-up is pending" in form and 'value="wang@example.com"' in form
    assert not Ticket.objects.exists()


def test_another_browser_cannot_read_the_chat(chat):
    from django.test import Client

    stranger = Client()
    assert stranger.get(f"/en/tickets/chat/{chat.reference}/").status_code == 404
    assert stranger.get(f"/en/tickets/chat/{chat.reference}/messages/").status_code == 404
    assert (
        stranger.post(f"/en/tickets/chat/{chat.reference}/send/", {"body": "hi"}).status_code == 404
    )


def test_chat_needs_csrf(chat):
    from django.test import Client

    assert Client(enforce_csrf_checks=True).post(START, QUESTION).status_code == 403


def test_with_no_agent_at_the_console_the_ticket_form_gets_what_was_typed(client):
    from django.core.cache import cache

    cache.clear()
    page = client.get(START).content.decode()
    assert "No agent is at the online chat right now." in page
    assert "Start chat" not in page.split("<form")[1]
    response = client.post(START, {**QUESTION, "use": "chat"})
    assert response["Location"] == "/en/tickets/new/"
    assert "My top-up is pending" in client.get(response["Location"]).content.decode()
    assert not Ticket.objects.exists()


def test_after_the_chat_ended_a_message_is_refused_and_kept(client, chat, agent):
    from tickets.services import chat_end, chat_take

    chat_take(ticket=chat, agent=agent)
    chat_end(ticket=chat, actor=agent)
    html = client.post(
        f"/en/tickets/chat/{chat.reference}/send/",
        {"body": "One more question", "after": 0},
        headers={"HX-Request": "true"},
    ).content.decode()
    chat.refresh_from_db()
    assert chat.status == Status.RESOLVED  # not reopened behind the agent's back
    assert "The chat ended before this message was sent" in html and "One more question" in html
    assert 'id="chat-form"' not in html  # the box is gone, the follow-up link is there
    assert not chat.messages.filter(author_type=Message.Author.CUSTOMER).exists()


def test_customer_chat_messages_do_not_email_the_agent(
    client, chat, agent, django_capture_on_commit_callbacks
):
    from tickets.services import chat_take

    chat_take(ticket=chat, agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/en/tickets/chat/{chat.reference}/send/", {"body": "Still there?"})
    assert Message.objects.filter(body="Still there?").exists()
    assert "customer_replied" not in queued_emails()


def test_starting_a_chat_sends_no_24_hour_confirmation(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(START, QUESTION)
    assert Ticket.objects.get().channel == Channel.CHAT
    assert queued_emails() == []


def test_a_chat_nobody_takes_in_time_offers_the_form_with_what_was_typed(
    client, chat, settings, django_capture_on_commit_callbacks
):
    settings.TICKETS_CHAT_WAIT_MINUTES = 10
    window = f"/en/tickets/chat/{chat.reference}/"
    client.post(f"{window}send/", {"body": "Order 7731, still nothing"})
    assert "Send it as a message instead" not in client.get(window).content.decode()

    Ticket.objects.filter(pk=chat.pk).update(created_at=chat.created_at - timedelta(minutes=11))
    html = client.get(window).content.decode()
    assert "no agent has been free" in html and "Send it as a message instead" in html
    assert "Send it as a message instead" in poll(client, chat).content.decode()  # live, too

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{window}ticket/")
    assert response["Location"] == "/en/tickets/new/"
    form = client.get("/en/tickets/new/").context["form"]
    assert form["email"].value() == "wang@example.com"
    assert "My top-up is pending" in form["description"].value()
    assert "Order 7731, still nothing" in form["description"].value()
    chat.refresh_from_db()
    assert chat.is_finished


def test_a_taken_chat_never_offers_the_form(client, chat, agent, settings):
    chat_take(ticket=chat, agent=agent)
    Ticket.objects.filter(pk=chat.pk).update(created_at=chat.created_at - timedelta(minutes=30))
    html = client.get(f"/en/tickets/chat/{chat.reference}/").content.decode()
    assert "Send it as a message instead" not in html


def test_the_chat_form_has_the_honeypot_of_the_ticket_form(client):
    page = client.get(START).content.decode()
    assert 'class="hp-field"' in page and 'name="website"' in page
    response = client.post(START, {**QUESTION, "website": "http://spam.example"})
    assert response.status_code == 200
    assert "without autofill" in response.content.decode()
    assert not Ticket.objects.exists()


def test_chats_for_one_address_are_limited_whatever_the_ip(settings):
    from django.test import Client

    settings.TICKETS_RATE_PER_EMAIL = "2/3600"
    settings.TICKETS_RATE_PER_IP = "100/3600"
    answers = [
        Client(REMOTE_ADDR=f"198.51.100.{n}").post(START, QUESTION).status_code for n in range(4)
    ]
    assert answers == [302, 302, 429, 429]
    assert Ticket.objects.count() == 2
