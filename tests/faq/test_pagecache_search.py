"""Search results rendered once per normalised query and kept briefly (faq.pagecache.render_get):
each visitor still gets their own search token, and every search is still logged."""

import time
from urllib.parse import quote

import pytest
from django.test import Client

from faq import pagecache
from faq.models import Article, SearchQuery
from tests.factories import ArticleFactory
from tests.helpers import find, zh

LIVE = {"HX-Request": "true", "HX-Target": "home-search-results", "HX-Trigger": "home-search-form"}


@pytest.fixture
def withdrawal(category):
    return ArticleFactory.create(
        slug="withdrawal-time", category=category, title="提现多久到账？", keywords="提现"
    )


def from_shared_render(response) -> bool:
    return response.status_code == 200 and not response.templates


def token_in(response) -> str:
    return find(r'name="sl" value="([^"]+)"', response.content.decode()).group(1)


# Outside a test transaction, as a request runs: no savepoint around the search log.
@pytest.mark.django_db(transaction=True)
def test_the_same_words_are_rendered_once_and_each_search_keeps_its_own_token(
    withdrawal, settings, django_assert_max_num_queries
):
    settings.FAQ_PAGE_CACHE_CHECK_SECONDS = 60  # as a worker serves most requests
    url = zh("faq:search")
    first = Client().get(url, {"q": "提现"})
    with django_assert_max_num_queries(1):  # the search log's row; nothing else
        second = Client().get(url, {"q": " 提现 "})  # the same words once normalised
    assert not from_shared_render(first) and from_shared_render(second)
    assert second.template_name == "faq/search.html"  # type: ignore[attr-defined]

    tokens = [token_in(response) for response in (first, second)]
    assert tokens[0] != tokens[1]
    assert tokens[0] not in second.content.decode()
    for response, token in zip((first, second), tokens, strict=True):
        html = response.content.decode()
        assert "多久到账？" in html  # the title, with the words searched marked
        assert pagecache.TOKEN_PLACEHOLDER not in html
        assert pagecache.NONCE_PLACEHOLDER not in html
        # The result links carry this search's token, so opening one is counted for it.
        assert f"?sl={quote(token, safe='/')}" in html
        nonce = find(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in html
    assert SearchQuery.objects.count() == 2  # both searches are in the analytics


@pytest.mark.django_db(transaction=True)
def test_a_search_token_opens_its_own_row(withdrawal):
    url = zh("faq:search")
    Client().get(url, {"q": "提现"})
    second = Client().get(url, {"q": "提现"})
    link = find(r'href="([^"]*search/open/[^"]+)"', second.content.decode()).group(1)
    Client().get(link.replace("&amp;", "&"))
    opened = SearchQuery.objects.filter(opened_slug="withdrawal-time")
    # Tokens are signed with the time, so two signed a second apart differ: compare rows.
    row = SearchQuery.read_token(token_in(second), max_age=60)
    assert opened.count() == 1 and row is not None and opened.get().key == row.key


@pytest.mark.django_db
def test_live_results_and_the_page_are_kept_apart(withdrawal):
    url = zh("faq:search")
    Client().get(url, {"q": "提现"})
    live = Client().get(url, {"q": "提现"}, headers=LIVE)
    assert live.template_name == "faq/search.html#live-results"  # type: ignore[attr-defined]
    assert "<html" not in live.content.decode()
    again = Client().get(url, {"q": "提现"}, headers=LIVE)
    assert from_shared_render(again) and "<html" not in again.content.decode()
    assert "<html" in Client().get(url, {"q": "提现"}).content.decode()


@pytest.mark.django_db
def test_an_edit_is_searched_at_once(withdrawal):
    url = zh("faq:search")
    Client().get(url, {"q": "提现"})
    withdrawal.title = "提现到账要多久"
    withdrawal.save()
    assert "到账要多久" in Client().get(url, {"q": "提现"}).content.decode()
    Article.objects.filter(pk=withdrawal.pk).delete()
    assert "到账要多久" not in Client().get(url, {"q": "提现"}).content.decode()


@pytest.mark.django_db
def test_kept_results_expire(withdrawal, monkeypatch):
    url = zh("faq:search")
    Client().get(url, {"q": "提现"})
    assert from_shared_render(Client().get(url, {"q": "提现"}))
    later = time.monotonic() + pagecache.SEARCH_TTL_SECONDS + 1
    monkeypatch.setattr("faq.pagecache.time.monotonic", lambda: later)
    assert not from_shared_render(Client().get(url, {"q": "提现"}))
