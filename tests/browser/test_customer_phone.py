"""The customer's side on a phone (issue 15), in Debian's Chromium at 390×844 and 320×640."""

from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from faq.models import Article, Category
from tests.browser.test_journey import accessibility_violations
from tests.helpers import load_help_content
from tests.tickets.factories import TicketFactory
from tickets.presence import mark_agent_online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONES = [pytest.param((390, 844), id="390x844"), pytest.param((320, 640), id="320x640")]
ERROR_RED = "rgb(179, 38, 30)"  # --error in static/css/site.css

# In the page: what a customer sees of a failed submit, as data the test can judge.
ERROR_STATE = """() => {
  const fields = [...document.querySelectorAll('[aria-invalid="true"]')];
  return {
    title: document.title,
    focused: document.activeElement && document.activeElement.id,
    summaryLinks: [...document.querySelectorAll('#error-summary a')].map(a => a.hash.slice(1)),
    fields: fields.map(el => ({
      name: el.name,
      type: el.type,
      border: getComputedStyle(el).borderTopColor,
      describedBy: (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean),
      missing: (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
        .filter(id => !document.getElementById(id)),
    })),
    missingTargets: [...document.querySelectorAll('#error-summary a')]
      .map(a => a.hash.slice(1)).filter(id => !document.getElementById(id)),
  };
}"""


@pytest.fixture(autouse=True)
def help_content():
    load_help_content()


@pytest.fixture(autouse=True)
def open_all_day(settings):
    settings.SUPPORT_HOURS = "00:00–24:00"


@pytest.fixture
def agent_online(make_staff):
    """Puts an agent at the chat console when called (the live server shares the cache)."""
    return lambda: mark_agent_online(make_staff("xiaoli", "agent"))


def public_pages() -> list[str]:
    article = Article.objects.published().filter(language="zh-hans").first()
    category = Category.objects.first()
    assert article is not None and category is not None
    pages = []
    for language in ("zh-hans", "en"):
        pages += [
            f"/{language}/",
            category.get_absolute_url().replace("/zh-hans/", f"/{language}/"),
            f"/{language}/search/?q=%E6%8F%90%E7%8E%B0",
            f"/{language}/search/?q=zzzzqqq",
            f"/{language}/contact/",
            f"/{language}/security/",
            f"/{language}/tickets/new/",
            f"/{language}/tickets/track/",
            f"/{language}/tickets/chat/",
        ]
    return [*pages, article.get_absolute_url()]


@pytest.mark.parametrize("size", PHONES)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_topics_start_in_the_first_screen(page: Page, live_server, size, language):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/{language}/")
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] < 70  # one row
    assert page.locator("#home-search").bounding_box()["y"] < height / 2  # type: ignore[index]
    categories = page.locator("#categories").bounding_box()
    assert categories is not None and categories["y"] < height - 60, categories
    # The notices are one line that opens.
    notices = page.locator(".notices-box")
    expect(notices.locator(".notice").first).to_be_hidden()
    notices.locator("summary").click()
    expect(notices.locator(".notice").first).to_be_visible()


TAP_TARGETS = (
    ".site-nav a, .language-switch a, .header-search-link, #categories .card-link, "
    ".need-help a, .site-footer a, .breadcrumb a, .channel-cards a, .hero-hint a"
)


