"""Results: the ranked articles, with the query's words marked in titles and snippets."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from faq.models import Article, Category
from faq.search.backends import backend, searchable
from faq.search.index import plain_text, vocabulary
from faq.search.query import ParsedQuery, parse_query
from faq.search.text import LATIN_WORD, normalize_query, stem
from faq.search.textfold import to_simplified

SNIPPET_LENGTH = 160


@cache
def _fold_character(character: str) -> str:
    folded = to_simplified(unicodedata.normalize("NFKC", character).casefold())
    return folded if len(folded) == 1 else character


def _marked(text: str, query: ParsedQuery) -> list[bool]:
    """Which characters of ``text`` belong to a word the query matched."""
    folded = "".join(map(_fold_character, text))  # same length as text: offsets carry over
    marked = [False] * len(text)
    for string in query.marked_strings:
        start = folded.find(string)
        while start != -1:
            marked[start : start + len(string)] = [True] * len(string)
            start = folded.find(string, start + 1)
    if query.marked_words or query.marked_prefixes:
        for match in LATIN_WORD.finditer(folded):
            token = stem(match.group())
            if token in query.marked_words or token.startswith(tuple(query.marked_prefixes)):
                marked[match.start() : match.end()] = [True] * (match.end() - match.start())
    return marked


def _render(text: str, marked: Sequence[bool]) -> SafeString:
    """Escaped text with <mark> around the marked runs: a query or an article is never HTML."""
    parts: list[str] = []
    start = 0
    for end in range(1, len(text) + 1):
        if end == len(text) or marked[end] != marked[start]:
            piece = escape(text[start:end])
            parts.append(f"<mark>{piece}</mark>" if marked[start] else piece)
            start = end
    return mark_safe("".join(parts))  # noqa: S308 - every piece went through escape()


def _snippet_window(text: str, first: int) -> tuple[int, int]:
    """About SNIPPET_LENGTH characters around the first match, starting at a sentence or word."""
    start = max(0, first - SNIPPET_LENGTH // 4)
    sentence = max(text.rfind(mark, 0, first) for mark in "。！？.!?;；")
    if sentence >= start - SNIPPET_LENGTH // 4:
        start = sentence + 1
    elif start and (space := text.rfind(" ", 0, start)) > start - 15:
        start = space + 1
    while start < first and text[start] == " ":
        start += 1
    end = min(len(text), start + SNIPPET_LENGTH)
    if end < len(text) and (space := text.rfind(" ", start, end)) > end - 15:
        end = space
    return start, end


def highlight(text: str, query: ParsedQuery) -> SafeString:
    return _render(text, _marked(text, query))


@dataclass
class SearchResult:
    """One hit: the article, and its title and a snippet with the query's words marked."""

    article: Article
    query: ParsedQuery

    @property
    def slug(self) -> str:
        return self.article.slug

    @property
    def title(self) -> str:
        return self.article.title

    @property
    def summary(self) -> str:
        return self.article.summary

    @property
    def category(self) -> Category:
        return self.article.category

    @property
    def language(self) -> str:
        return self.article.language

    def get_absolute_url(self) -> str:
        return self.article.get_absolute_url()

    @cached_property
    def title_html(self) -> SafeString:
        return highlight(self.article.title, self.query)

    @cached_property
    def snippet(self) -> SafeString:
        """The summary if it holds a match, else the stretch of the body around the first one."""
        summary = self.article.summary
        marked = _marked(summary, self.query)
        if any(marked):
            return _render(summary, marked)
        body = plain_text(self.article.body_html)
        marked = _marked(body, self.query)
        if not any(marked):
            return escape(summary)
        start, end = _snippet_window(body, marked.index(True))
        before = "… " if start > 0 else ""
        after = " …" if end < len(body) else ""
        return mark_safe(f"{before}{_render(body[start:end], marked[start:end])}{after}")  # noqa: S308


@dataclass
class SearchOutcome:
    results: list[SearchResult]
    # What was searched instead of the query as typed ("recieve" -> "receive"), or "".
    corrected: str = ""


def find(query: str, *, language: str, limit: int = 20, exact: bool = False) -> SearchOutcome:
    """The published articles in ``language`` that answer ``query``, best first.

    Any string is a valid query: what cannot be searched (punctuation, emoji, FTS syntax) is
    dropped, and an empty or unsearchable query finds nothing. Unless ``exact``, what the
    index cannot match is corrected first (see ``correct``), and the outcome says so.
    """
    if limit <= 0 or not normalize_query(query):
        return SearchOutcome(results=[])
    words = vocabulary()
    parsed = parse_query(query, language=language, vocabulary=None if exact else words)
    if not parsed.concepts:
        return SearchOutcome(results=[], corrected=parsed.corrected)
    ids = backend().rank(parsed, language=language, limit=limit)
    if not ids:
        return SearchOutcome(results=[], corrected=parsed.corrected)
    articles = searchable(language).filter(pk__in=ids).select_related("category").defer("body")
    by_id = {article.pk: article for article in articles}
    results = [SearchResult(article=by_id[pk], query=parsed) for pk in ids if pk in by_id]
    return SearchOutcome(results=results, corrected=parsed.corrected)


def search(query: str, *, language: str, limit: int = 20) -> list[SearchResult]:
    """``find(query)``'s results: what other pages (the ticket form's suggestions) show."""
    return find(query, language=language, limit=limit).results
