import time

import pytest

from tests.helpers import en
from tests.tickets.conftest import png_bytes, upload
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.emails import make_ticket_token
from tickets.models import Message, Status, Ticket

pytestmark = pytest.mark.django_db

TRACK_URL = "/en/tickets/track/"
NOT_FOUND = "We could not find a ticket with this reference and email."


def link_path(ticket):
    return en("tickets:link", make_ticket_token(ticket))


@pytest.fixture
def ticket():
    return TicketFactory.create(email="li.wei@example.com")


def test_reference_and_email_open_the_ticket(client, ticket):
    MessageFactory.create(ticket=ticket, body="We have asked the bank.")
    MessageFactory.create(ticket=ticket, body="Agent-only remark", is_internal=True)
    response = client.post(
        TRACK_URL, {"reference": ticket.reference.lower(), "email": "Li.Wei@example.com"}
    )
    assert response["Location"] == ticket.get_absolute_url()

    html = client.get(ticket.get_absolute_url()).content.decode()
    assert ticket.subject in html and ticket.description in html
    assert "We have asked the bank." in html
    assert "Agent-only remark" not in html
    assert '<span class="badge badge-new">Received</span>' in html  # the status


@pytest.mark.parametrize(
    "reference,email",
    [("real", "someone.else@example.com"), ("OK-2222-2222", "li.wei@example.com")],
)
def test_wrong_email_and_unknown_reference_get_the_same_answer(client, ticket, reference, email):
    reference = ticket.reference if reference == "real" else reference
    response = client.post(TRACK_URL, {"reference": reference, "email": email})
    assert response.status_code == 200
    assert NOT_FOUND in response.content.decode()
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_a_ticket_page_is_closed_to_other_browsers(client, ticket):
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_tracking_is_rate_limited(client, ticket, settings):
    settings.TICKETS_RATE_TRACKING = "3/600"
    for _ in range(3):
        client.post(TRACK_URL, {"reference": "OK-2222-2222", "email": "x@example.com"})
    response = client.post(TRACK_URL, {"reference": ticket.reference, "email": ticket.email})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_the_signed_link_opens_the_ticket_and_leaves_the_address_bar(client, ticket):
    response = client.get(link_path(ticket))
    assert response["Location"] == ticket.get_absolute_url()
    assert client.get(ticket.get_absolute_url()).status_code == 200


def test_a_tampered_link_is_refused(client, ticket):
    path = link_path(ticket)
    response = client.get(path[:-3] + "xyz/")
    assert response["Location"].endswith("/tickets/track/?expired=1")
    assert "expired or is not valid" in client.get(response["Location"]).content.decode()


def test_an_expired_link_asks_for_reference_and_email(client, ticket, monkeypatch):
    ninety_one_days_ago = time.time() - 91 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: ninety_one_days_ago)  # the link is signed then
    path = link_path(ticket)
    monkeypatch.undo()
    response = client.get(path)
    assert response["Location"].endswith("/tickets/track/?expired=1")
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_the_customer_adds_a_message_with_an_attachment(client, ticket):
    ticket.status = Status.WAITING
    ticket.save()
    client.get(link_path(ticket))
    response = client.post(
        f"{ticket.get_absolute_url()}reply/",
        {
            "body": "Here is the bank statement",
            "attachments": [upload("statement.png", png_bytes())],
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(author_type="customer")
    assert message.attachments.get().original_name == "statement.png"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # back in the agents' queue
    html = client.get(ticket.get_absolute_url()).content.decode()
    assert "Here is the bank statement" in html and "statement.png" in html


def test_an_empty_message_gets_an_error(client, ticket):
    client.get(link_path(ticket))
    response = client.post(f"{ticket.get_absolute_url()}reply/", {"body": ""})
    assert "Write a message before sending." in response.content.decode()


def test_a_resolved_ticket_can_be_confirmed_and_rated(client, ticket):
    ticket.status = Status.RESOLVED
    ticket.save()
    client.get(link_path(ticket))
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Is your problem solved?" in page

    missing = client.post(f"{ticket.get_absolute_url()}resolution/", {"action": "confirm"})
    assert "Choose a rating from 1 to 5." in missing.content.decode()

    client.post(
        f"{ticket.get_absolute_url()}resolution/",
        {"action": "confirm", "rating": "5", "comment": "Fast!"},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.satisfaction, ticket.satisfaction_comment) == (
        Status.CLOSED,
        5,
        "Fast!",
    )
    assert "This ticket is closed" in client.get(ticket.get_absolute_url()).content.decode()

    refused = client.post(f"{ticket.get_absolute_url()}reply/", {"body": "one more thing"})
    assert "This ticket is closed" in refused.content.decode()
    assert not Message.objects.exists()


def test_a_resolved_ticket_can_be_reopened_with_a_reason(client, ticket):
    ticket.status = Status.RESOLVED
    ticket.save()
    client.get(link_path(ticket))
    no_reason = client.post(f"{ticket.get_absolute_url()}resolution/", {"action": "reopen"})
    assert "Tell us what is still not working." in no_reason.content.decode()
    client.post(
        f"{ticket.get_absolute_url()}resolution/", {"action": "reopen", "comment": "Still missing"}
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.messages.get().body == "Still missing"
    assert [e.new_value for e in ticket.events.all()] == ["open"]


def test_confirmation_page_needs_a_fresh_submission(client):
    response = client.get("/en/tickets/new/submitted/")
    assert response["Location"] == TRACK_URL


def test_track_page_loads(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # + a new cache's content version (faq.pagecache)
        assert client.get(TRACK_URL).status_code == 200


def test_tracking_a_ticket_changes_nothing_in_it(client, ticket):
    MessageFactory.create(ticket=ticket, body="We have asked the bank.")
    before = Ticket.objects.values().get(pk=ticket.pk)
    response = client.post(TRACK_URL, {"reference": ticket.reference, "email": ticket.email})
    client.get(response["Location"])
    assert Ticket.objects.values().get(pk=ticket.pk) == before  # nothing reopened or re-dated
    assert list(ticket.messages.values_list("body", flat=True)) == ["We have asked the bank."]
    assert not ticket.events.exists()


@pytest.mark.parametrize("way", ["form", "link"])
def test_granting_access_gives_a_new_session_so_a_planted_one_reads_nothing(client, ticket, way):
    from django.test import Client

    # A session the attacker made, its cookie planted in the victim's browser.
    session = client.session
    session["visited"] = True
    session.save()
    planted = session.session_key
    assert planted
    client.cookies["sessionid"] = planted
    if way == "form":
        client.post(TRACK_URL, {"reference": ticket.reference, "email": "li.wei@example.com"})
    else:
        client.get(link_path(ticket))
    assert client.cookies["sessionid"].value != planted
    attacker = Client()
    attacker.cookies["sessionid"] = planted
    assert attacker.get(ticket.get_absolute_url().replace("/zh-hans/", "/en/")).status_code == 404
    assert client.get(ticket.get_absolute_url()).status_code == 200
