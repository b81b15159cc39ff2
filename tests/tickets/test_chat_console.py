"""The agents' chat console in the admin: waiting chats, take, answer, hand over, end."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from tests.helpers import find, queued_emails
from tickets.models import Message, Status, Ticket
from tickets.presence import any_agent_online, online_agent_ids
from tickets.services import chat_start

pytestmark = pytest.mark.django_db

CONSOLE = "/admin/tickets/ticket/chat-console/"
UPDATES = CONSOLE + "updates/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def lili(make_staff):
    return make_staff("lili", "agent", first_name="Lili")


@pytest.fixture
def wang(make_staff):
    return make_staff("wang", "agent", first_name="Wang")


@pytest.fixture
def chat():
    return chat_start(
        name="Zhang Wei", email="zhang@example.com", message="充值一直没到账", language="zh-hans"
    )


def state_of(html: str) -> str:
    return find(r'id="console-state" name="shown" value="([^"]*)"', html).group(1)


def customer_view(chat: Ticket) -> str:
    return "\n".join(
        chat.messages.filter(is_internal=False).order_by("pk").values_list("body", flat=True)
    )


def test_the_console_is_for_chat_agents_only(client, chat, make_staff, client_for):
    assert client.get(CONSOLE)["Location"].startswith("/admin/login/")
    no_role = make_staff("intern", None, first_name="Intern")
    assert client_for(no_role).get(CONSOLE).status_code == 403
    assert client_for(no_role).get(UPDATES).status_code == 403
    assert client_for(no_role).post(f"{CONSOLE}{chat.pk}/take/").status_code == 403
    chat.refresh_from_db()
    assert chat.assignee is None


def test_an_agent_sees_waiting_chats_with_how_long_they_waited(lili, chat, client_for):
    Ticket.objects.filter(pk=chat.pk).update(created_at=chat.created_at - timedelta(minutes=4))
    html = client_for(lili).get(CONSOLE).content.decode()
    assert "1 chat waiting" in html
    assert "Zhang Wei" in html and "充值一直没到账" in html
    assert "waiting 4\xa0minutes" in html
    assert 'hx-trigger="every 2s"' in html


def test_opening_the_console_puts_the_agent_online(lili, wang, client_for):
    assert not any_agent_online()
    client_for(lili).get(CONSOLE)
    assert any_agent_online()
    assert online_agent_ids([lili.pk, wang.pk]) == {lili.pk}


def test_taking_a_chat_tells_the_customer_in_their_language(lili, chat, client_for):
    agent = client_for(lili)
    html = agent.post(f"{CONSOLE}{chat.pk}/take/", {"shown": ""}, headers=HTMX).content.decode()
    chat.refresh_from_db()
    assert chat.assignee == lili and chat.status == Status.OPEN
    assert f'id="chat-{chat.pk}"' in html  # the chat opens on the agent's console
    assert "0 chats waiting" in html
    assert "Lili 已加入对话。" in customer_view(chat)


def test_two_agents_cannot_take_the_same_chat(lili, wang, chat, client_for):
    client_for(lili).post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    html = client_for(wang).post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX).content.decode()
    chat.refresh_from_db()
    assert chat.assignee == lili
    assert "Lili has already taken this chat." in html


def test_updates_bring_each_new_customer_message_once(client, lili, chat, client_for):
    from tickets.services import ticket_add_customer_message

    agent = client_for(lili)
    agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    state = state_of(agent.get(CONSOLE).content.decode())
    ticket_add_customer_message(ticket=chat, body="订单号 TX-123")

    first = agent.get(UPDATES, {"shown": state}, headers=HTMX).content.decode()
    assert "订单号 TX-123" in first
    assert f'hx-swap-oob="beforeend:#transcript-{chat.pk}"' in first
    second = agent.get(UPDATES, {"shown": state_of(first)}, headers=HTMX).content.decode()
    assert "订单号 TX-123" not in second


def test_the_agent_answers_and_the_customer_sees_it(lili, chat, client_for):
    agent = client_for(lili)
    agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    state = state_of(agent.get(CONSOLE).content.decode())
    html = agent.post(
        f"{CONSOLE}{chat.pk}/send/", {"body": "正在为您查询", "shown": state}, headers=HTMX
    ).content.decode()
    assert "正在为您查询" in html  # appended to the agent's transcript
    assert "正在为您查询" in customer_view(chat)
    assert "staff_replied" not in queued_emails()


def test_an_empty_answer_is_refused_next_to_the_box(lili, chat, client_for):
    agent = client_for(lili)
    agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    html = agent.post(f"{CONSOLE}{chat.pk}/send/", {"body": "  "}, headers=HTMX).content.decode()
    assert f'id="reply-error-{chat.pk}"' in html and "Write a message before sending." in html
    assert not chat.messages.filter(author_type=Message.Author.STAFF).exists()


def test_only_the_agent_in_the_chat_answers_it(lili, wang, chat, client_for):
    client_for(lili).post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    html = (
        client_for(wang)
        .post(f"{CONSOLE}{chat.pk}/send/", {"body": "I will take over"}, headers=HTMX)
        .content.decode()
    )
    assert "Lili has this chat now" in html  # who has it, not "take it first"
    assert f'id="reply-body-{chat.pk}"' not in html  # the box, with what was typed, stays
    assert not chat.messages.filter(author_type=Message.Author.STAFF).exists()


def test_handing_a_chat_over(lili, wang, chat, client_for):
    lili_console, wang_console = client_for(lili), client_for(wang)
    lili_console.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    lili_state = state_of(lili_console.get(CONSOLE).content.decode())
    wang_state = state_of(wang_console.get(CONSOLE).content.decode())
    assert wang_state == ""

    html = lili_console.post(
        f"{CONSOLE}{chat.pk}/hand-over/", {"agent": wang.pk, "shown": lili_state}, headers=HTMX
    ).content.decode()
    chat.refresh_from_db()
    assert chat.assignee == wang
    assert "You handed this chat to Wang" in html  # Lili's console says so
    assert "Lili 将对话转给了 Wang。" in customer_view(chat)  # the customer's language
    assert chat.events.filter(field="assignee", new_value__contains="wang").exists()

    wang_html = wang_console.get(UPDATES, {"shown": wang_state}, headers=HTMX).content.decode()
    assert 'hx-swap-oob="beforeend:#my-chats"' in wang_html and "充值一直没到账" in wang_html


def test_a_chat_goes_only_to_an_agent_who_can_answer_it(lili, chat, make_staff, client_for):
    no_role = make_staff("intern", None, first_name="Intern")
    agent = client_for(lili)
    agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    state = state_of(agent.get(CONSOLE).content.decode())
    html = agent.post(
        f"{CONSOLE}{chat.pk}/hand-over/", {"agent": no_role.pk, "shown": state}, headers=HTMX
    ).content.decode()
    assert f'id="chat-alert-{chat.pk}"' in html and "That agent cannot answer chats." in html
    chat.refresh_from_db()
    assert chat.assignee == lili


def test_an_agent_cannot_hand_over_someone_elses_chat_but_a_lead_can(
    lili, wang, chat, make_staff, client_for
):
    client_for(lili).post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    client_for(wang).post(f"{CONSOLE}{chat.pk}/hand-over/", {"agent": wang.pk}, headers=HTMX)
    chat.refresh_from_db()
    assert chat.assignee == lili

    lead = make_staff("mei", "lead", first_name="Mei")
    client_for(lead).post(f"{CONSOLE}{chat.pk}/hand-over/", {"agent": wang.pk}, headers=HTMX)
    chat.refresh_from_db()
    assert chat.assignee == wang


def test_the_agent_ends_the_chat_and_the_transcript_is_emailed(
    lili, chat, django_capture_on_commit_callbacks, client_for
):
    agent = client_for(lili)
    agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    state = state_of(agent.get(CONSOLE).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        html = agent.post(
            f"{CONSOLE}{chat.pk}/end/", {"shown": state}, headers=HTMX
        ).content.decode()
    chat.refresh_from_db()
    assert chat.status == Status.RESOLVED
    assert "聊天已结束。" in customer_view(chat)
    assert queued_emails()[-1:] == ["chat_transcript"]
    assert f'id="chat-actions-{chat.pk}" hx-swap-oob="true"' in html  # the panel says so


def test_without_javascript_actions_return_to_the_console(lili, wang, chat, client_for):
    client_for(lili).post(f"{CONSOLE}{chat.pk}/take/")
    response = client_for(wang).post(f"{CONSOLE}{chat.pk}/take/", follow=True)
    assert response.redirect_chain[-1][0] == CONSOLE
    assert "Lili has already taken this chat." in response.content.decode()


def test_console_posts_need_csrf(lili, chat):
    agent = Client(enforce_csrf_checks=True)
    agent.force_login(lili)
    assert agent.post(f"{CONSOLE}{chat.pk}/take/").status_code == 403


def test_updates_take_a_fixed_number_of_queries(lili, django_assert_max_num_queries, client_for):
    agent = client_for(lili)
    chats = [
        chat_start(name=f"C{n}", email=f"c{n}@example.com", message="help", language="en")
        for n in range(8)
    ]
    for chat in chats[:4]:
        agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    state = state_of(agent.get(CONSOLE).content.decode())
    from tickets.services import ticket_add_customer_message

    for chat in chats[:4]:
        ticket_add_customer_message(ticket=chat, body="still there?")
    with django_assert_max_num_queries(7):
        html = agent.get(UPDATES, {"shown": state}, headers=HTMX).content.decode()
    assert html.count("still there?") == 4


def test_a_chat_handed_back_opens_again_on_the_console(lili, wang, chat, client_for):
    lili_console = client_for(lili)
    lili_console.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    state = state_of(lili_console.get(CONSOLE).content.decode())
    html = lili_console.post(
        f"{CONSOLE}{chat.pk}/hand-over/", {"agent": wang.pk, "shown": state}, headers=HTMX
    ).content.decode()
    state = state_of(html)
    assert state == ""
    client_for(wang).post(f"{CONSOLE}{chat.pk}/hand-over/", {"agent": lili.pk}, headers=HTMX)
    html = lili_console.get(UPDATES, {"shown": state}, headers=HTMX).content.decode()
    assert 'hx-swap-oob="beforeend:#my-chats"' in html and "Wang 将对话转给了 Lili。" in html


@pytest.mark.parametrize("shown", ["²:1", "1:²", "1:" + "9" * 5000, "x", ":", "1:2:3,,"])
def test_a_malformed_console_state_is_ignored(lili, chat, shown, client_for):
    response = client_for(lili).get(UPDATES, {"shown": shown}, headers=HTMX)
    assert response.status_code == 200 and "1 chat waiting" in response.content.decode()


@pytest.mark.parametrize(
    ("agent", "error"),
    [
        ("", "Choose the agent to hand the chat to."),
        ("abc", "That agent cannot answer chats."),
        ("999999", "That agent cannot answer chats."),
    ],
)
def test_a_hand_over_without_a_valid_agent_says_so(lili, chat, agent, error, client_for):
    client = client_for(lili)
    client.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    html = client.post(
        f"{CONSOLE}{chat.pk}/hand-over/", {"agent": agent, "shown": f"{chat.pk}:0"}, headers=HTMX
    ).content.decode()
    assert f'id="chat-alert-{chat.pk}"' in html and error in html
    chat.refresh_from_db()
    assert chat.assignee == lili


def test_colleagues_online_are_offered_first_for_a_hand_over(
    lili, wang, chat, make_staff, client_for
):
    make_staff("an", "agent", first_name="An")
    client_for(wang).get(CONSOLE)  # Wang opens the console: online
    agent = client_for(lili)
    agent.post(f"{CONSOLE}{chat.pk}/take/", headers=HTMX)
    html = agent.get(CONSOLE).content.decode()
    options = re.findall(r'<option value="\d+">([^<]+)</option>', html)
    assert options == ["Wang ●", "An"]


def test_a_lead_must_take_a_chat_before_answering_it(chat, make_staff, client_for):
    lead = make_staff("mei", "lead", first_name="Mei")
    html = (
        client_for(lead)
        .post(f"{CONSOLE}{chat.pk}/send/", {"body": "Hello"}, headers=HTMX)
        .content.decode()
    )
    assert "Take the chat first" in html
    assert not chat.messages.exists()


def test_the_chats_link_shows_only_to_staff_who_can_answer_chats(lili, make_staff, client_for):
    viewer = make_staff("viewer", None, first_name="Viewer")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    assert CONSOLE not in client_for(viewer).get("/admin/").content.decode()
    assert CONSOLE in client_for(lili).get("/admin/").content.decode()
