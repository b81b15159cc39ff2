"""What an operator relies on: health probes, logs a person can search, HEAD, and a site that
degrades rather than failing when the shared cache is gone."""

import json
import logging

import pytest
from django.db import OperationalError, connection

from tests.factories import ArticleFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

BROKEN_CACHE = {"default": {"BACKEND": "tests.broken_cache.BrokenCache"}}


def test_healthz_answers_a_probe_by_ip_address_without_touching_anything(
    client, settings, django_assert_num_queries
):
    settings.SECURE_SSL_REDIRECT = True  # a load balancer probes over plain HTTP
    settings.CACHES = BROKEN_CACHE
    with django_assert_num_queries(0):
        response = client.get("/healthz", headers={"host": "10.0.0.7:8000"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_and_the_cache(client):
    response = client.get("/readyz", headers={"host": "10.0.0.7"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_readyz_is_503_when_the_cache_is_down(client, settings):
    settings.CACHES = BROKEN_CACHE
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["cache"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_readyz_is_503_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_each_request_has_an_id_and_one_access_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="wallet_support.access"):
        response = client.get("/zh-hans/contact/", headers={"x-request-id": "lb-42.abc"})
    assert response["X-Request-ID"] == "lb-42.abc"
    lines = [r for r in caplog.records if r.name == "wallet_support.access"]
    assert len(lines) == 1
    assert (lines[0].method, lines[0].path, lines[0].status) == ("GET", "/zh-hans/contact/", 200)
    assert lines[0].request_id == "lb-42.abc"
    assert lines[0].duration_ms >= 0


def test_a_forged_request_id_is_replaced(client):
    response = client.get("/zh-hans/contact/", headers={"x-request-id": "a b\nforged"})
    assert response["X-Request-ID"] != "a b\nforged"
    assert len(response["X-Request-ID"]) == 32


def test_log_lines_are_json_with_time_level_logger_and_request_id(settings):
    config = settings.LOGGING
    formatter_config = dict(config["formatters"]["json"])
    factory = formatter_config.pop("()")
    module, _, name = factory.rpartition(".")
    formatter = getattr(__import__(module, fromlist=[name]), name)(**formatter_config)
    record = logging.LogRecord(
        "tickets.tasks", logging.WARNING, __file__, 1, "mail %s", ("x",), None
    )
    record.request_id = "abc123"
    line = json.loads(formatter.format(record))
    assert line["level"] == "WARNING" and line["logger"] == "tickets.tasks"
    assert line["message"] == "mail x" and line["request_id"] == "abc123" and line["time"]


@pytest.mark.parametrize("path", ["/zh-hans/", "/en/contact/", "/zh-hans/search/?q=提现"])
def test_head_answers_like_get(client, path):
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""


def test_an_article_head_answers_like_get(client):
    article = ArticleFactory.create()
    assert client.head(article.get_absolute_url()).status_code == 200


def test_with_the_cache_down_the_site_still_serves(
    client, settings, client_for, make_staff, caplog
):
    settings.CACHES = BROKEN_CACHE
    article = ArticleFactory.create(title="如何提现")
    assert client.get("/zh-hans/").status_code == 200
    first = client.get(article.get_absolute_url())
    assert first.status_code == 200 and "如何提现" in first.content.decode()
    # An edit shows at once: no stale page is trusted while the version is unknown.
    article.title = "提现需要多久"
    article.save()
    assert "提现需要多久" in client.get(article.get_absolute_url()).content.decode()
    assert client.get("/zh-hans/tickets/chat/").status_code == 200
    assert client.get("/zh-hans/tickets/new/").status_code == 200

    agent = make_staff("agent-a", "agent")
    staff = client_for(agent)
    ticket = TicketFactory.create()
    assert staff.get("/admin/tickets/ticket/").status_code == 200
    assert staff.get(f"/admin/tickets/ticket/{ticket.pk}/change/").status_code == 200
    assert staff.post(f"/admin/tickets/ticket/{ticket.pk}/presence/").status_code == 200
    assert staff.get("/admin/tickets/ticket/chat-console/").status_code == 200
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)


# --- requests no page can answer -----------------------------------------------------------------


def test_a_nul_in_an_admin_filter_is_a_400_page_in_the_sites_look(lead_client):
    response = lead_client.get("/admin/tickets/ticket/?status__exact=%00")
    assert response.status_code == 400
    html = response.content.decode()
    assert "400" in html and "We could not read that request" in html


def test_a_bad_request_page_is_in_the_visitors_language(client, rf):
    from django.template.response import TemplateResponse
    from django.utils import translation

    from wallet_support.views import bad_request

    request = rf.get("/zh-hans/")
    with translation.override("zh-hans"):
        response = bad_request(request)
        assert isinstance(response, TemplateResponse)
        response.render()
    assert "我们无法处理这个请求" in response.content.decode()


def test_a_forged_current_url_header_on_live_search_is_not_a_500(client):
    response = client.get(
        "/zh-hans/search/",
        {"q": "提现"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://[abc"},
    )
    assert response.status_code == 200


def test_every_answer_turns_off_camera_microphone_geolocation_and_payment(client):
    policy = client.get("/zh-hans/").headers["Permissions-Policy"]
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()"]:
        assert feature in policy


def test_an_empty_database_url_means_the_default_not_a_crash():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": "", "DJANGO_SECRET_KEY": "x"}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
         "'wallet_support.settings'; django.setup(); from django.conf import settings; "
         "print(settings.DATABASES['default']['ENGINE'])"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout


def test_a_login_with_an_unsafe_next_goes_to_the_admin(client, make_staff):
    make_staff("mei", "agent", password="a-long-test-passphrase")
    response = client.post(
        "/admin/login/?next=https://evil.example/",
        {"username": "mei", "password": "a-long-test-passphrase",
         "next": "https://evil.example/"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
