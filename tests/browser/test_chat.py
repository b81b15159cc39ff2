"""A customer and an agent chat live, each in their own browser."""

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser.test_journey import accessibility_violations
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 5_000  # each side sees the other's message within 5 seconds


@pytest.fixture(autouse=True)
def open_all_day(settings):
    settings.SUPPORT_HOURS = "00:00–24:00"


@pytest.fixture
def console(browser: Browser, live_server, make_staff):
    """An agent logged in to the chat console, in a browser of their own."""
    make_staff("xiaoli", "agent", first_name="小李", password="a-long-test-passphrase")
    context = browser.new_context(locale="zh-CN")
    console = context.new_page()
    console.goto(f"{live_server.url}/admin/login/?next=/admin/tickets/ticket/chat-console/")
    console.locator("#id_username").fill("xiaoli")
    console.locator("#id_password").fill("a-long-test-passphrase")
    console.locator("#login-form [type=submit]").click()
    expect(console.locator("#waiting-chats")).to_contain_text("目前没有人在等待")
    yield console
    context.close()  # stop its polling before the live server goes away


def test_a_customer_and_an_agent_chat_live(page: Page, console: Page, live_server):
    page.goto(f"{live_server.url}/zh-hans/contact/")
    page.locator("#chat").get_by_role("link", name="开始聊天").click()
    page.get_by_label("您的姓名").fill("张伟")
    page.get_by_label("邮箱").fill("zhang@example.com")
    page.get_by_label("您的问题").fill("我的充值一直没到账")
    page.get_by_role("button", name="开始聊天").click()
    expect(page.locator("#chat-status")).to_contain_text("正在等待客服接入")
    chat = Ticket.objects.get()

    waiting = console.locator("#waiting-chats")
    expect(waiting).to_contain_text("张伟", timeout=LIVE)
    expect(waiting).to_contain_text("我的充值一直没到账")
    waiting.get_by_role("button", name="接入与 张伟 的对话").click()
    panel = console.locator(f"#chat-{chat.pk}")
    expect(panel).to_contain_text("我的充值一直没到账")
    assert accessibility_violations(console) == []

    expect(page.locator("#chat-status")).to_contain_text("小李", timeout=LIVE)
    console.get_by_label("回复 张伟").fill("您好，我来帮您查一下。")
    console.get_by_label("回复 张伟").press("Enter")
    expect(page.locator("#transcript")).to_contain_text("您好，我来帮您查一下。", timeout=LIVE)
    expect(console.get_by_label("回复 张伟")).to_have_value("")

    page.locator("#chat-body").fill("订单号是 TX-20261124-7")
    page.get_by_role("button", name="发送").click()
    expect(panel.locator(".console-transcript")).to_contain_text("TX-20261124-7", timeout=LIVE)
    expect(page.locator("#chat-body")).to_have_value("")
    # Each line arrives once, however the polls and the sends interleave.
    expect(page.locator("#transcript li", has_text="您好，我来帮您查一下。")).to_have_count(1)
    expect(panel.locator("li", has_text="TX-20261124-7")).to_have_count(1)

    # Ending asks first: dismissed, the chat goes on; accepted, it ends.
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    console.once("dialog", dismiss)
    panel.get_by_role("button", name="结束聊天").click()
    assert asked and "张伟" in asked[0]
    console.wait_for_timeout(1000)  # a request the dismissal failed to stop would be in by now
    chat.refresh_from_db()
    assert chat.is_live_chat
    console.once("dialog", accept)
    panel.get_by_role("button", name="结束聊天").click()
    expect(page.locator("#chat-status")).to_contain_text("聊天已结束", timeout=LIVE)
    expect(page.locator("#chat-form")).to_have_count(0)  # nothing more can be sent into it
    expect(console.locator(f"#chat-{chat.pk}")).to_contain_text("这个对话已结束")
