"""A customer's way through the help centre, in Debian's Chromium against live_server."""

from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import Page, expect

from faq.models import ArticleFeedback
from tests.factories import ArticleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def accessibility_violations(page: Page) -> list[str]:
    page.evaluate(AXE_SOURCE)  # through the devtools protocol: the page's CSP does not apply
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    return [
        f"{violation['id']}: {violation['help']} -> {[n['target'] for n in violation['nodes']]}"
        for violation in result["violations"]
    ]


@pytest.fixture
def help_content(article_pair):
    zh_article, _en = article_pair
    ArticleFactory.create(category=zh_article.category, title="提现手续费是多少？", order=5)
    return zh_article


def test_home_to_category_to_article_then_a_no_vote_with_a_comment(
    page: Page, live_server, help_content
):
    page.goto(f"{live_server.url}/zh-hans/")
    assert accessibility_violations(page) == []

    page.locator("#categories").get_by_role("link").filter(has_text="提现").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提现")
    page.get_by_role("link", name=help_content.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(help_content.title)
    assert accessibility_violations(page) == []
    article_url = page.url

    page.get_by_role("button", name="没有帮助").click()
    comment_box = page.get_by_label("还缺少什么，或者哪里不清楚？")
    expect(comment_box).to_be_visible()
    assert page.url == article_url  # htmx swapped the box in place
    comment_box.fill("没有写周末是否到账")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("#feedback")).to_contain_text("谢谢")

    feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.comment) == (False, "没有写周末是否到账")


def test_the_vote_works_with_javascript_off(browser, live_server, help_content):
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/language/en/?next=/zh-hans/")
    page.locator("#categories").get_by_role("link").filter(has_text="Withdrawal").click()
    page.get_by_role("link", name="How long does a withdrawal take?").click()
    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_role("heading", name="Thanks for your feedback!")).to_be_visible()
    assert ArticleFeedback.objects.get().helpful is True
    context.close()
