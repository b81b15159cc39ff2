"""Smaller holes an anonymous visitor could use: a card number kept in a short field, and an
official e-mail whose subject says what a stranger typed."""

import pytest
from django.core import mail

from tests.helpers import en, zh
from tests.tickets.conftest import VALID_TICKET
from tickets.models import Ticket

CARD = "6222 0212 3456 7894"  # UnionPay prefix, Luhn-valid


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["name", "phone", "transaction_reference"])
def test_a_card_number_in_a_short_field_is_refused_next_to_it(client, field):
    response = client.post(en("tickets:new"), {**VALID_TICKET, field: CARD})
    html = response.content.decode()
    assert response.status_code == 200 and not Ticket.objects.exists()
    assert "This looks like a bank card number" in html
    assert VALID_TICKET["description"] in html  # nothing else typed is lost


@pytest.mark.django_db
def test_the_card_refusal_speaks_chinese(client):
    html = client.post(zh("tickets:new"), {**VALID_TICKET, "name": CARD}).content.decode()
    assert "这看起来像银行卡号" in html


@pytest.mark.django_db
def test_a_card_number_in_the_description_is_masked_not_refused(client):
    description = f"My card {CARD} was charged twice for the same top-up"
    assert (
        client.post(en("tickets:new"), {**VALID_TICKET, "description": description}).status_code
        == 302
    )
    assert Ticket.objects.get().description == (
        "My card **** **** **** 7894 was charged twice for the same top-up"
    )


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_subject_quotes_nothing_the_visitor_typed(client, run_tasks):
    # Anyone can type a victim's address: the official e-mail must not carry their words
    # where a mail app shows them first.
    lure = "Your OK Wallet account is frozen, call +1-555-0100"
    client.post(
        en("tickets:new"),
        {**VALID_TICKET, "subject": lure, "name": "OK Wallet Security Team"},
    )
    run_tasks()
    subject = mail.outbox[0].subject
    assert Ticket.objects.get().reference in subject
    assert "frozen" not in subject and "555" not in subject and "Security Team" not in subject
