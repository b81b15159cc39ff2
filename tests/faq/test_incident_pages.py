"""Known incidents on the pages kept in the per-worker cache (faq.pagecache): a banner appears
on every worker within FAQ_PAGE_CACHE_CHECK_SECONDS of a save, and goes when the planned end
passes though nobody saved anything (tickets/incidents.py)."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from faq import pagecache
from tests.factories import ArticleFactory, CategoryFactory
from tests.helpers import en, zh
from tickets import incidents as incident_reads
from tickets.incident_models import Incident
from tickets.incident_services import incident_resolve, incident_save

pytestmark = pytest.mark.django_db

TITLE = "Withdrawals to some banks are delayed"


def post_incident(**fields) -> Incident:
    values = {
        "title_zh_hans": "部分银行提现延迟",
        "title_en": TITLE,
        "message_zh_hans": "资金安全，无需重复提交。",
        "message_en": "Your money is safe: there is no need to withdraw again.",
        "topics": ["withdrawal"],
        "starts_at": timezone.now() - timedelta(minutes=5),
        **fields,
    }
    return incident_save(incident=Incident(**values))


def from_cache(response) -> bool:
    return response.status_code == 200 and not response.templates


def shows_banner(response) -> bool:
    return TITLE in response.content.decode()


@pytest.fixture
def production_interval(settings):
    # As a worker serves most requests: the shared version is looked at every minute here.
    settings.FAQ_PAGE_CACHE = True
    settings.FAQ_PAGE_CACHE_CHECK_SECONDS = 60


@pytest.fixture
def unaffected_article(db):
    top_up = CategoryFactory.create(slug="top-up", name_zh_hans="充值", name_en="Top-up")
    return ArticleFactory.create(
        slug="top-up-time", category=top_up, language="en", title="How long does a top-up take?"
    )


def move_clock(monkeypatch, *, by: timedelta) -> None:
    """Wall clock (incidents' start and end) and the monotonic one (the check interval)."""
    later = timezone.now() + by
    monkeypatch.setattr(incident_reads, "_now", lambda: later)
    monotonic = time.monotonic() + by.total_seconds()
    monkeypatch.setattr("faq.pagecache.time.monotonic", lambda: monotonic)


# (page, whether an incident on withdrawals shows on it)
PAGES = [
    (("faq:home",), True),
    (("faq:article-detail", "withdrawal-time"), True),
    (("faq:article-detail", "top-up-time"), False),
    (("tickets:chat-start",), True),
    (("incidents:status",), True),
]
PAGE_IDS = ["home", "affected-article", "unaffected-article", "chat-start", "status"]


@pytest.mark.parametrize(("page", "affected"), PAGES, ids=PAGE_IDS)
def test_an_open_incident_shows_on_the_pages_of_its_topics_and_costs_no_query_cached(
    article_pair,
    unaffected_article,
    production_interval,
    page,
    affected,
    django_assert_num_queries,
):
    post_incident()
    url = en(*page)
    first = Client().get(url)
    assert first.status_code == 200 and shows_banner(first) is affected
    with django_assert_num_queries(0):
        again = Client().get(url)
    assert from_cache(again) and shows_banner(again) is affected


@pytest.mark.parametrize(
    "page", [("faq:home",), ("faq:article-detail", "withdrawal-time"), ("tickets:chat-start",)]
)
def test_a_page_cached_before_the_incident_shows_it_on_another_worker_after_the_interval(
    article_pair, production_interval, monkeypatch, page
):
    url = en(*page)
    Client().get(url)
    assert from_cache(Client().get(url)) and not shows_banner(Client().get(url))

    # Another worker posts the incident: this one saw the version before, and has not looked
    # at the shared one since.
    seen = dict(pagecache._version)
    post_incident()
    pagecache._version.update(seen)
    within = Client().get(url)
    assert from_cache(within) and not shows_banner(within)

    move_clock(monkeypatch, by=timedelta(seconds=61))
    after = Client().get(url)
    assert shows_banner(after)
    assert from_cache(Client().get(url))  # and kept again, with its banner


@pytest.mark.parametrize(
    "page", [("faq:home",), ("faq:article-detail", "withdrawal-time"), ("tickets:chat-start",)]
)
def test_the_banner_goes_when_the_planned_end_passes_without_any_save(
    article_pair, production_interval, monkeypatch, page, django_assert_max_num_queries
):
    post_incident(ends_at=timezone.now() + timedelta(minutes=10))
    url = zh(*page)
    Client().get(url)
    cached = Client().get(url)
    assert from_cache(cached) and "部分银行提现延迟" in cached.content.decode()

    updated = Incident.objects.get().updated_at
    move_clock(monkeypatch, by=timedelta(minutes=11))
    ended = Client().get(url)
    assert ended.status_code == 200 and "部分银行提现延迟" not in ended.content.decode()
    assert Incident.objects.get().updated_at == updated  # nobody saved it
    with django_assert_max_num_queries(0):
        assert from_cache(Client().get(url))


def test_a_planned_incident_begins_on_the_cached_article_by_the_clock(
    article_pair, production_interval, monkeypatch
):
    post_incident(starts_at=timezone.now() + timedelta(minutes=10))
    url = en("faq:article-detail", "withdrawal-time")
    Client().get(url)
    assert not shows_banner(Client().get(url))
    move_clock(monkeypatch, by=timedelta(minutes=11))
    assert shows_banner(Client().get(url))


def test_the_article_is_not_answered_304_once_its_banner_changed(article_pair, production_interval):
    url = en("faq:article-detail", "withdrawal-time")
    visitor = Client()
    before = visitor.get(url)
    post_incident()
    again = visitor.get(url, headers={"If-None-Match": before["ETag"]})
    assert again.status_code == 200 and shows_banner(again)
    assert again["ETag"] != before["ETag"]


def test_resolving_removes_the_banner_from_the_cached_pages_at_once(
    article_pair, production_interval
):
    incident = post_incident()
    url = en("faq:article-detail", "withdrawal-time")
    Client().get(url)
    assert shows_banner(Client().get(url))
    incident_resolve(incident=incident)
    assert not shows_banner(Client().get(url))
    status = Client().get(en("incidents:status"))
    recent = status.content.decode().split('id="recent-title"')[1]
    assert TITLE in recent


def test_an_edited_banner_is_not_answered_304_with_the_old_text(article_pair, production_interval):
    # The browser revalidates the article it holds: an incident edited since (its status, its
    # message) must come back as the new page, not "not modified" with the old banner.
    incident = post_incident()
    url = en("faq:article-detail", "withdrawal-time")
    visitor = Client()
    before = visitor.get(url)
    assert "Investigating" in before.content.decode()
    incident.status = Incident.Status.IDENTIFIED
    incident.message_en = "The bank has found the cause."
    incident_save(incident=incident)
    again = visitor.get(url, headers={"If-None-Match": before["ETag"]})
    assert again.status_code == 200
    assert "The bank has found the cause." in again.content.decode()
