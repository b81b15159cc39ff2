"""The file field lists what the customer chose and removes one; Esc closes live results."""

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.test_journey import accessibility_violations
from tests.tickets.conftest import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_chosen_files_are_listed_and_one_can_be_removed(page: Page, live_server):
    page.goto(f"{live_server.url}/zh-hans/tickets/new/")
    picker = page.locator("#id_attachments")
    picker.set_input_files(
        files=[
            FilePayload(name="提现记录.png", mimeType="image/png", buffer=png_bytes()),
            FilePayload(name="bank.png", mimeType="image/png", buffer=png_bytes()),
        ]
    )
    chosen = page.locator("#id_attachments-chosen li")
    expect(chosen).to_have_count(2)
    expect(chosen.first).to_contain_text("提现记录.png")
    assert accessibility_violations(page) == []

    page.get_by_role("button", name="移除“提现记录.png”").click()
    expect(chosen).to_have_count(1)
    expect(chosen.first).to_contain_text("bank.png")
    assert picker.evaluate("input => input.files.length") == 1
    expect(picker).to_be_focused()


def test_escape_closes_the_live_results_and_keeps_the_box(page: Page, live_server, article_pair):
    zh_article, _en = article_pair
    page.goto(f"{live_server.url}/zh-hans/")
    box = page.locator("#home-search")
    box.press_sequentially("提现", delay=50)
    panel = page.locator("#home-search-live")
    expect(panel.get_by_role("link", name=zh_article.title)).to_be_visible()
    box.press("Escape")
    expect(panel).to_be_empty()
    expect(box).to_be_focused()
    expect(box).to_have_value("提现")
