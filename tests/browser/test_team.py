"""Two agents in two browsers on one ticket: each sees the other; a stale save is refused
with its text kept, and saves once the page is up to date."""

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.staff import PASSWORD, log_in
from tests.tickets.factories import TicketFactory
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_agents_on_one_ticket(browser: Browser, live_server, make_staff, monkeypatch):
    import tickets.presence

    monkeypatch.setattr(tickets.presence, "VIEWING_POLL_SECONDS", 1)
    make_staff("agent-a", "agent", password=PASSWORD)
    make_staff("agent-b", "agent", password=PASSWORD)
    ticket = TicketFactory.create(subject="提现三天未到账", status=Status.OPEN, language="zh-hans")
    url = f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/"

    a, b = log_in(browser, live_server, "agent-a"), log_in(browser, live_server, "agent-b")
    a.goto(url)
    b.goto(url)
    expect(a.locator("#ticket-presence")).to_contain_text("agent-b", timeout=15000)
    expect(b.locator("#ticket-presence")).to_contain_text("agent-a", timeout=15000)

    # B starts typing: A sees it.
    b.locator("#id_reply").fill("您好，我们正在核查")
    expect(a.locator("#ticket-presence")).to_contain_text("正在输入", timeout=15000)

    # A sets the ticket to waiting and saves; B's page still says Open.
    a.locator("#id_status").select_option("waiting")
    a.locator('input[name="_continue"]').click()
    expect(a.locator(".messagelist")).to_be_visible()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING

    # B resolves it with a reply: refused, next to the status, and the reply is still there.
    b.locator("#id_reply").fill("您好，款项已退回您的银行卡。")
    b.locator("#id_status").select_option("resolved")
    b.locator('input[name="_continue"]').click()
    expect(b.locator(".errornote")).to_be_visible()
    expect(b.locator(".field-status .errorlist")).to_contain_text("agent-a")
    expect(b.locator("#id_reply")).to_have_value("您好，款项已退回您的银行卡。")
    refused = Ticket.objects.get(pk=ticket.pk)
    assert refused.status == Status.WAITING and not refused.messages.exists()

    # Reloaded, the page shows A's change; B's reply now saves.
    b.goto(url)
    expect(b.locator("#id_status")).to_have_value("waiting")
    b.locator("#id_reply").fill("您好，款项已退回您的银行卡。")
    b.locator('input[name="_continue"]').click()
    expect(b.locator(".messagelist")).to_be_visible()
    expect(b.locator(".conversation")).to_contain_text("款项已退回")
    saved = Ticket.objects.get(pk=ticket.pk)
    assert saved.messages.get().body == "您好，款项已退回您的银行卡。"

    # Leaving the page takes B off A's page within a poll or two.
    b.goto(f"{live_server.url}/admin/tickets/ticket/")
    expect(a.locator("#ticket-presence")).not_to_contain_text("agent-b", timeout=15000)
    b.context.close()

    # The queue fits 1366 px without cutting columns.
    a.goto(f"{live_server.url}/admin/tickets/ticket/?queue=anyone")
    overflow = a.evaluate(
        "() => { const t = document.querySelector('#result_list');"
        " return t.getBoundingClientRect().right - document.documentElement.clientWidth; }"
    )
    assert overflow <= 0
    a.context.close()
