"""A customer files a complaint with a screenshot and follows it from the e-mail link."""

import re

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.test_journey import accessibility_violations
from tests.tickets.conftest import png_bytes
from tickets.models import Message, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def test_file_a_complaint_then_follow_it_from_the_email(page: Page, live_server, settings):
    settings.SITE_URL = live_server.url
    page.goto(f"{live_server.url}/zh-hans/contact/")
    page.get_by_role("link", name="提交投诉或建议").click()
    assert accessibility_violations(page) == []

    page.get_by_label("投诉").check()
    page.get_by_label("问题分类").select_option("withdrawal")
    page.get_by_label("主题").fill("提现三天没到账")
    page.get_by_label("问题描述").fill("11月20日提现 500 元到工商银行卡，到现在还没有到账。")
    # Leaving the field checks it: a bad address gets its error right away.
    page.get_by_label("邮箱").fill("li.wei@")
    page.get_by_label("邮箱").blur()
    expect(page.locator("#email-feedback")).to_contain_text("请填写有效的邮箱地址")
    page.get_by_label("邮箱").fill("li.wei@example.com")
    page.get_by_label("交易编号").fill("TX-20261120-88")
    page.get_by_label("截图或文件").set_input_files(
        files=[FilePayload(name="提现记录.png", mimeType="image/png", buffer=png_bytes())]
    )
    page.get_by_role("button", name="发送").click()

    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"OK-[2-9A-Z]{4}-[2-9A-Z]{4}", reference)
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.attachments.get().original_name == "提现记录.png"

    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
    found = re.search(r"https?://\S+/tickets/link/\S+", str(mail.outbox[0].body))
    assert found is not None, mail.outbox[0].body
    link = found.group()

    assert page.context.browser is not None
    customer_elsewhere = page.context.browser.new_context()
    phone = customer_elsewhere.new_page()
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("提现三天没到账")
    expect(phone.get_by_text("提现记录.png")).to_be_visible()
    phone.get_by_label("您的留言").fill("补充：银行说没有收到这笔款。")
    phone.get_by_role("button", name="发送留言").click()
    expect(phone.locator(".conversation")).to_contain_text("补充：银行说没有收到这笔款。")
    assert Message.objects.get(ticket=ticket).body == "补充：银行说没有收到这笔款。"
    customer_elsewhere.close()
