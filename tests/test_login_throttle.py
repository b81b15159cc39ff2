"""The admin login after wrong passwords: locked per account and per address; a lead unlocks."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-passphrase"
LOGIN = "/admin/login/?next=/admin/"


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(make_staff, settings):
    settings.AXES_FAILURE_LIMIT = 5
    make_staff("mei", "agent", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    answers = [log_in(attacker, "mei", f"guess-{n}").status_code for n in range(6)]
    assert answers[:4] == [200] * 4  # the login page again, with its error
    assert answers[-1] == 429
    # Now even the right password from elsewhere is refused, with a message.
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    elsewhere.cookies["django_language"] = "en"
    locked = log_in(elsewhere, "mei", PASSWORD)
    assert locked.status_code == 429
    assert "is locked for a while" in locked.content.decode()


def test_the_message_is_in_chinese_for_chinese_staff(make_staff, settings):
    settings.AXES_FAILURE_LIMIT = 1
    make_staff("mei", "agent", password=PASSWORD)
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.cookies["django_language"] = "zh-hans"
    log_in(client, "mei", "wrong")
    locked = log_in(client, "mei", "wrong again")
    assert locked.status_code == 429
    assert "锁定" in locked.content.decode()


def test_a_lead_unlocks_an_agent(make_staff, client_for, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    make_staff("mei", "agent", password=PASSWORD)
    lead = make_staff("lin", "lead")
    for n in range(3):
        log_in(Client(REMOTE_ADDR="203.0.113.9"), "mei", f"guess-{n}")
    assert log_in(Client(REMOTE_ADDR="198.51.100.20"), "mei", PASSWORD).status_code == 429
    lead_browser = client_for(lead)
    attempts = lead_browser.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and "mei" in attempts.content.decode()
    attempt = AccessAttempt.objects.filter(username="mei").first()
    assert attempt is not None
    response = lead_browser.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    AccessAttempt.objects.filter(username="mei").delete()  # every attempt of the account
    assert log_in(Client(REMOTE_ADDR="198.51.100.20"), "mei", PASSWORD).status_code == 302


def test_failures_from_one_address_lock_that_address_for_every_account(make_staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_staff("mei", "agent", password=PASSWORD)
    make_staff("wang", "agent", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(3):
        log_in(attacker, f"user{n}", "guess")
    assert log_in(attacker, "wang", PASSWORD).status_code == 429
    assert log_in(Client(REMOTE_ADDR="198.51.100.20"), "wang", PASSWORD).status_code == 302
