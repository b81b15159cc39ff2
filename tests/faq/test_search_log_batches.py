"""The search log is written in batches by each worker (faq.searchlog): a search costs its
customer no database write, and every search, refinement and opened result still reaches the
analytics, whichever worker writes it and in whatever order."""

import re
import threading
import time

import pytest
from django.db import DataError, OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faq import searchlog, services
from faq.models import SearchQuery, SynonymSuggestion
from faq.search import search
from tests.factories import ArticleFactory
from tests.helpers import find, zh

LIVE = {"HX-Request": "true", "HX-Target": "home-search-results", "HX-Trigger": "home-search-form"}
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


@pytest.fixture
def withdrawal(category):
    return ArticleFactory.create(
        slug="withdrawal-time",
        category=category,
        title="提现多久到账？",
        summary="一般 1 到 3 个工作日。",
        keywords="提现",
    )


@pytest.fixture
def batched(settings, monkeypatch):
    """As in production: searches wait for the worker's next batch. The flusher thread is
    not started: each test writes the batch itself, when it means to."""
    settings.FAQ_SEARCH_LOG_FLUSH_SECONDS = 5
    monkeypatch.setattr(searchlog, "_ensure_flusher", lambda: None)
    searchlog.clear()
    yield
    searchlog.clear()


def token_in(response) -> str:
    return find(r'name="sl" value="([^"]+)"', response.content.decode()).group(1)


def result_link(response) -> str:
    link = find(r'href="([^"]*search/open/[^"]+)"', response.content.decode()).group(1)
    return link.replace("&amp;", "&")


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if WRITES.match(query["sql"])]


def other_worker_takes_pending() -> dict[str, searchlog.Pending]:
    """What this worker holds, moved out of it, as if another worker had served it."""
    held = dict(searchlog._pending)
    searchlog.clear()
    return held


def other_worker_flushes(held: dict[str, searchlog.Pending]) -> None:
    searchlog._pending.update(held)
    searchlog.flush()


# Outside a test transaction, as a request runs.
@pytest.mark.django_db(transaction=True)
def test_a_search_writes_nothing_and_stays_within_three_queries(
    withdrawal, batched, django_assert_max_num_queries
):
    search("提现", language="zh-hans")  # the worker has read the index's vocabulary
    for headers in ({}, LIVE):
        with (
            django_assert_max_num_queries(3),
            CaptureQueriesContext(connection) as queries,
        ):
            response = Client().get(zh("faq:search"), {"q": "提现"}, headers=headers)
        assert response.status_code == 200 and "多久到账" in response.content.decode()
        assert writes(queries) == []
    assert not SearchQuery.objects.exists()  # not yet: the next batch writes them

    started = time.time()
    with CaptureQueriesContext(connection) as queries:
        assert searchlog.flush() == 2
    assert len(writes(queries)) == 1  # one INSERT for the batch
    rows = list(SearchQuery.objects.values_list("query", "language", "result_count"))
    assert rows == [("提现", "zh-hans", 1)] * 2
    # The time is the search's, not the batch's.
    assert all(row.created_at.timestamp() <= started for row in SearchQuery.objects.all())


@pytest.mark.django_db
def test_the_token_ties_an_opened_result_to_its_search_before_and_after_the_write(
    client, withdrawal, batched
):
    before = client.get(zh("faq:search"), {"q": "提现"})
    opened = client.get(result_link(before))  # the search is not written yet
    assert opened["Location"] == zh("faq:article-detail", "withdrawal-time")
    after = Client().get(zh("faq:search"), {"q": "提现 到账"})
    searchlog.flush()
    Client().get(result_link(after))  # this one's row is written by now
    searchlog.flush()

    rows = {row.key: row for row in SearchQuery.objects.all()}
    assert len(rows) == 2
    for page in (before, after):
        read = SearchQuery.read_token(token_in(page), max_age=60)
        assert read is not None and rows[read.key].opened_slug == "withdrawal-time"


@pytest.mark.django_db
def test_a_result_opened_through_another_worker_is_counted_once(client, withdrawal, batched):
    page = client.get(zh("faq:search"), {"q": "提现"})
    first_worker = other_worker_takes_pending()
    client.get(result_link(page))  # this worker never saw the search
    searchlog.flush()  # and writes it first, from the token
    other_worker_flushes(first_worker)

    row = SearchQuery.objects.get()
    assert (row.query, row.result_count, row.opened_slug) == ("提现", 1, "withdrawal-time")


@pytest.mark.django_db
def test_typing_on_through_two_workers_keeps_the_last_words_in_any_order(withdrawal, batched):
    customer = Client()
    first = customer.get(zh("faq:search"), {"q": "提现"}, headers=LIVE)
    first_worker = other_worker_takes_pending()
    customer.get(zh("faq:search"), {"q": "提现多久", "sl": token_in(first)}, headers=LIVE)
    searchlog.flush()  # the later words are written first
    other_worker_flushes(first_worker)
    assert list(SearchQuery.objects.values_list("query", flat=True)) == ["提现多久"]

    # In one worker, several refinements are one row: one batch, one INSERT.
    searchlog.clear()
    SearchQuery.objects.all().delete()
    page = customer.get(zh("faq:search"), {"q": "退款"}, headers=LIVE)
    for query in ["退款多久", "退款多久到账"]:
        page = customer.get(zh("faq:search"), {"q": query, "sl": token_in(page)}, headers=LIVE)
    searchlog.flush()
    assert list(SearchQuery.objects.values_list("query", flat=True)) == ["退款多久到账"]


