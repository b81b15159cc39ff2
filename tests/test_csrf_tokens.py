"""A CSRF token made by wallet_support.csrf_tokens is one Django's middleware accepts, for a new
visitor (with the cookie it sets) and for one who has the cookie already."""

import pytest
from django.middleware.csrf import (  # type: ignore[attr-defined]  # private, on purpose
    CSRF_ALLOWED_CHARS,
    _unmask_cipher_token,
)
from django.test import Client

from tests.factories import ArticleFactory
from tests.helpers import find
from wallet_support import csrf_tokens


def token_in(html: str) -> str:
    return find(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.django_db
def test_a_new_visitor_can_vote_with_the_token_of_a_cached_article(category):
    article = ArticleFactory.create(slug="withdraw", category=category)
    first = Client(enforce_csrf_checks=True)
    first.get(article.get_absolute_url())  # rendered; the next answers come from the cache
    for visitor in (Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)):
        page = visitor.get(article.get_absolute_url())
        assert "csrftoken" in page.cookies
        token = token_in(page.content.decode())
        assert _unmask_cipher_token(token) == page.cookies["csrftoken"].value
        voted = visitor.post(
            f"/zh-hans/articles/{article.slug}/feedback/",
            {"helpful": "yes", "csrfmiddlewaretoken": token},
        )
        assert voted.status_code == 303
        again = visitor.get(article.get_absolute_url())  # the visitor's own secret, again
        assert (
            _unmask_cipher_token(token_in(again.content.decode()))
            == page.cookies["csrftoken"].value
        )
    forged = Client(enforce_csrf_checks=True)
    forged.get(article.get_absolute_url())
    refused = forged.post(
        f"/zh-hans/articles/{article.slug}/feedback/",
        {"helpful": "yes", "csrfmiddlewaretoken": "x" * 64},
    )
    assert refused.status_code == 403


def test_the_characters_are_csrf_characters_and_differ_each_time(rf):
    request = rf.get("/")
    tokens = {csrf_tokens.get_token(request) for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) == 64 and set(t) <= set(CSRF_ALLOWED_CHARS) for t in tokens)
    secrets = {_unmask_cipher_token(t) for t in tokens}
    assert secrets == {request.META["CSRF_COOKIE"]}
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
