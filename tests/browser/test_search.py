"""Searching as a customer does, in Debian's Chromium against live_server."""

import re

import pytest
from playwright.sync_api import Page, expect

from faq.models import SearchQuery
from tests.browser.test_journey import accessibility_violations
from tests.factories import ArticleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def help_content(article_pair):
    zh_article, _en = article_pair
    ArticleFactory.create(category=zh_article.category, title="提现手续费是多少？", order=5)
    ArticleFactory.create(
        title="怎么充值？", summary="支持银行转账。", keywords="充值", body="看这里。"
    )
    return zh_article


def test_live_results_as_the_customer_types_then_enter_for_the_full_page(
    page: Page, live_server, help_content
):
    page.goto(f"{live_server.url}/zh-hans/")
    box = page.locator("#home-search")
    box.press_sequentially("提现", delay=50)

    panel = page.locator("#home-search-live")
    expect(panel.get_by_role("link", name=help_content.title)).to_be_visible()
    expect(panel.locator("mark").first).to_have_text("提现")
    expect(panel).not_to_contain_text("怎么充值")
    expect(page).to_have_url(re.compile(r"/zh-hans/search/\?q=%E6%8F%90%E7%8E%B0$"))
    assert accessibility_violations(page) == []

    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("搜索帮助中心")
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name=help_content.title)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/zh-hans/search/\?q=%E6%8F%90%E7%8E%B0$"))
    assert accessibility_violations(page) == []
    assert SearchQuery.objects.get().query == "提现"  # typing plus Enter: one search

    results.get_by_role("link", name=help_content.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(help_content.title)
    assert SearchQuery.objects.get().opened_slug == help_content.slug


def test_typing_on_the_search_page_refreshes_its_results(page: Page, live_server, help_content):
    page.goto(f"{live_server.url}/zh-hans/search/?q=%E6%8F%90%E7%8E%B0")
    box = page.locator("#page-search")
    box.fill("充值")
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name="怎么充值？")).to_be_visible()
    expect(results).not_to_contain_text(help_content.title)
    expect(page).to_have_url(re.compile(r"/zh-hans/search/\?q=%E5%85%85%E5%80%BC$"))


def test_search_works_with_javascript_off(browser, live_server, help_content):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/zh-hans/")
    page.locator("#home-search").fill("提现多久到账")
    page.locator("#home-search").press("Enter")
    expect(page.locator("#search-results").get_by_role("link").first).to_have_text(
        help_content.title
    )
    context.close()
