from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from faq.models import Article, Category


class SiteUrlSitemap:
    """Entries under DJANGO_SITE_URL, not under whatever Host the request named."""

    def get_protocol(self, protocol: str | None = None) -> str:
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site: Any = None) -> str:
        return urlsplit(settings.SITE_URL).netloc


class StaticPagesSitemap(SiteUrlSitemap, Sitemap[str]):
    i18n = True
    alternates = True
    x_default = True
    changefreq = "weekly"

    def items(self) -> list[str]:
        return ["faq:home", "faq:contact", "faq:security"]

    def location(self, item: str) -> str:
        return reverse(item)


class CategorySitemap(SiteUrlSitemap, Sitemap[Category]):
    i18n = True
    alternates = True
    x_default = True

    def items(self) -> QuerySet[Category]:
        return Category.objects.all()

    def lastmod(self, item: Category) -> datetime:
        return item.updated_at


class ArticleSitemap(SiteUrlSitemap, Sitemap[dict[str, Any]]):
    """One entry per article, in each language it is published in, with hreflang alternates."""

    i18n = True
    alternates = True
    x_default = True

    def items(self) -> list[dict[str, Any]]:
        by_slug: dict[str, dict[str, Any]] = defaultdict(lambda: {"languages": []})
        for slug, language, updated_at in (
            Article.objects.published()
            .order_by("category__order", "order", "slug")
            .values_list("slug", "language", "updated_at")
        ):
            entry = by_slug[slug]
            entry["slug"] = slug
            entry["languages"].append(language)
            entry["lastmod"] = max(entry.get("lastmod", updated_at), updated_at)
        return list(by_slug.values())

    def get_languages_for_item(self, item: dict[str, Any]) -> list[str]:
        languages: list[str] = item["languages"]
        return languages

    def location(self, item: dict[str, Any]) -> str:
        return reverse("faq:article-detail", args=[item["slug"]])

    def lastmod(self, item: dict[str, Any]) -> datetime:
        lastmod: datetime = item["lastmod"]
        return lastmod


sitemaps = {"pages": StaticPagesSitemap, "categories": CategorySitemap, "articles": ArticleSitemap}
