import re

import pytest
from django.urls import reverse

from faq.models import Article
from tests.factories import ArticleFactory, CategoryFactory
from tests.helpers import en, zh

pytestmark = pytest.mark.django_db


def test_root_sends_a_new_visitor_to_the_chinese_site(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/"


def test_home_shows_categories_popular_articles_and_notices(
    client, article_pair, notice, django_assert_max_num_queries
):
    zh_article, _en = article_pair
    Article.objects.filter(pk=zh_article.pk).update(featured=True)
    # + the known incidents (tickets.incidents): loaded once per content version, whose
    # look-ups this test run makes on every call (FAQ_PAGE_CACHE_CHECK_SECONDS=0).
    with django_assert_max_num_queries(7):
        response = client.get(zh("faq:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "提现" in html  # the category card
    assert "1 article" not in html  # Chinese labels, not English
    assert zh_article.title in html  # popular question
    assert notice.title_zh_hans in html
    assert 'action="/zh-hans/search/"' in html
    assert reverse("faq:contact") in html  # still need help?


def test_home_in_english_uses_english_texts(client, article_pair, notice):
    response = client.get(en("faq:home"))
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Withdrawal" in html
    assert notice.title_en in html
    assert "How can we help you?" in html


def test_category_lists_its_published_articles_in_order(
    client, category, django_assert_max_num_queries
):
    second = ArticleFactory.create(category=category, order=20, title="第二篇")
    first = ArticleFactory.create(category=category, order=10, title="第一篇")
    ArticleFactory.create(category=category, order=5, title="草稿", status=Article.Status.DRAFT)
    ArticleFactory.create(category=category, language="en", title="English only")
    with django_assert_max_num_queries(4):
        response = client.get(zh("faq:category-detail", category.slug))
    html = response.content.decode()
    assert html.index(first.title) < html.index(second.title)
    assert first.summary in html
    assert "草稿" not in html
    assert "English only" not in html


def test_unknown_category_is_a_404_in_the_site_look(client, db):
    response = client.get(zh("faq:category-detail", "nope"))
    assert response.status_code == 404
    assert "search-form" in response.content.decode()


def test_article_page_shows_breadcrumb_steps_related_and_contact(
    client, article_pair, django_assert_max_num_queries
):
    zh_article, en_article = article_pair
    related = ArticleFactory.create(category=zh_article.category, title="提现手续费")
    with django_assert_max_num_queries(6):  # + the known incidents, as on the home page
        response = client.get(zh("faq:article-detail", zh_article.slug))
    html = response.content.decode()
    assert response.status_code == 200
    assert zh_article.title in html
    # The breadcrumb: help centre > the article's category > this article.
    breadcrumb = re.search(r'<nav class="breadcrumb" aria-label="面包屑导航">.*?</nav>', html, re.S)
    assert breadcrumb is not None
    trail = re.findall(r"<li>(.*?)</li>", breadcrumb.group())
    assert trail == [
        f'<a href="{zh("faq:home")}">帮助中心</a>',
        f'<a href="{zh("faq:category-detail", zh_article.category.slug)}">提现</a>',
        f'<span aria-current="page">{zh_article.title}</span>',
    ]
    assert "<ol>\n<li>打开应用</li>" in html  # numbered steps from the Markdown
    assert related.title in html
    assert "最后更新" in html
    assert reverse("faq:contact") in html
    assert en_article.get_absolute_url() in html  # link to the translation


def test_article_in_the_other_language_is_its_own_page(client, article_pair):
    _zh, en_article = article_pair
    response = client.get(en("faq:article-detail", en_article.slug))
    assert en_article.title in response.content.decode()


def test_draft_and_missing_articles_are_404(client, category):
    draft = ArticleFactory.create(category=category, status=Article.Status.DRAFT)
    assert client.get(zh("faq:article-detail", draft.slug)).status_code == 404
    assert client.get(zh("faq:article-detail", "no-such-article")).status_code == 404


def test_article_page_answers_an_unchanged_conditional_get_with_304(client, article_pair):
    zh_article, _en = article_pair
    url = zh("faq:article-detail", zh_article.slug)
    first = client.get(url)
    etag, last_modified = first["ETag"], first["Last-Modified"]

    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304

    zh_article.title = "提现多久能到账？（已更新）"
    zh_article.save()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "已更新" in changed.content.decode()


def test_contact_page_lists_every_channel(client, db, settings, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # + a new cache's content version (faq.pagecache)
        response = client.get(en("faq:contact"))
    html = response.content.decode()
    for text in ["Online chat", settings.SUPPORT_HOTLINE, settings.SUPPORT_HOURS, "24 hours",
                 "screenshots", "WeChat", "Weibo", "describe a problem"]:  # fmt: skip
        assert text in html, text


def test_security_page_warns_staff_never_ask_for_secrets(
    client, notice, category, django_assert_max_num_queries
):
    security = CategoryFactory.create(slug="security")
    tip = ArticleFactory.create(category=security, title="开启双重验证")
    with django_assert_max_num_queries(4):
        response = client.get(zh("faq:security"))
    html = response.content.decode()
    assert "验证码" in html and "密码" in html
    assert notice.title_zh_hans in html
    assert tip.title in html


def test_every_public_page_sets_a_nonce_csp_and_no_inline_styles(client, article_pair):
    zh_article, _en = article_pair
    for url in [zh("faq:home"), zh("faq:article-detail", zh_article.slug), zh("faq:contact")]:
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in csp
        assert "unsafe-inline" not in csp
        html = response.content.decode()
        assert "style=" not in html
        assert " on" + "click=" not in html


def test_the_site_map_for_people_lists_every_published_article_in_its_language(client):
    from tests.factories import ArticleFactory, CategoryFactory

    topic = CategoryFactory.create(slug="topic-map", name_zh_hans="提现", name_en="Withdrawals")
    ArticleFactory.create(category=topic, title="提现多久到账", slug="map-a")
    ArticleFactory.create(category=topic, title="草稿", slug="map-b", status="draft")
    ArticleFactory.create(category=topic, title="How long", slug="map-a", language="en")
    html = client.get("/zh-hans/site-map/").content.decode()
    assert "提现多久到账" in html and "草稿" not in html and "How long" not in html
    assert 'href="/zh-hans/verify/"' in html and 'href="/zh-hans/emergency/"' in html
    home = client.get("/zh-hans/").content.decode()
    assert 'href="/zh-hans/site-map/"' in home  # the footer's link is for people, not XML
