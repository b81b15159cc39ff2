"""Rate limits: who the client is behind a proxy, atomic counting, own windows, Redis outages."""

from __future__ import annotations

import ipaddress
import logging
import threading

import pytest
import redis
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.db import connections
from django.test import Client

from tests.helpers import en, zh
from tests.tickets.conftest import png_bytes, upload
from tickets import ratelimit
from tickets.access import DRAFT_SESSION_KEY
from tickets.models import Deflection, RateLimitCounter, Ticket
from tickets.ratelimit import (
    CHAT_PER_IP,
    TICKET_PER_EMAIL,
    TICKET_PER_IP,
    TRACKING_PER_IP,
    Limit,
    take_all,
)
from wallet_support.clients import client_ip

TRACK = "/en/tickets/track/"
WRONG_TICKET = {"reference": "OK-2222-2222", "email": "x@example.com"}
# The start of an hour, so that a test knows where the window ends.
HOUR_START = 1_800_000_000 // 3600 * 3600

TEST_LIMIT = Limit("test", "TEST_RATE", on_outage="refuse")


def counter(scope: str) -> int:
    """The hits counted for the one identity a test uses in this scope."""
    return RateLimitCounter.objects.get(key__startswith=f"{scope}:").hits


@pytest.fixture
def clock(monkeypatch):
    """`clock.now = ...`: the time the rate limits see, moved by hand."""

    class Clock:
        now = float(HOUR_START + 1)

    fake = Clock()
    monkeypatch.setattr(ratelimit, "_clock", lambda: fake.now)
    return fake


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]


# --- Who the client is ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "remote,forwarded,client",
    [
        # One proxy of ours: it appended the address it saw.
        ("10.0.0.2", "203.0.113.9", "203.0.113.9"),
        # What the client wrote itself is left of what our proxy appended.
        ("10.0.0.2", "198.51.100.66, 203.0.113.9", "203.0.113.9"),
        # Two proxies of ours: the right-most address that is not one of them.
        ("10.0.0.2", "198.51.100.66, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        ("10.0.0.2", " 203.0.113.9 ,10.1.2.3 ", "203.0.113.9"),
        ("10.0.0.2", "2001:db8::7", "2001:db8::7"),
        # No header, or only our own proxies: the last address we can vouch for.
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "10.1.2.3", "10.1.2.3"),
        # Malformed entries are never the client; nothing left of one is believed.
        ("10.0.0.2", "garbage", "10.0.0.2"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.66, 203.0.113.9:443", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.66, unknown, 10.1.2.3", "10.1.2.3"),
        ("10.0.0.2", "garbage, 203.0.113.9", "203.0.113.9"),
        # A dual-stack socket's form of a trusted IPv4 proxy is that proxy.
        ("::ffff:10.0.0.2", "203.0.113.9", "203.0.113.9"),
        # Not from a proxy of ours: the header is whatever the client wanted, and ignored.
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),
        ("198.51.100.1", "10.0.0.2", "198.51.100.1"),
        ("2001:db8::1", "203.0.113.9", "2001:db8::1"),
    ],
)
def test_the_client_is_the_right_most_address_our_proxies_vouch_for(
    rf, behind_proxy, remote, forwarded, client
):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(rf.get("/", **headers)) == client


def test_without_trusted_proxies_forwarded_for_is_ignored(rf, settings):
    settings.TRUSTED_PROXIES = []
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "127.0.0.1"


def test_a_request_without_an_address_is_one_client(rf, behind_proxy):
    assert client_ip(rf.get("/", REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="203.0.113.9")) == "unknown"


