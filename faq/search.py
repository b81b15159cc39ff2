"""Help-centre search: one interface, ``search(query, language=...)``.

This first version matches every word of the query in the title, summary, keywords or body.
The search issue replaces the inside with full-text indexes; callers do not change.
"""

from django.db.models import Q

from faq.models import Article, ArticleQuerySet

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8


def normalize_query(raw: str) -> str:
    """Collapse whitespace, drop control characters, bound the length."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in raw[: MAX_QUERY_LENGTH * 2])
    return " ".join(cleaned.split())[:MAX_QUERY_LENGTH]


def search(query: str, *, language: str) -> ArticleQuerySet:
    terms = normalize_query(query).split()[:MAX_TERMS]
    if not terms:
        return Article.objects.none()
    results = Article.objects.published().in_language(language).select_related("category")
    for term in terms:
        results = results.filter(
            Q(title__icontains=term)
            | Q(summary__icontains=term)
            | Q(keywords__icontains=term)
            | Q(body__icontains=term)
        )
    return results
