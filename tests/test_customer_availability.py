"""The chat links say whether someone can answer now, and a closed chat leads to a message."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.helpers import en, find, zh
from tickets.availability import ChatAvailability, chat_status
from tickets.models import Kind, Ticket
from tickets.presence import mark_agent_online

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
QUESTION = {"name": "Wang Fang", "email": "wang@example.com", "message": "My top-up is pending"}
MINUTES_PROMISE = "within minutes"


@pytest.fixture
def agent_online(make_staff):
    mark_agent_online(make_staff("lili", "agent", first_name="Lili"))


@pytest.fixture
def open_all_day(settings):
    settings.SUPPORT_HOURS = "00:00–24:00"


@pytest.fixture
def closed_for_now(settings):
    """Support hours that do not include this moment; what the page says of the opening."""
    hour = timezone.localtime().hour
    if hour < 21:
        settings.SUPPORT_HOURS = f"{hour + 2:02d}:00–{hour + 3:02d}:00"
        return f"opens today at {hour + 2:02d}:00"
    settings.SUPPORT_HOURS = "01:00–02:00"
    return "opens tomorrow at 01:00"


@pytest.fixture(autouse=True)
def nobody_online():
    cache.clear()


def test_after_hours_the_next_opening_is_tomorrow_morning(settings):
    settings.SUPPORT_HOURS = "09:00–21:00"
    late = chat_status(datetime(2026, 12, 1, 22, 30, tzinfo=BEIJING))
    assert late.availability == ChatAvailability.AFTER_HOURS
    assert late.opens_at == datetime(2026, 12, 2, 9, 0, tzinfo=BEIJING)
    assert not late.opens_today
    early = chat_status(datetime(2026, 12, 1, 7, 5, tzinfo=BEIJING))
    assert early.opens_at == datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING) and early.opens_today


def test_within_hours_without_an_agent_nobody_is_promised(settings):
    settings.SUPPORT_HOURS = "09:00–21:00"
    status = chat_status(datetime(2026, 12, 1, 16, 30, tzinfo=BEIJING))
    assert status.availability == ChatAvailability.NO_AGENT and status.opens_at is None


@pytest.mark.parametrize("page", ["faq:home", "faq:contact"])
def test_with_an_agent_online_the_pages_offer_the_chat(client, open_all_day, agent_online, page):
    html = client.get(en(page)).content.decode()
    assert 'data-chat="open"' in html
    assert en("tickets:chat-start") in html


@pytest.mark.parametrize("page", ["faq:home", "faq:contact", "faq:security"])
def test_with_nobody_online_no_page_promises_minutes(client, open_all_day, page):
    html = client.get(en(page)).content.decode()
    assert MINUTES_PROMISE not in html and "within a few minutes" not in html
    assert "No agent is at the online chat right now." in html
    assert f"{en('tickets:new')}?kind=question&amp;from=chat" in html


def test_after_hours_the_contact_page_gives_the_opening_time(client, closed_for_now):
    html = client.get(en("faq:contact")).content.decode()
    assert f"Online chat is closed now and {closed_for_now} (Beijing time)." in html
    assert 'data-chat="after-hours"' in html


def test_a_cached_article_page_loads_the_chat_state_as_a_fragment(
    client, open_all_day, article_pair, make_staff
):
    """The article is rendered once per worker: it must not keep "agents online" in it."""
    mark_agent_online(make_staff("lili", "agent"))
    url = en("faq:article-detail", "withdrawal-time")
    first = client.get(url).content.decode()
    status_url = en("tickets:chat-status")
    assert f'data-hx-get="{status_url}"' in first and MINUTES_PROMISE not in first
    assert 'data-chat="open"' in client.get(status_url).content.decode()

    cache.clear()  # the agent closes the console
    assert client.get(url).content.decode().count(status_url) == 1
    fragment = client.get(status_url)
    assert 'data-chat="no-agent"' in fragment.content.decode()
    assert "no-cache" in fragment["Cache-Control"]


def test_a_closed_chat_carries_the_question_to_the_form_as_a_question(client, open_all_day):
    page = client.get(en("tickets:chat-start")).content.decode()
    assert "No agent is at the online chat right now." in page
    response = client.post(en("tickets:chat-start"), {**QUESTION, "use": "chat"})
    assert response["Location"] == en("tickets:new")

    form_page = client.get(response["Location"])
    form = form_page.context["form"]
    assert form["kind"].value() == Kind.QUESTION
    assert form["email"].value() == "wang@example.com"
    assert form["description"].value() == "My top-up is pending"
    html = form_page.content.decode()
    assert 'id="chat-reason"' in html and "No agent is at the online chat right now." in html
    assert _checked(html, "question")
    assert not Ticket.objects.exists()


def test_leave_a_message_link_chooses_question_and_says_why(client, open_all_day):
    html = client.get(f"{zh('tickets:new')}?kind=question&from=chat").content.decode()
    assert "在线客服" in find(r'id="chat-reason".*?</div>', html).group()
    assert _checked(html, "question") and not _checked(html, "complaint")


def _checked(html: str, value: str) -> bool:
    return bool(re.search(rf'<input type="radio" name="kind" value="{value}"[^>]* checked', html))
