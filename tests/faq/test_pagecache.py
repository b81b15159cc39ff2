import pytest
from django.test import Client

from faq import pagecache
from faq.models import ArticleFeedback
from tests.helpers import find

pytestmark = pytest.mark.django_db


def test_a_cached_article_is_served_from_memory_with_each_visitors_own_token_and_nonce(
    article_pair, django_assert_max_num_queries
):
    zh_article, _en = article_pair
    url = zh_article.get_absolute_url()
    first_visitor, second_visitor = (
        Client(enforce_csrf_checks=True),
        Client(enforce_csrf_checks=True),
    )
    first = first_visitor.get(url)
    # The content version, looked up by the page and by the incidents' copy (tickets.incidents)
    # since this test run checks it every time; no article or incident queries.
    with django_assert_max_num_queries(2):
        second = second_visitor.get(url)

    tokens = []
    for response in (first, second):
        html = response.content.decode()
        assert pagecache.CSRF_PLACEHOLDER not in html and pagecache.NONCE_PLACEHOLDER not in html
        nonce = find(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in html  # the htmx script carries this response's nonce
        tokens.append(find(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1))
    assert tokens[0] != tokens[1]

    # The token written into the cached page is valid for its visitor.
    vote = second_visitor.post(
        f"{url}feedback/", {"helpful": "yes", "csrfmiddlewaretoken": tokens[1]}
    )
    assert vote.status_code == 303
    assert ArticleFeedback.objects.count() == 1


def test_an_edit_is_served_at_once(client, article_pair):
    zh_article, _en = article_pair
    client.get(zh_article.get_absolute_url())
    zh_article.title = "提现到账时间（新）"
    zh_article.save()
    assert "提现到账时间（新）" in client.get(zh_article.get_absolute_url()).content.decode()


def test_a_related_articles_new_title_is_served_at_once(client, article_pair):
    from tests.factories import ArticleFactory

    zh_article, _en = article_pair
    related = ArticleFactory.create(category=zh_article.category, title="提现手续费")
    client.get(zh_article.get_absolute_url())
    related.title = "提现要手续费吗"
    related.save()
    assert "提现要手续费吗" in client.get(zh_article.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_the_head_kept_per_worker_carries_no_visitors_nonce(category):
    # The head's scripts are rendered once per worker and language: the first visitor's
    # nonce (or the cache's placeholder) must not be handed to every later page.
    pagecache.clear()
    first = Client().get("/zh-hans/")
    later = Client().get("/zh-hans/no-such-page/")
    assert later.status_code == 404
    assert str(first.wsgi_request.csp_nonce) not in later.content.decode()  # type: ignore[attr-defined]
    assert pagecache.NONCE_PLACEHOLDER not in later.content.decode()
    own = find(r"'nonce-([^']+)'", later["Content-Security-Policy"]).group(1)
    assert f'nonce="{own}"' in later.content.decode()  # its own, on the htmx script
