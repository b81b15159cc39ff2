import pytest

from faq.models import Article, Category, SecurityNotice
from tests.helpers import load_help_content

# Every test starts from the shipped content, loaded once for the module (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("help_content")]


def test_the_shipped_content_loads_in_both_languages():
    for language in ["zh-hans", "en"]:
        assert Article.objects.published().in_language(language).count() >= 30
    assert Category.objects.count() >= 8
    assert SecurityNotice.objects.published().exists()
    for category in Category.objects.all():
        assert Article.objects.in_category(category).in_language("zh-hans").exists(), category
    # Every article is linked to its translation through the shared slug.
    zh = set(Article.objects.in_language("zh-hans").values_list("slug", flat=True))
    en = set(Article.objects.in_language("en").values_list("slug", flat=True))
    assert zh == en


def test_running_it_twice_doubles_nothing():
    counts = (Article.objects.count(), Category.objects.count(), SecurityNotice.objects.count())
    output = load_help_content()
    assert (
        Article.objects.count(),
        Category.objects.count(),
        SecurityNotice.objects.count(),
    ) == counts
    assert " 0 created" in output and " 0 updated" in output


def test_an_article_edited_by_staff_is_kept_unless_forced():
    article = Article.objects.in_language("en").get(slug="cannot-log-in")
    article.title = "Edited by our support lead"
    article.save()

    output = load_help_content()
    article.refresh_from_db()
    assert article.title == "Edited by our support lead"
    assert "1 kept" in output

    load_help_content("--force")
    article.refresh_from_db()
    assert article.title != "Edited by our support lead"


def test_internal_links_in_the_content_point_to_real_pages(client):
    for article in Article.objects.all():
        for href in article.body_html.split('href="')[1:]:
            url = href.split('"')[0]
            if url.startswith("/"):
                assert client.get(url).status_code == 200, (article.slug, url)
