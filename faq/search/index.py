"""Indexing: each article's search tokens in ArticleSearchDocument, and the index's vocabulary."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from faq.models import Article, ArticleSearchDocument
from faq.search import vocab
from faq.search.backends import backend
from faq.search.synonyms import current_synonyms, forget_synonyms
from faq.search.text import fold, tokenize
from faq.search.vocab import PerContentVersion, Vocabulary


def document_tokens(text: str, *, language: str) -> list[str]:
    """``tokenize(text)``, plus a synonym group's token for each time one of its members occurs.

    The group is indexed, not the query expanded: an article that lists five synonyms in its
    keywords counts one word five times (bm25 saturates), not five words once each. Editing
    synonyms.toml therefore needs a re-index (load_help_content and rebuild_search_index do it).
    """
    tokens = tokenize(text)
    synonyms = current_synonyms()
    folded = synonyms.mask(fold(text))
    for group in synonyms.groups:
        tokens += [group.token(language)] * len(group.pattern.findall(folded))
    return tokens


_TAG = re.compile(r"<[^>]*>")


def plain_text(body_html: str) -> str:
    # body_html is our own sanitized output (faq.rendering), so a regex can take its tags off;
    # Django's strip_tags parses HTML and cost more than the search itself. A space per tag
    # keeps list items and paragraphs apart: no bigram across "打开应用</li><li>点提现".
    return " ".join(html.unescape(_TAG.sub(" ", body_html)).split())


def document_fields(article: Any) -> dict[str, str]:
    """An article's search tokens by field (the body from its rendered HTML: no link targets)."""
    fields = {
        "title": article.title,
        "keywords": article.keywords,
        "summary": article.summary,
        "body": plain_text(article.body_html),
    }
    return {
        name: " ".join(document_tokens(text, language=article.language))
        for name, text in fields.items()
    }


def index_article(article: Article) -> None:
    ArticleSearchDocument.objects.update_or_create(
        article_id=article.pk, defaults=document_fields(article)
    )
    _current_vocabulary.forget()


def index_saved_article(sender: type[Article], instance: Article, **kwargs: Any) -> None:
    """post_save receiver (connected in FaqConfig.ready): the index follows every save, in the
    same transaction; a deleted article takes its search document with it (CASCADE)."""
    index_article(instance)


def rebuild_index() -> int:
    """Re-tokenize every article (after a change to the tokenizer) and repair the index."""
    search_backend = backend()
    with transaction.atomic():
        # First make the database's index agree with the rows, so that deleting them below
        # removes exactly what is indexed.
        search_backend.repair()
        ArticleSearchDocument.objects.all().delete()
        articles = Article.objects.only(
            "id", "language", "title", "keywords", "summary", "body_html"
        )
        documents = [
            ArticleSearchDocument(article_id=article.pk, **document_fields(article))
            for article in articles.iterator(chunk_size=500)
        ]
        ArticleSearchDocument.objects.bulk_create(documents, batch_size=500)
    search_backend.optimize()
    _current_vocabulary.forget()
    return len(documents)


def vocabulary() -> Vocabulary:
    """The index's vocabulary, as this worker last read it (see faq.search.vocab)."""
    return _current_vocabulary.get()


def forget_vocabulary() -> None:
    _current_vocabulary.forget()


_current_vocabulary = PerContentVersion(lambda: vocab.load(backend().vocabulary()))


def synonyms_changed(language: str, texts: Sequence[str]) -> int:
    """Synonym groups changed (a suggestion accepted): this worker reads them again, the
    others when they next check the content version, and the articles in ``language`` that
    hold one of ``texts`` are re-indexed now. Returns how many were."""
    from faq import pagecache

    forget_synonyms()
    _current_vocabulary.forget()
    pagecache.bump_version()
    transaction.on_commit(pagecache.bump_version)
    holds = Q()
    for text in texts:
        for field_name in ("title", "keywords", "summary", "body"):
            holds |= Q(**{f"{field_name}__icontains": text})
    articles = Article.objects.filter(holds, language=language).only(
        "id", "language", "title", "keywords", "summary", "body_html"
    )
    count = 0
    for article in articles.iterator(chunk_size=500):
        ArticleSearchDocument.objects.update_or_create(
            article_id=article.pk, defaults=document_fields(article)
        )
        count += 1
    return count
