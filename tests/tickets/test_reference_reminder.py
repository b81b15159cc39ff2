""" "Lost your reference?": the references of an address go to that address only, with the
same answer whether or not it has tickets, and rate-limited."""

import re

import pytest
from django.core import mail

from tests.helpers import en, zh
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the task worker runs


def ask(client, email, language="en"):
    url = (en if language == "en" else zh)("tickets:track-reminder")
    return client.post(url, {"reminder-email": email})


def test_the_references_and_their_links_go_to_the_address(client, run_tasks, settings):
    settings.SITE_URL = "https://help.okwallet.example"
    mine = TicketFactory.create_batch(2, email="li.wei@example.com")
    TicketFactory.create(email="someone@example.com")
    response = ask(client, "Li.Wei@example.com")
    assert response["Location"].endswith("/tickets/track/?reminded=1#reminder")
    run_tasks()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Li.Wei@example.com"]
    body = str(message.body)
    for ticket in mine:
        assert ticket.reference in body
    assert len(re.findall(r"https://help.okwallet.example/\S+/tickets/link/\S+", body)) == 2
    assert re.search(r"OKV-[2-9A-Z]{4}-[2-9A-Z]{4}", body)  # checkable as ours
    page = client.get(response["Location"]).content.decode()
    assert "If this address has tickets with us, we have sent their references to it." in page


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, run_tasks):
    response = ask(client, "nobody@example.com")
    assert response["Location"].endswith("/tickets/track/?reminded=1#reminder")
    run_tasks()
    assert mail.outbox == []


def test_reminders_are_limited_per_address(client, settings, run_tasks):
    settings.TICKETS_RATE_PER_EMAIL = "2/3600"
    TicketFactory.create(email="li.wei@example.com")
    for _ in range(2):
        assert ask(client, "li.wei@example.com").status_code == 302
    refused = ask(client, "LI.WEI@example.com", "zh-hans")
    assert refused.status_code == 429
    assert "尝试次数过多" in refused.content.decode()
    run_tasks()
    assert len(mail.outbox) == 2


def test_a_bad_address_gets_its_error_next_to_the_field(client):
    html = ask(client, "li.wei@").content.decode()
    assert 'id="id_reminder-email"' in html and "Enter a valid email address" in html
    assert 'aria-invalid="true"' in html