@pytest.mark.django_db
def test_a_batch_of_refinements_and_opened_results_is_merged_with_what_is_written(
    withdrawal, batched
):
    customers = [Client() for _ in range(3)]
    pages = [c.get(zh("faq:search"), {"q": "提现"}, headers=LIVE) for c in customers]
    searchlog.flush()
    for customer, page in zip(customers[:2], pages[:2], strict=True):
        customer.get(zh("faq:search"), {"q": "提现到账", "sl": token_in(page)}, headers=LIVE)
    customers[2].get(result_link(pages[2]))
    assert len(searchlog._pending) == 3
    searchlog.flush()
    rows = sorted(SearchQuery.objects.values_list("query", "opened_slug"))
    assert rows == [("提现", "withdrawal-time"), ("提现到账", ""), ("提现到账", "")]


@pytest.mark.django_db
def test_a_search_not_yet_written_still_teaches_a_synonym(client, category, batched):
    article = ArticleFactory.create(
        slug="how-to-withdraw", category=category, title="如何把余额提现到银行卡？", keywords="提现"
    )
    client.get(zh("faq:search"), {"q": "把钱弄出来"})  # nothing found
    client.get(article.get_absolute_url())  # opened instead: the search is still pending
    another = Client()
    another.get(zh("faq:search"), {"q": "把钱弄出来"})
    other_worker_takes_pending()  # and this one is held by another worker
    another.get(article.get_absolute_url())

    suggestion = SynonymSuggestion.objects.get()
    assert (suggestion.phrase, suggestion.article, suggestion.times) == ("把钱弄出来", article, 2)


@pytest.mark.django_db
def test_an_opened_result_suggests_no_synonym_while_its_search_waits(client, withdrawal, batched):
    page = client.get(zh("faq:search"), {"q": "提现"})
    token = token_in(page)
    client.get(result_link(page))
    # The cookie is gone after the result link; a visitor sending the token again anyway:
    services.synonym_suggestion_record(
        token=token, language="zh-hans", slug="withdrawal-time", max_age=60
    )
    assert not SynonymSuggestion.objects.exists()


@pytest.mark.django_db
def test_a_failed_write_is_tried_again_with_the_next_batch(withdrawal, batched, monkeypatch):
    response = Client().get(zh("faq:search"), {"q": "提现"})
    assert response.status_code == 200

    def disk_full(batch):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(services, "search_log_write", disk_full)
    assert searchlog.flush() == 0
    monkeypatch.undo()
    assert searchlog.flush() == 1
    assert SearchQuery.objects.get().query == "提现"


@pytest.mark.django_db
def test_a_search_the_database_refuses_does_not_hold_back_the_others(
    withdrawal, batched, monkeypatch
):
    Client().get(zh("faq:search"), {"q": "提现"})
    Client().get(zh("faq:search"), {"q": "到账"})
    refused = next(key for key, entry in searchlog._pending.items() if entry.search.query == "到账")
    write = services.search_log_write

    def refuse_one(batch):
        if any(entry.search.key == refused for entry in batch):
            raise DataError("value too long for type character varying(100)")
        write(batch)

    monkeypatch.setattr(services, "search_log_write", refuse_one)
    assert searchlog.flush() == 1
    assert not searchlog._pending  # dropped, not tried again for ever
    assert list(SearchQuery.objects.values_list("query", flat=True)) == ["提现"]


@pytest.mark.django_db
def test_an_opened_slug_no_article_can_have_is_not_logged(client, withdrawal, batched):
    page = client.get(zh("faq:search"), {"q": "提现"})
    searchlog.flush()
    link = result_link(page).replace("withdrawal-time", "a" * 101)
    assert client.get(link).status_code in {302, 404}
    assert searchlog.flush() == 0
    assert SearchQuery.objects.get().opened_slug == ""


@pytest.mark.django_db
def test_a_burst_wakes_the_flusher_early(withdrawal, batched, monkeypatch):
    monkeypatch.setattr(searchlog, "MAX_BATCH", 2)
    searchlog._wake.clear()
    services.search_log_record(query="提现", language="zh-hans", result_count=1)
    assert not searchlog._wake.is_set()
    services.search_log_record(query="充值", language="zh-hans", result_count=1)
    assert searchlog._wake.is_set()
    searchlog._wake.clear()


@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_its_batch_by_itself(withdrawal, settings):
    settings.FAQ_SEARCH_LOG_FLUSH_SECONDS = 0.2
    searchlog.clear()
    try:
        Client().get(zh("faq:search"), {"q": "提现"})
        thread = searchlog._flusher["thread"]
        assert isinstance(thread, threading.Thread) and thread.is_alive()
        for _ in range(50):  # taken by the thread within its interval
            if not searchlog._pending:
                break
            time.sleep(0.1)
        assert not searchlog._pending
        searchlog.stop_flusher()  # waits for the write (the test database allows one writer)
        assert SearchQuery.objects.get().query == "提现"
    finally:
        searchlog.stop_flusher()
        searchlog.clear()


@pytest.mark.django_db
def test_the_admin_report_reads_the_written_batch(admin_client, withdrawal, batched):
    Client().get(zh("faq:search"), {"q": "股票"})
    searchlog.flush()
    report = admin_client.get(reverse("admin:faq_searchquery_report"))
    last_7, _last_30 = report.context["periods"]
    assert [row["query"] for row in last_7["top_without_results"]] == ["股票"]