@pytest.mark.django_db
def test_behind_the_proxy_each_customer_has_their_own_limit(client, ticket_data, settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    settings.TICKETS_RATE_PER_IP = "1/3600"

    def post(forwarded_for: str, email: str) -> int:
        data = {**ticket_data, "email": email}
        via_proxy = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded_for}
        return client.post(en("tickets:new"), data, **via_proxy).status_code

    assert post("203.0.113.1", "a@example.com") == 302
    assert post("203.0.113.1", "b@example.com") == 429
    assert post("203.0.113.2", "c@example.com") == 302
    # Someone else's address written in front of ours changes nothing.
    assert post("203.0.113.77, 203.0.113.1", "d@example.com") == 429
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_a_client_not_behind_our_proxy_cannot_spoof_new_addresses(client, ticket_data, settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    settings.TICKETS_RATE_PER_IP = "1/3600"
    for n, status in [(1, 302), (2, 429), (3, 429)]:
        response = client.post(
            en("tickets:new"),
            {**ticket_data, "email": f"{n}@example.com"},
            REMOTE_ADDR="198.51.100.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
        assert response.status_code == status
    assert Ticket.objects.count() == 1


# --- Refusals -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_ticket_answers_429_in_the_customers_language(client, ticket_data, settings):
    settings.TICKETS_RATE_PER_IP = "1/3600"
    assert client.post(zh("tickets:new"), ticket_data).status_code == 302
    response = client.post(zh("tickets:new"), {**ticket_data, "email": "second@example.com"})
    html = response.content.decode()
    assert response.status_code == 429
    assert "您在短时间内提交了多条留言。请一小时后再提交，或在已有的工单中补充说明。" in html
    assert 'class="ticket-form"' in html and "second@example.com" in html  # the page, as typed
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_tracking_attempt_answers_429_in_the_customers_language(client, settings):
    settings.TICKETS_RATE_TRACKING = "1/600"
    assert client.post(zh("tickets:track"), WRONG_TICKET).status_code == 200
    response = client.post(zh("tickets:track"), WRONG_TICKET)
    assert response.status_code == 429
    assert "尝试次数过多，请几分钟后再试。" in response.content.decode()


@pytest.mark.django_db
def test_a_refused_chat_answers_429_and_keeps_the_question(client, settings, make_staff):
    from tickets.presence import mark_agent_online

    settings.SUPPORT_HOURS = "00:00–24:00"
    settings.TICKETS_RATE_PER_IP = "1/3600"
    mark_agent_online(make_staff("lili", "agent"))
    question = {"name": "Wang Fang", "email": "wang@example.com", "message": "Top-up pending"}
    assert client.post(zh("tickets:chat-start"), question).status_code == 302
    response = client.post(zh("tickets:chat-start"), question)
    html = response.content.decode()
    assert response.status_code == 429
    assert "您在短时间内发起了多次聊天。请稍后再试，或改为发送留言。" in html
    assert "Top-up pending" in html
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_hit_adds_nothing(settings):
    settings.TEST_RATE = "2/3600"
    assert [TEST_LIMIT.take("li.wei@example.com") for _ in range(5)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert counter("test") == 2
    assert TEST_LIMIT.reached("Li.Wei@example.com")  # one identity, whatever its case


@pytest.mark.django_db
def test_looking_at_a_limit_counts_nothing(settings):
    settings.TEST_RATE = "1/3600"
    assert not TEST_LIMIT.reached("198.51.100.1")
    assert not RateLimitCounter.objects.exists()


@pytest.mark.django_db
def test_a_ticket_refused_for_its_email_uses_up_no_place_of_its_address(
    client, ticket_data, settings
):
    settings.TICKETS_RATE_PER_EMAIL = "1/3600"
    assert client.post(en("tickets:new"), ticket_data).status_code == 302
    for _ in range(3):
        assert client.post(en("tickets:new"), ticket_data).status_code == 429
    assert (counter("ticket-ip"), counter("ticket-email")) == (1, 1)


@pytest.mark.django_db
def test_a_refused_ticket_counts_nothing(client, ticket_data, settings):
    settings.TICKETS_RATE_PER_IP = "2/3600"
    for n in range(5):
        client.post(en("tickets:new"), {**ticket_data, "email": f"{n}@example.com"})
    assert counter("ticket-ip") == 2
    assert RateLimitCounter.objects.filter(key__startswith="ticket-email:").count() == 2
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_an_invalid_form_counts_nothing(client, ticket_data, settings):
    client.post(en("tickets:new"), {**ticket_data, "email": "not an address"})
    assert not RateLimitCounter.objects.exists()


@pytest.mark.django_db
def test_a_refused_form_reads_no_file_and_still_checks_csrf(ticket_data, settings, monkeypatch):
    """A real browser's form sends its CSRF token in the body; reading it must not read files."""
    files_read: list[str] = []

    def record(self, field_name, file_name, *args, **kwargs):
        files_read.append(file_name)

    monkeypatch.setattr(MemoryFileUploadHandler, "new_file", record)
    monkeypatch.setattr(TemporaryFileUploadHandler, "new_file", record)
    browser = Client(enforce_csrf_checks=True)
    browser.get(en("tickets:new"))
    token = browser.cookies["csrftoken"].value
    settings.TICKETS_RATE_PER_IP = "1/3600"
    assert TICKET_PER_IP.take("127.0.0.1")  # the test client's address has used its place

    data = {**ticket_data, "attachments": upload("shot.png", png_bytes(), "image/png")}
    response = browser.post(en("tickets:new"), {**data, "csrfmiddlewaretoken": token})
    html = response.content.decode()
    assert response.status_code == 429
    assert files_read == []
    assert ticket_data["description"] in html  # the text is kept,
    assert 'id="attachments-lost"' in html  # the file must be chosen again
    forged = {**ticket_data, "attachments": upload("shot.png", png_bytes(), "image/png")}
    assert browser.post(en("tickets:new"), forged).status_code == 403


@pytest.mark.django_db
def test_an_accepted_form_still_checks_csrf(ticket_data):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(en("tickets:new"), ticket_data).status_code == 403
    browser.get(en("tickets:new"))
    token = browser.cookies["csrftoken"].value
    response = browser.post(en("tickets:new"), {**ticket_data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Ticket.objects.count() == 1


# --- Windows --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_limit_keeps_its_own_window(settings, clock):
    settings.TEST_RATE = "2/3600"
    assert TEST_LIMIT.take("x") and TEST_LIMIT.take("x")
    clock.now += 10 * 60  # the database cache's counter had expired after 5 minutes
    assert not TEST_LIMIT.take("x")
    clock.now = HOUR_START + 3599
    assert TEST_LIMIT.reached("x")
    clock.now = HOUR_START + 3600  # the next window
    assert not TEST_LIMIT.reached("x")
    assert TEST_LIMIT.take("x")


@pytest.mark.django_db
def test_tracking_stays_refused_for_its_whole_window(client, settings, clock):
    settings.TICKETS_RATE_TRACKING = "2/3600"
    for _ in range(2):
        client.post(TRACK, WRONG_TICKET)
    clock.now += 30 * 60
    assert client.post(TRACK, WRONG_TICKET).status_code == 429
    clock.now = HOUR_START + 3600
    assert client.post(TRACK, WRONG_TICKET).status_code == 200


@pytest.mark.django_db
def test_counters_are_never_evicted(settings):
    settings.TEST_RATE = "1/3600"
    clients = [f"198.51.{n // 256}.{n % 256}" for n in range(400)]  # the cache culled at 300
    assert all(TEST_LIMIT.take(ip) for ip in clients)
    assert all(TEST_LIMIT.reached(ip) for ip in clients)


@pytest.mark.django_db
def test_only_ended_windows_are_purged(settings, clock, monkeypatch):
    settings.TEST_RATE = "5/60"
    TEST_LIMIT.take("old")
    clock.now += 60
    monkeypatch.setattr(ratelimit, "PURGE_EVERY", 1)  # every accepted hit purges
    assert TEST_LIMIT.take("new")
    assert RateLimitCounter.objects.count() == 1
    clock.now += 58  # the new window's last second
    assert ratelimit.purge_ended_windows() == 0
    clock.now += 1
    assert ratelimit.purge_ended_windows() == 1


def test_a_limit_of_zero_refuses_everything(settings):
    settings.TEST_RATE = "0/60"
    assert TEST_LIMIT.reached("x")
    assert not TEST_LIMIT.take("x")


# --- Simultaneous hits ----------------------------------------------------------------------


def test_simultaneous_hits_let_exactly_the_limit_through(shared_database, settings):
    settings.TEST_RATE = "5/3600"
    threads_count = 20
    start = threading.Barrier(threads_count)
    results: list[bool] = []
    errors: list[BaseException] = []

    def hit() -> None:
        try:
            start.wait()
            results.append(TEST_LIMIT.take("203.0.113.9"))
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=hit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [False] * 15 + [True] * 5
    assert counter("test") == 5


# --- HEAD -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["tickets:new", "tickets:track", "tickets:chat-start"])
def test_head_answers_like_get(client, name):
    response = client.head(en(name))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_head_on_a_suggestion_answers_like_get_but_counts_no_deflection(client, article_pair):
    _zh, en_article = article_pair
    response = client.head(en("tickets:suggestion-open", en_article.slug))
    assert response.status_code == 302
    assert response["Location"] == en_article.get_absolute_url()
    assert not Deflection.objects.exists()


@pytest.mark.django_db
def test_head_leaves_the_chats_draft_for_the_get(client):
    session = client.session
    session[DRAFT_SESSION_KEY] = {"email": "wang@example.com", "description": "Top-up pending"}
    session.save()
    assert client.head(en("tickets:new")).status_code == 200
    assert "Top-up pending" in client.get(en("tickets:new")).content.decode()


# --- Redis ----------------------------------------------------------------------------------


class DownRedis:
    """A Redis client whose server cannot be reached."""

    def get(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to redis:6379.")

    def register_script(self, script):
        def run(*args, **kwargs):
            raise redis.exceptions.TimeoutError("Timeout reading from redis:6379")

        return run


@pytest.fixture
def redis_down(settings, monkeypatch):
    made: list[dict[str, object]] = []

    def from_url(url, **options):
        made.append({"url": url, **options})
        return DownRedis()

    settings.REDIS_URL = "redis://redis:6379/0"
    monkeypatch.setattr(redis.Redis, "from_url", from_url)
    ratelimit._redis_store.cache_clear()
    yield made
    ratelimit._redis_store.cache_clear()


def test_each_limit_says_what_a_redis_outage_does(redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="tickets.ratelimit"):
        # Customers must always reach us...
        for limit in [TICKET_PER_IP, TICKET_PER_EMAIL, CHAT_PER_IP]:
            assert limit.take("203.0.113.9")
            assert not limit.reached("203.0.113.9")
        # ...but guessing ticket references is what this limit stops.
        assert not TRACKING_PER_IP.take("203.0.113.9")
        assert TRACKING_PER_IP.reached("203.0.113.9")
        assert not take_all((TICKET_PER_IP, "203.0.113.9"), (TRACKING_PER_IP, "203.0.113.9"))
    assert "Rate limit track-ip: Redis unreachable" in caplog.text
    assert "so this hit is refused" in caplog.text
    assert "Rate limit ticket-ip: Redis unreachable" in caplog.text
    # One client for the process, which gives up after a quarter of a second.
    assert redis_down == [
        {"url": "redis://redis:6379/0", "socket_timeout": 0.25, "socket_connect_timeout": 0.25}
    ]


@pytest.mark.django_db
def test_during_a_redis_outage_tickets_go_through_and_tracking_is_refused(
    client, ticket_data, redis_down
):
    assert client.post(en("tickets:new"), ticket_data).status_code == 302
    assert Ticket.objects.count() == 1
    assert client.post(TRACK, WRONG_TICKET).status_code == 429
    assert not RateLimitCounter.objects.exists()  # nothing fell back to the database


class RecordingRedis:
    """A Redis client that answers, and records how the take script is called."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.script_calls: list[tuple[list[str], list[int]]] = []

    def get(self, key):
        return self.values.get(key)

    def register_script(self, script):
        def run(keys, args):
            self.script_calls.append((keys, args))
            return 1

        return run


def test_redis_keys_live_until_their_window_ends(settings, monkeypatch, clock):
    client = RecordingRedis()
    settings.REDIS_URL = "redis://redis:6379/0"
    settings.TEST_RATE = "5/3600"
    monkeypatch.setattr(redis.Redis, "from_url", lambda url, **options: client)
    ratelimit._redis_store.cache_clear()
    try:
        clock.now = HOUR_START + 600
        assert TEST_LIMIT.take("203.0.113.9")
        ((keys, args),) = client.script_calls
        assert len(keys) == 1 and keys[0].startswith("ratelimit:test:")
        assert keys[0].endswith(f":{HOUR_START // 3600}")
        assert "203.0.113.9" not in keys[0]
        assert args == [5, 3000 + 1]  # the limit, and the window's seconds left
        client.values[keys[0]] = b"4"
        assert not TEST_LIMIT.reached("203.0.113.9")
        client.values[keys[0]] = b"5"
        assert TEST_LIMIT.reached("203.0.113.9")
    finally:
        ratelimit._redis_store.cache_clear()
