"""Satisfaction: the resolving e-mail asks for a 1–5 rating; one click rates, no login."""

import re

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from tests.helpers import queued_emails
from tests.tickets.factories import TicketFactory
from tests.tickets.test_agent_macros import change_url, page_of
from tickets.emails import make_rating_token, make_ticket_token, rating_links
from tickets.models import Status, Ticket
from tickets.services import ticket_change_status, ticket_reopen

pytestmark = pytest.mark.django_db


def rate_path(ticket, score: int, language: str = "en") -> str:
    return f"/{language}/tickets/rate/{make_rating_token(ticket)}/{score}/"


@pytest.mark.django_db(transaction=True)  # the task worker closes its connection
def test_resolving_a_ticket_emails_the_rating_links_in_the_customers_language(
    agent, run_tasks, django_capture_on_commit_callbacks
):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, status=Status.RESOLVED, actor=agent)
    assert queued_emails() == ["resolved"]
    run_tasks()
    email = mail.outbox[-1]
    assert ticket.reference in email.subject and "已解决" in email.subject
    assert isinstance(email, EmailMultiAlternatives)
    links = re.findall(r"https?://\S+/zh-hans/tickets/rate/\S+/([1-5])/", str(email.body))
    assert links == ["1", "2", "3", "4", "5"]
    assert "/zh-hans/tickets/rate/" in str(email.alternatives[0][0])


@pytest.mark.django_db(transaction=True)  # the task worker closes its connection
def test_a_reply_that_resolves_carries_the_rating_and_no_second_email(
    agent_client, agent, django_capture_on_commit_callbacks, run_tasks
):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent, language="en")
    page = page_of(agent_client, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(
            change_url(ticket),
            {**page, "reply": "The money is back.", "status_after_reply": "resolved"},
        )
    assert queued_emails() == ["staff_replied"]
    run_tasks()
    assert "/en/tickets/rate/" in mail.outbox[-1].body


@pytest.mark.django_db(transaction=True)  # the task worker closes its connection
def test_a_reply_on_an_open_ticket_asks_for_no_rating(agent, run_tasks):
    from tickets.emails import build_email
    from tickets.services import ticket_reply

    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    message = ticket_reply(ticket=ticket, author=agent, body="Checking.")
    email = build_email(ticket, "staff_replied", message_id=message.pk)
    assert email is not None and "/tickets/rate/" not in email.body


def test_a_click_chooses_the_score_and_sending_records_it(client):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    response = client.get(rate_path(ticket, 4))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You chose 4/5" in html and 'value="4" id="id_rating_3" required checked' in html
    ticket.refresh_from_db()
    assert ticket.satisfaction is None  # a link scanner's GET rates nothing

    token = make_rating_token(ticket)
    sent = client.post(f"/en/tickets/rate/{token}/", {"rating": "5", "comment": "Fast and kind."})
    assert sent.status_code == 302
    thanks = client.get(sent["Location"]).content.decode()
    assert "You rated our help 5/5." in thanks
    rated = Ticket.objects.get(pk=ticket.pk)
    assert (rated.satisfaction, rated.satisfaction_comment) == (5, "Fast and kind.")
    assert rated.events.get(field="satisfaction").new_value == "5"


def test_a_repeated_click_does_not_change_the_first_rating(client):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    client.post(f"/en/tickets/rate/{make_rating_token(ticket)}/", {"rating": "2"})
    again = client.get(rate_path(ticket, 5))
    assert again.status_code == 200
    html = again.content.decode()
    assert "You have already rated this ticket." in html and "2/5" in html
    ticket.refresh_from_db()
    assert ticket.satisfaction == 2
    assert ticket.events.filter(field="satisfaction").count() == 1


def test_a_mail_scanners_head_request_rates_nothing(client):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    assert client.head(rate_path(ticket, 1)).status_code == 200
    ticket.refresh_from_db()
    assert ticket.satisfaction is None


@pytest.mark.parametrize(
    "path",
    [
        "tampered",
        "ticket-link",  # a ticket's signed link is not a rating link
        "score-9",
    ],
)
def test_a_tampered_or_wrong_link_rates_nothing(client, path):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    token = make_rating_token(ticket)
    url = {
        "tampered": f"/en/tickets/rate/{token[:-2]}xx/5/",
        "ticket-link": f"/en/tickets/rate/{make_ticket_token(ticket)}/5/",
        "score-9": f"/en/tickets/rate/{token}/9/",
    }[path]
    response = client.get(url)
    assert response.status_code == 400
    assert "This rating link has expired or is not valid." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.satisfaction is None


def test_a_comment_without_a_rating_is_an_error_next_to_the_field(client):
    ticket = TicketFactory.create(status=Status.RESOLVED, satisfaction=3)
    response = client.post(f"/zh-hans/tickets/rate/{make_rating_token(ticket)}/", {"comment": "x"})
    assert response.status_code == 200
    assert "请选择 1 到 5 分。" in response.content.decode()


def test_a_reopened_ticket_is_not_rated_yet(client):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    ticket_reopen(ticket=ticket, reason="Still missing.")
    response = client.get(rate_path(ticket, 5))
    assert "is open again" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.satisfaction is None


def test_the_links_are_one_per_score():
    ticket = TicketFactory.build(reference="OK-2345-6789", language="en")
    assert [score for score, _url in rating_links(ticket)] == [1, 2, 3, 4, 5]


def test_the_rating_page_marks_the_comment_optional_once(client):
    ticket = TicketFactory.create(status=Status.RESOLVED)
    html = client.get(rate_path(ticket, 3)).content.decode()
    assert html.count("(optional)") == 1
