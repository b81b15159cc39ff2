from typing import TYPE_CHECKING, TypedDict, cast

import pytest
from django.urls import reverse

from faq.models import Article, ArticleFeedback
from faq.services import feedback_record
from tests.factories import ArticleFactory
from tests.helpers import url_in

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

pytestmark = pytest.mark.django_db


class FeedbackCounts(TypedDict):
    """What Article.objects.with_feedback_counts() adds to each article."""

    helpful_count: int
    not_helpful_count: int


def feedback_url(article):
    return url_in(article.language, "faq:article-feedback", article.slug)


@pytest.fixture
def article(category):
    return ArticleFactory.create(category=category, language="en", title="How to top up")


def test_htmx_yes_vote_swaps_in_a_thank_you(client, article):
    response = client.post(
        feedback_url(article), {"helpful": "yes"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.template_name == "faq/article_detail.html#feedback"
    assert "Thanks for your feedback" in response.content.decode()
    assert ArticleFeedback.objects.get().helpful is True


def test_no_vote_asks_what_was_missing_then_keeps_the_comment(client, article):
    response = client.post(feedback_url(article), {"helpful": "no"}, headers={"HX-Request": "true"})
    assert "What was missing or unclear?" in response.content.decode()

    response = client.post(
        feedback_url(article),
        {"helpful": "no", "comment": "Which banks are supported?"},
        headers={"HX-Request": "true"},
    )
    assert "We read every note" in response.content.decode()
    feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.comment) == (False, "Which banks are supported?")


def test_a_repeat_vote_from_the_same_visitor_counts_once(client, article):
    client.post(feedback_url(article), {"helpful": "no"}, headers={"HX-Request": "true"})
    client.post(feedback_url(article), {"helpful": "yes"}, headers={"HX-Request": "true"})
    client.post(feedback_url(article), {"helpful": "yes"}, headers={"HX-Request": "true"})
    assert ArticleFeedback.objects.count() == 1
    assert ArticleFeedback.objects.get().helpful is True


def test_two_visitors_are_two_votes(client, article):
    from django.test import Client

    other = Client()
    for browser in (client, other):  # each reads the article first, as people do
        browser.get(article.get_absolute_url())
    client.post(feedback_url(article), {"helpful": "yes"})
    other.post(feedback_url(article), {"helpful": "no"})
    # cast: with_feedback_counts() is typed as returning plain articles (see FeedbackCounts).
    counts = cast(
        "WithAnnotations[Article, FeedbackCounts]",
        Article.objects.with_feedback_counts().get(pk=article.pk),
    )
    assert (counts.helpful_count, counts.not_helpful_count) == (1, 1)


def test_vote_without_javascript_redirects_to_a_page_in_the_new_state(client, article):
    response = client.post(feedback_url(article), {"helpful": "no"})
    assert response.status_code == 303
    assert response["Location"] == feedback_url(article)

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "<html" in html
    assert "What was missing or unclear?" in html

    response = client.post(
        feedback_url(article), {"helpful": "no", "comment": "More detail"}, follow=True
    )
    assert "We read every note" in response.content.decode()


def test_a_vote_on_an_unpublished_article_is_refused(client, category):
    draft = ArticleFactory.create(category=category, status=Article.Status.DRAFT)
    response = client.post(feedback_url(draft), {"helpful": "yes"})
    assert response.status_code == 404
    assert not ArticleFeedback.objects.exists()


def test_a_vote_needs_a_valid_choice(client, article):
    response = client.post(
        feedback_url(article), {"helpful": "maybe"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not ArticleFeedback.objects.exists()


def test_a_too_long_comment_is_refused_and_kept(client, article):
    client.post(feedback_url(article), {"helpful": "no"}, headers={"HX-Request": "true"})
    long_comment = "x" * 1001
    response = client.post(
        feedback_url(article),
        {"helpful": "no", "comment": long_comment},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "1000" in html  # the error says the limit
    assert long_comment in html  # nothing typed is lost
    assert ArticleFeedback.objects.get().comment == ""


def test_vote_needs_csrf(article):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(feedback_url(article), {"helpful": "yes"})
    assert response.status_code == 403
    assert "form expired" in response.content.decode()
    assert not ArticleFeedback.objects.exists()


def test_staff_see_the_counts_and_comments_in_the_admin(admin_client, article):
    feedback_record(article=article, visitor_id="a", helpful=False, comment="No fees listed")
    feedback_record(article=article, visitor_id="b", helpful=True)
    listing = admin_client.get(reverse("admin:faq_articlefeedback_changelist")).content.decode()
    assert "No fees listed" in listing
    articles = admin_client.get(reverse("admin:faq_article_changelist")).content.decode()
    assert 'class="field-helpful_votes">1<' in articles
    assert 'class="field-not_helpful_votes">1<' in articles


def test_votes_without_the_visitor_cookie_count_once_per_address_and_day(article):
    from django.test import Client

    for _ in range(10):
        Client().post(feedback_url(article), {"helpful": "no"})
    assert ArticleFeedback.objects.count() == 1
    Client(REMOTE_ADDR="198.51.100.9").post(feedback_url(article), {"helpful": "no"})
    assert ArticleFeedback.objects.count() == 2


def test_a_failing_search_log_never_fails_the_search(client, article, monkeypatch):
    from django.db import DatabaseError

    from faq.models import SearchQuery

    def disk_full(*args, **kwargs):
        raise DatabaseError("database or disk is full")

    monkeypatch.setattr(SearchQuery.objects, "create", disk_full)
    response = client.get("/zh-hans/search/", {"q": "提现"})
    assert response.status_code == 200