@pytest.mark.parametrize("path", ["/zh-hans/", "/en/contact/", "/zh-hans/security/"])
def test_the_main_links_are_big_enough_to_tap(page: Page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    small = page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
             .filter(el => el.offsetParent !== null)
             .map(el => [el.textContent.trim(), el.getBoundingClientRect().height])
             .filter(([, height]) => height < 44)""",
        TAP_TARGETS,
    )
    assert small == []


@pytest.mark.parametrize("size", PHONES)
def test_no_public_page_scrolls_sideways(page: Page, live_server, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    wide = {}
    for path in public_pages():
        page.goto(f"{live_server.url}{path}")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide[path] = scroll_width
    assert wide == {}


def _submit_empty(page: Page, url: str, button: str) -> dict[str, Any]:
    page.goto(url)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return page.evaluate(ERROR_STATE)


def _assert_error_pattern(state: dict[str, Any], *, at_least: set[str]) -> None:
    assert state["title"].startswith("错误："), state["title"]
    assert state["focused"] == "error-summary"
    assert state["summaryLinks"] and state["missingTargets"] == []
    names = {field["name"] for field in state["fields"]}
    assert names >= at_least, names
    for field in state["fields"]:
        assert field["border"] == ERROR_RED, field
        if field["type"] != "radio":
            assert field["describedBy"] and field["missing"] == [], field


@pytest.mark.parametrize("size", PHONES)
def test_every_public_form_says_what_is_wrong(page: Page, live_server, size, agent_online):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    base = f"{live_server.url}/zh-hans/tickets"
    _assert_error_pattern(
        _submit_empty(page, f"{base}/new/", "发送"),
        at_least={"topic", "subject", "description", "email"},
    )
    assert accessibility_violations(page) == []
    _assert_error_pattern(
        _submit_empty(page, f"{base}/track/", "查看我的工单"), at_least={"reference", "email"}
    )
    agent_online()
    _assert_error_pattern(
        _submit_empty(page, f"{base}/chat/", "开始聊天"), at_least={"name", "email", "message"}
    )
    # The follow-up on a ticket, opened with its reference.
    ticket = TicketFactory.create(email="li.wei@example.com")
    page.goto(f"{base}/track/")
    page.locator("#id_reference").fill(ticket.reference)
    page.locator("#id_email").fill(ticket.email)
    page.get_by_role("button", name="查看我的工单").click()
    page.get_by_role("button", name="发送留言").click()
    page.wait_for_load_state()
    _assert_error_pattern(page.evaluate(ERROR_STATE), at_least={"body"})
    assert accessibility_violations(page) == []


def test_the_live_email_check_marks_the_field(page: Page, live_server):
    page.goto(f"{live_server.url}/zh-hans/tickets/new/")
    email = page.locator("#id_email")
    email.fill("li.wei@")
    email.blur()
    expect(email).to_have_attribute("aria-invalid", "true")
    assert email.evaluate("el => getComputedStyle(el).borderTopColor") == ERROR_RED
    email.fill("li.wei@example.com")
    email.blur()
    expect(email).not_to_have_attribute("aria-invalid", "true")


def test_the_chat_link_says_whether_someone_is_there(page: Page, live_server, agent_online):
    cache.clear()
    page.goto(f"{live_server.url}/zh-hans/contact/")
    card = page.locator("#chat")
    expect(card).to_have_attribute("data-chat", "no-agent")
    expect(card).not_to_contain_text("几分钟")
    assert accessibility_violations(page) == []
    card.get_by_role("link", name="留言").click()
    expect(page.locator("#chat-reason")).to_be_visible()
    expect(page.get_by_label("咨询")).to_be_checked()
    assert accessibility_violations(page) == []

    agent_online()
    page.goto(f"{live_server.url}/zh-hans/contact/")
    expect(page.locator("#chat")).to_have_attribute("data-chat", "open")
    expect(page.locator("#chat").get_by_role("link", name="开始聊天")).to_be_visible()

    # An article page comes from a cache: its chat line is loaded fresh.
    article = Article.objects.published().filter(language="zh-hans").first()
    assert article is not None
    page.goto(f"{live_server.url}{article.get_absolute_url()}")
    expect(page.locator("#need-help-chat")).to_have_attribute("data-chat", "open")
    cache.clear()
    page.reload()
    expect(page.locator("#need-help-chat")).to_have_attribute("data-chat", "no-agent")


def test_a_reference_typed_in_small_letters_without_dashes_is_found(page: Page, live_server):
    ticket = TicketFactory.create(email="li.wei@example.com", subject="提现三天没到账")
    typed = ticket.reference.replace("-", "").lower()  # okghc2tgd3
    page.goto(f"{live_server.url}/zh-hans/tickets/track/")
    page.locator("#id_reference").fill(typed)
    page.locator("#id_email").fill("li.wei@example.com")
    page.get_by_role("button", name="查看我的工单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提现三天没到账")
