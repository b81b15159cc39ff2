"""An agent's day in the browser: a macro found by typing in the reply box sets a status and
a tag, and the customer receives its text; the shortcuts are listed on "?"."""

import re

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import Browser, expect

from tests.browser.staff import PASSWORD, log_in
from tests.tickets.factories import TicketFactory
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_applies_a_macro_and_the_customer_gets_its_text(
    browser: Browser, live_server, make_staff
):
    call_command("load_macros", verbosity=0)
    make_staff("xiaoli", "agent", first_name="小李", password=PASSWORD)
    ticket = TicketFactory.create(
        subject="提现三天未到账", language="zh-hans", email="wang@example.com", name="王芳",
        status=Status.OPEN,
    )  # fmt: skip
    TicketFactory.create(subject="上个月的充值问题", email="wang@example.com")
    page = log_in(browser, live_server, "xiaoli")
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")

    # The customer beside the ticket, with her other ticket.
    panel = page.locator("#customer-panel")
    expect(panel).to_contain_text("wang@example.com")
    expect(panel).to_contain_text("上个月的充值问题")

    # "?" lists the shortcuts; Escape closes the list.
    page.locator("body").press("?")
    expect(page.locator("#shortcuts-help")).to_be_visible()
    expect(page.locator("#shortcuts-help")).to_contain_text("撰写内部备注")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts-help")).to_be_hidden()

    # "r" goes to the reply box; "/" and words find the macro; Enter puts it in.
    page.locator("body").press("r")
    reply = page.locator("#id_reply")
    expect(reply).to_be_focused()
    reply.press_sequentially("/withdrawal arrived")
    suggestions = page.locator("#macro-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.locator("li").first).to_contain_text("Withdrawal not arrived yet")
    reply.press("Enter")
    expect(reply).to_have_value(re.compile(r"^王芳，您好：\n\n感谢您的耐心。提现申请通过后"))
    expect(page.locator("#macro-actions")).to_contain_text("withdrawal-delay")
    page.locator('input[name="_continue"]').click()
    expect(page.locator(".messagelist")).to_be_visible()
    expect(page.locator(".conversation")).to_contain_text("1–3 个工作日")

    saved = Ticket.objects.get(pk=ticket.pk)
    assert saved.status == Status.WAITING
    assert list(saved.tags.values_list("name", flat=True)) == ["withdrawal-delay"]
    text = saved.messages.get().body
    assert text.startswith("王芳，您好：") and "小李" in text  # {agent} filled in

    # The mail worker sends the reply: the customer receives the macro's text, greeted once.
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    email = next(m for m in mail.outbox if m.to == ["wang@example.com"])
    assert "感谢您的耐心。提现申请通过后" in email.body
    assert email.body.count("您好") == 1
    page.context.close()


def test_a_lead_opens_the_reports_and_each_chart_has_its_table(
    browser: Browser, live_server, make_staff
):
    lead = make_staff("lin", "lead", password=PASSWORD)
    for rating in (5, 3):
        ticket = TicketFactory.create(status=Status.RESOLVED, satisfaction=rating, assignee=lead)
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_at=ticket.created_at, resolved_at=ticket.created_at
        )
    page = log_in(browser, live_server, "lin")
    page.locator("#reports-link").click()
    expect(page.locator("h1")).to_have_text("客服报表")
    sections = page.locator("section.report")
    expect(sections).to_have_count(9)
    charts = page.locator("section.report svg[role=img]")
    assert charts.count() == 8  # all but the searches, of which there are none yet
    for n in range(charts.count()):
        section = charts.nth(n).locator("xpath=ancestor::section[1]")
        expect(section.locator("table caption")).to_have_text(
            charts.nth(n).locator("title").first.text_content() or ""
        )
        expect(charts.nth(n)).to_be_visible()
    page.context.close()
