"""A customer checks a look-alike number, reports it, and the report is at the top of an
agent's queue."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.staff import PASSWORD, log_in
from tests.browser.test_journey import accessibility_violations
from tests.tickets.factories import TicketFactory
from tickets.models import Priority

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_look_alike_number_is_reported_and_reaches_the_top_of_the_queue(
    page: Page, browser: Browser, live_server, make_staff, settings
):
    settings.SUPPORT_HOTLINE = "400-000-0000"
    TicketFactory.create(subject="充值没到账", priority=Priority.HIGH)
    page.goto(f"{live_server.url}/zh-hans/security/")
    page.get_by_role("link", name="这真的是 OK 钱包吗？").first.click()

    page.get_by_label("是什么联系了您？").fill("４００-０００-０００１")
    page.get_by_role("button", name="核实").click()
    expect(page.locator("main")).to_have_attribute("data-verdict", "not-official")
    expect(page.get_by_role("heading", name="这不是我们的渠道")).to_be_visible()
    expect(page.get_by_text("它看起来像我们的“400-000-0000”")).to_be_visible()
    assert accessibility_violations(page) == []

    page.get_by_label("发生了什么？").fill("对方说我的账户被冻结，让我转账到安全账户")
    page.get_by_role("button", name="提交举报").click()
    expect(page.get_by_role("status")).to_contain_text("您的举报已送达我们的安全团队")

    make_staff("agent-a", "agent", password=PASSWORD)
    agent = log_in(browser, live_server, "agent-a")
    agent.goto(f"{live_server.url}/admin/tickets/ticket/?queue=anyone")
    first = agent.locator("#result_list tbody tr").first
    expect(first).to_contain_text("举报冒充者：４００-０００-０００１")
    agent.context.close()
