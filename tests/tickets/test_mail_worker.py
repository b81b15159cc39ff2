"""Mail that is never lost and never sent twice: a killed worker's e-mail is sent by another,
a retry finds the sent marker, and the worker outlives a database outage."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets.management.commands import mail_worker
from tickets.models import SentEmail, Ticket
from tickets.tasks import MAX_ATTEMPTS, retry_delay

pytestmark = pytest.mark.django_db(transaction=True)


def work(rounds: int = 1) -> None:
    call_command("mail_worker", "--interval", "0", "--max-rounds", str(rounds))


def test_retries_go_on_for_more_than_a_day():
    waited = sum((retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)), timedelta())
    assert waited >= timedelta(hours=24)


def test_a_worker_killed_mid_send_gives_its_e_mail_back(client, ticket_data):
    client.post("/en/tickets/new/", ticket_data)
    task = DBTaskResult.objects.get()
    # A worker claimed it and was killed (SIGKILL, out of memory) before finishing.
    DBTaskResult.objects.filter(pk=task.pk).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=11),
        worker_ids=["killed-worker"],
    )
    work()
    assert len(mail.outbox) == 1
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.SUCCESSFUL


def test_a_task_another_worker_is_still_sending_is_left_alone(client, ticket_data):
    client.post("/en/tickets/new/", ticket_data)
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=1)
    )
    work()
    assert mail.outbox == []
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


def test_an_e_mail_given_back_after_it_was_sent_is_not_sent_again(client, ticket_data):
    client.post("/en/tickets/new/", ticket_data)
    work()
    assert len(mail.outbox) == 1
    assert SentEmail.objects.count() == 1
    # The worker died after sending but before recording its result: the task comes back.
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1)
    )
    work()
    assert len(mail.outbox) == 1  # the customer gets it once
    assert DBTaskResult.objects.get().return_value == "already sent"


def test_a_retry_keeps_the_e_mails_key(client, ticket_data, mail_server_down):
    mail_server_down.failures_left = 1
    client.post("/en/tickets/new/", ticket_data)
    first = DBTaskResult.objects.get()
    work()
    retry = DBTaskResult.objects.exclude(pk=first.pk).get()
    assert retry.args_kwargs["kwargs"]["key"] == first.args_kwargs["kwargs"]["key"]
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    work()
    assert len(mail.outbox) == 1
    assert Ticket.objects.get().reference in mail.outbox[0].subject


def test_the_worker_waits_out_a_database_outage(client, ticket_data, monkeypatch):
    client.post("/en/tickets/new/", ticket_data)
    real = mail_worker.requeue_expired
    outages = {"left": 2}

    def flaky(now=None):
        if outages["left"]:
            outages["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return real(now)

    monkeypatch.setattr(mail_worker, "requeue_expired", flaky)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    work(rounds=3)  # two rounds lost to the outage, the third sends
    assert outages["left"] == 0
    assert len(mail.outbox) == 1


def test_the_sent_marker_waits_out_a_database_outage(client, ticket_data, monkeypatch):
    from django.db.models.query import QuerySet

    client.post("/en/tickets/new/", ticket_data)
    real = QuerySet.get_or_create
    outages = {"left": 2}

    def flaky(self, *args, **kwargs):
        if self.model is SentEmail and outages["left"]:
            outages["left"] -= 1
            raise OperationalError("terminating connection due to administrator command")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "get_or_create", flaky)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    work()
    assert len(mail.outbox) == 1 and SentEmail.objects.count() == 1
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL
