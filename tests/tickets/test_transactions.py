"""Transaction-aware complaints: amount and date for money topics, the settlement window in
business days before sending, and a second ticket about the same transaction joining the first."""

from datetime import date

import pytest
from django.utils import timezone

from tests.helpers import en, zh
from tests.tickets.conftest import VALID_TICKET
from tickets.models import Message, Ticket
from tickets.settlement import add_business_days, business_days_since, is_business_day, settlement

pytestmark = pytest.mark.django_db


# --- Business days: weekends, holidays and the weekend days worked in exchange ---------------


def test_a_weekend_does_not_count():
    friday, monday = date(2026, 12, 4), date(2026, 12, 7)
    assert business_days_since(friday, monday) == 1
    assert add_business_days(friday, 3) == date(2026, 12, 9)  # Mon, Tue, Wed


def test_the_national_day_holiday_does_not_count_and_its_working_saturday_does():
    made = date(2026, 9, 30)  # the Wednesday before 1-7 October
    assert not is_business_day(date(2026, 10, 5))  # a Monday, but a holiday
    assert is_business_day(date(2026, 10, 10))  # a Saturday worked in exchange
    assert business_days_since(made, date(2026, 10, 9)) == 2  # Thu 8 and Fri 9 only
    assert add_business_days(made, 3) == date(2026, 10, 10)


def test_a_withdrawal_is_late_only_after_its_window():
    on_time = settlement("withdrawal", date(2026, 12, 4), date(2026, 12, 9))
    late = settlement("withdrawal", date(2026, 12, 4), date(2026, 12, 10))
    assert on_time is not None and (on_time.elapsed, on_time.is_late) == (3, False)
    assert late is not None and (late.elapsed, late.is_late) == (4, True)


def test_no_window_is_promised_where_none_is_known():
    assert settlement("top-up", date(2026, 12, 4), date(2026, 12, 9)) is None


# --- The form --------------------------------------------------------------------------------


def money_ticket(**extra):
    return {**VALID_TICKET, "transaction_amount": "500", "transaction_date": "", **extra}


def test_amount_and_date_are_kept_for_money_topics(client):
    made = timezone.localdate().replace(day=1)
    client.post(en("tickets:new"), money_ticket(transaction_date=made.isoformat()))
    ticket = Ticket.objects.get()
    assert (str(ticket.transaction_amount), ticket.transaction_date) == ("500.00", made)


def test_amount_and_date_are_dropped_for_other_topics(client):
    data = money_ticket(topic="account", transaction_date="2026-11-20")
    client.post(en("tickets:new"), data)
    ticket = Ticket.objects.get()
    assert (ticket.transaction_amount, ticket.transaction_date) == (None, None)


def test_a_future_date_and_a_bad_amount_get_errors_next_to_their_fields(client):
    html = client.post(
        en("tickets:new"), money_ticket(transaction_date="2999-01-01", transaction_amount="abc")
    ).content.decode()
    assert "The date cannot be in the future." in html
    assert "Enter the amount in digits" in html
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "language,late_words", [("en", "longer than usual"), ("zh-hans", "比平常久")]
)
def test_the_live_check_says_whether_a_withdrawal_is_late_before_sending(
    client, settings, language, late_words
):
    url = (en if language == "en" else zh)("tickets:field-check", "transaction_date")
    long_ago = "2026-11-02"
    response = client.post(
        url,
        {"topic": "withdrawal", "transaction_date": long_ago},
        headers={"HX-Request": "true"},
    )
    assert late_words in response.content.decode()
    today = timezone.localdate().isoformat()
    fresh = client.post(
        url, {"topic": "withdrawal", "transaction_date": today}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="settlement"' in fresh and late_words not in fresh
    other = client.post(
        url, {"topic": "top-up", "transaction_date": long_ago}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="settlement"' not in other


# --- The same transaction twice ---------------------------------------------------------------


def test_a_second_ticket_about_the_same_transaction_joins_the_first(client):
    client.post(en("tickets:new"), VALID_TICKET)
    again = {**VALID_TICKET, "subject": "Still nothing", "description": "Five days now, please."}
    again["transaction_reference"] = VALID_TICKET["transaction_reference"].lower()
    again["email"] = VALID_TICKET["email"].upper()
    response = client.post(en("tickets:new"), again)
    ticket = Ticket.objects.get()  # still one ticket
    message = ticket.messages.get(author_type=Message.Author.CUSTOMER)
    assert message.body == "Still nothing\n\nFive days now, please."
    page = client.get(response["Location"]).content.decode()
    assert "You already have ticket" in page and ticket.reference in page


def test_another_customer_or_another_transaction_gets_its_own_ticket(client):
    client.post(en("tickets:new"), VALID_TICKET)
    client.post(en("tickets:new"), {**VALID_TICKET, "email": "someone.else@example.com"})
    client.post(en("tickets:new"), {**VALID_TICKET, "transaction_reference": "TX-OTHER-1"})
    assert Ticket.objects.count() == 3


def test_a_resolved_ticket_does_not_absorb_a_new_complaint(client):
    client.post(en("tickets:new"), VALID_TICKET)
    Ticket.objects.update(status="resolved")
    client.post(en("tickets:new"), VALID_TICKET)
    assert Ticket.objects.count() == 2
