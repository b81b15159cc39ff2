"""An agent takes a ticket in the admin and answers; the customer sees the answer."""

import pytest
from playwright.sync_api import Page, expect

from tests.tickets.factories import TicketFactory
from tickets.emails import make_ticket_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_takes_an_unassigned_ticket_and_replies(page: Page, live_server, make_staff):
    agent = make_staff("xiaoli", "agent", first_name="小李", password="a-long-test-passphrase")
    ticket = TicketFactory.create(
        subject="充值没到账", language="zh-hans", email="wang@example.com"
    )
    TicketFactory.create(subject="Someone else's", assignee=agent, status="resolved")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("用户名").fill("xiaoli")
    page.get_by_label("密码").fill("a-long-test-passphrase")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#support-queue")).to_be_visible()

    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    page.get_by_role("link", name="Unassigned").or_(
        page.get_by_role("link", name="未分配")
    ).first.click()
    expect(page.get_by_role("link", name="充值没到账")).to_be_visible()
    page.locator(f'input[name="_selected_action"][value="{ticket.pk}"]').check()
    page.locator('select[name="action"]').select_option("assign_to_me")
    page.locator('button[name="index"]').click()
    expect(page.locator(".messagelist")).to_be_visible()

    page.get_by_role("link", name="充值没到账").click()
    page.locator("#id_reply").fill("您好，款项已到账，请查看余额。")
    page.locator('input[name="_continue"]').click()
    expect(page.locator(".conversation")).to_contain_text("款项已到账")

    assert page.context.browser is not None
    customer = page.context.browser.new_context()
    tracking = customer.new_page()
    tracking.goto(f"{live_server.url}/zh-hans/tickets/link/{make_ticket_token(ticket)}/")
    expect(tracking.locator(".conversation")).to_contain_text("您好，款项已到账，请查看余额。")
    expect(tracking.locator(".badge")).to_have_text("等待您回复")
    customer.close()
