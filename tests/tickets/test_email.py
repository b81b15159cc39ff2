import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_confirmation_email_has_the_reference_and_a_working_link(
    client, ticket_data, run_tasks
):
    client.post("/en/tickets/new/", ticket_data)
    ticket = Ticket.objects.get()
    assert mail.outbox == []  # nothing is sent inside the request
    run_tasks()

    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == [ticket_data["email"]]
    assert ticket.reference in message.subject
    assert "24 hours" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and isinstance(html, str) and ticket.reference in html
    link = next(word for word in message.body.split() if "/tickets/link/" in word)
    assert "?" not in link and ticket_data["email"] not in link

    other_browser = client.__class__()
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = other_browser.get(f"/{path}", follow=True)
    assert ticket.subject in response.content.decode()


def test_the_email_is_in_the_customers_language(client, ticket_data, run_tasks):
    client.post("/zh-hans/tickets/new/", ticket_data)
    run_tasks()
    assert "我们已收到" in mail.outbox[0].subject


def test_a_failing_mail_server_loses_nothing_and_the_send_is_retried(
    client, ticket_data, run_tasks, mail_server_down
):
    mail_server_down.failures_left = 1

    response = client.post("/en/tickets/new/", ticket_data)
    assert response.status_code == 302
    assert Ticket.objects.count() == 1  # the ticket is saved whatever the mail server does

    run_tasks()
    assert mail.outbox == []
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.run_after > timezone.now()  # deferred, with back-off
    assert retry.args_kwargs["args"][2] == 2  # the second attempt

    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_tasks()
    assert len(mail.outbox) == 1
    assert Ticket.objects.get().reference in mail.outbox[0].subject
