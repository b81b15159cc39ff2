import pytest

pytestmark = pytest.mark.django_db


def test_switching_language_goes_to_the_same_page_and_is_remembered(client, article_pair):
    zh_article, en_article = article_pair
    page = client.get(zh_article.get_absolute_url()).content.decode()
    assert f'href="/language/en/?next=%2Fzh-hans%2Farticles%2F{zh_article.slug}%2F"' in page

    response = client.get("/language/en/", {"next": zh_article.get_absolute_url()})
    assert response.status_code == 302
    assert response["Location"] == en_article.get_absolute_url()

    # Next visit to the bare domain: the remembered language wins over the default.
    assert client.get("/")["Location"] == "/en/"


def test_switch_refuses_to_redirect_off_site(client, db):
    response = client.get("/language/en/", {"next": "https://evil.example/phish"})
    assert response["Location"] == "/en/"


def test_unknown_language_falls_back_to_chinese(client, db):
    response = client.get("/language/xx/", {"next": "/en/contact/"})
    assert response["Location"] == "/zh-hans/contact/"


def test_article_without_translation_switches_to_the_other_home(client, category):
    from tests.factories import ArticleFactory

    only_zh = ArticleFactory.create(category=category, slug="zh-only")
    page = client.get(only_zh.get_absolute_url()).content.decode()
    assert 'href="/language/en/?next=%2Fzh-hans%2F"' in page
    assert 'hreflang="en"' not in page.split("</head>")[0]


def test_labels_are_translated(client, db):
    assert "帮助中心" in client.get("/zh-hans/contact/").content.decode()
    assert "Help Centre" in client.get("/en/contact/").content.decode()


def test_accept_language_picks_english_for_a_first_visit(client, db):
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response["Location"] == "/en/"
