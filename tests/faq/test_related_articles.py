"""The list beside an article (ArticleQuerySet.related_to, written as SQL) is the one the ORM
gives: the same category and language, published, in order, without the article itself."""

import pytest

from faq.models import Article
from tests.factories import ArticleFactory, CategoryFactory
from tests.helpers import zh

pytestmark = pytest.mark.django_db


def orm_related(article: Article, limit: int) -> list[Article]:
    return list(
        Article.objects.published()
        .in_language(article.language)
        .in_category(article.category)
        .exclude(pk=article.pk)[:limit]
    )


def test_the_related_articles_are_the_orms(category):
    article = ArticleFactory.create(category=category, order=3)
    for order in [5, 1, 1, 9, 2, 7]:
        ArticleFactory.create(category=category, order=order)
    ArticleFactory.create(category=category, status=Article.Status.DRAFT, order=0)
    ArticleFactory.create(category=category, language="en", order=0)
    ArticleFactory.create(category=CategoryFactory.create(), order=0)

    related = Article.objects.related_to(article, 5)
    assert [a.pk for a in related] == [a.pk for a in orm_related(article, 5)]
    assert len(related) == 5
    assert [a.order for a in related] == [1, 1, 2, 5, 7]
    assert [a.title for a in related] == [a.title for a in orm_related(article, 5)]


def test_the_article_page_lists_them(client, category):
    article = ArticleFactory.create(slug="main", category=category)
    other = ArticleFactory.create(slug="other", category=category, title="提现失败怎么办？")
    html = client.get(zh("faq:article-detail", article.slug)).content.decode()
    assert f'href="{zh("faq:article-detail", other.slug)}">提现失败怎么办？</a>' in html
