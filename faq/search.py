"""Help-centre search: ``search(query, language=...)`` and ``normalize_query(raw)``.

The text is tokenized here, in Python, and not by the database: SQLite's trigram tokenizer
cannot match a two-character Chinese word (提现), and neither SQLite's unicode61 tokenizer nor
PostgreSQL's 'simple' configuration segments Chinese. ``tokenize()`` turns an article's fields
and a customer's query into the same search tokens, and the database only stores and ranks
them:

* folding: NFKC (full-width ＯＫ and ２ＦＡ become ok and 2fa) and case folding;
* Chinese runs: overlapping character bigrams, as Lucene's CJKAnalyzer does
  (提现多久 -> 提现 现多 多久), after cutting out stop words (如何, 怎么, 的 ...). On the
  evaluation set bigrams found more (recall@3 1.00, MRR 0.94) than jieba's search mode with the
  synonyms in its dictionary (0.985, 0.92), and add no memory to a worker, where jieba adds about
  70 MB; scripts/compare_segmenters.py measures both. Their weakness, a bigram that straddles
  two words (开发票 holds 开发), is why an article must match most of a query;
* other words: a plural "s" removed (fees -> fee), stop words (how, to, the ...) dropped;
* synonyms (faq/content/synonyms.toml): wherever a member of a group occurs, the index also
  holds the group's own token, and a query that names any member looks for that token
  (充值 = 入金 = top up). Editing the groups therefore needs a re-index: load_help_content
  and rebuild_search_index do it.

Each article's tokens live in ``ArticleSearchDocument``, rewritten whenever the article is
saved; the database indexes those rows itself (migration 0002): SQLite in an FTS5 table ranked
with bm25(), PostgreSQL in a tsvector column with a GIN index ranked with ts_rank(). Both weigh
the title above the keywords, the keywords above the summary and the summary above the body.

A query is a list of concepts: a synonym group it mentions, or one of its other tokens. An
article must match at least half of the concepts that occur anywhere in the index (a bigram
across two words, such as 号被 in 账号被冻结, occurs nowhere and does not count) and a fifth
of all of them; the more concepts it matches the higher it ranks, and bm25 / ts_rank order
articles that match as many.
"""

from __future__ import annotations

import html
import re
import tomllib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from faq.models import Article, ArticleSearchDocument, Category

MAX_QUERY_LENGTH = 200
MAX_CONCEPTS = 8
MIN_MATCH_PERCENT = 50
MIN_MATCH_PERCENT_OF_ALL = 20
SNIPPET_LENGTH = 160
SYNONYMS_FILE = Path(__file__).resolve().parent / "content" / "synonyms.toml"

# --- Text analysis ----------------------------------------------------------------------------

# Han (with extensions), kana and Hangul: scripts written without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
_LATIN_WORD = re.compile(rf"[^\W_{_CJK}]+")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")

ENGLISH_STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
# Longest first: 怎么办 goes as a whole, not as 怎么 plus a stray 办.
CHINESE_STOP_WORDS = sorted(
    [
        "请问",
        "如何",
        "怎么",
        "怎样",
        "怎么办",
        "怎么样",
        "为什么",
        "为何",
        "什么",
        "哪里",
        "哪儿",
        "哪些",
        "哪个",
        "是否",
        "是不是",
        "可以",
        "可不可以",
        "能否",
        "能不能",
        "有没有",
        "一下",
        "我的",
        "我们",
        "你们",
        "您好",
        "你好",
        "谢谢",
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "嘛",
        "哦",
        "我",
        "您",
        "你",
    ],
    key=len,
    reverse=True,
)
_CHINESE_STOP = re.compile("|".join(map(re.escape, CHINESE_STOP_WORDS)))


def fold(text: str) -> str:
    """Full-width forms to their ASCII twins, case folded, apostrophes out of words (can't)."""
    return _APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).casefold())


def stem(word: str) -> str:
    """Remove an English plural (a minimal stemmer): fees -> fee, policies -> policy."""
    if len(word) < 4 or word[-1] != "s" or not (word.isascii() and word.isalpha()):
        return word
    if word.endswith("ies") and word[-4] not in "ae":
        return word[:-3] + "y"
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


def cjk_bigrams(run: str) -> list[str]:
    """Overlapping bigrams of a run of Chinese text, stop words cut out first.

    A piece of one character (between two stop words) is kept as it is, so that a query of
    one character still finds it.
    """
    tokens: list[str] = []
    for piece in _CHINESE_STOP.split(run):
        if len(piece) == 1:
            tokens.append(piece)
        else:
            tokens.extend(piece[i : i + 2] for i in range(len(piece) - 1))
    return tokens


# How a run of Chinese text becomes tokens. scripts/compare_segmenters.py swaps in jieba to
# measure it against bigrams; the index must be rebuilt after a change.
cjk_segmenter: Callable[[str], list[str]] = cjk_bigrams


def _word_token(word: str) -> str | None:
    return None if word in ENGLISH_STOP_WORDS else stem(word)


def tokenize(text: str) -> list[str]:
    """The search tokens of a text, in order: what the index stores and a query looks for."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(fold(text)):
        if match.lastgroup == "cjk":
            tokens.extend(cjk_segmenter(match.group()))
        elif token := _word_token(match.group()):
            tokens.append(token)
    return tokens


def normalize_query(raw: str) -> str:
    """The query as typed, made safe to search, show and log.

    NFKC folds full-width letters and digits; control characters (a NUL byte) are removed,
    other white space collapsed; the length is bounded.
    """
    text = unicodedata.normalize("NFKC", raw[: MAX_QUERY_LENGTH * 4])
    cleaned = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char)[0] != "C"
    )
    return " ".join(cleaned.split())[:MAX_QUERY_LENGTH].strip()


def is_too_short(query: str) -> bool:
    """One letter or digit is no search; one Chinese character can be (卡, 锁)."""
    return len(query) < 2 and not re.fullmatch(rf"[{_CJK}]", query)


# --- Synonyms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SynonymGroup:
    number: int
    members: tuple[str, ...]  # folded
    pattern: re.Pattern[str]  # any member

    def token(self, language: str) -> str:
        """What the index holds wherever a member occurs: letters and digits, like every token,
        that no customer types. One per language, so that its posting list is no longer than
        the language's articles (the filter on language then has little left to drop)."""
        return f"synonym{self.number}{language.replace('-', '')}"


@dataclass(frozen=True)
class _Synonyms:
    groups: tuple[_SynonymGroup, ...]
    # Every member of every group, longest first; the regex group name says which group.
    query_pattern: re.Pattern[str] | None
    group_of: dict[str, _SynonymGroup]
    accidental: re.Pattern[str] | None

    def mask(self, folded: str) -> str:
        """Blank out the accidental spots, keeping every other character where it was."""
        if self.accidental is None:
            return folded
        return self.accidental.sub(lambda match: " " * len(match.group()), folded)


def _member_pattern(member: str) -> str | None:
    parts = [match.group() for match in _TOKEN.finditer(member)]
    if not parts:
        return None
    pattern = r"[\W_]*".join(map(re.escape, parts))
    # An English member is a whole word: "cap" must not match inside "capital".
    if not re.match(rf"[{_CJK}]", parts[0]):
        pattern = rf"(?<![^\W_{_CJK}]){pattern}"
    if not re.match(rf"[{_CJK}]", parts[-1]):
        pattern = rf"{pattern}(?![^\W_{_CJK}])"
    return pattern


@cache
def _synonyms() -> _Synonyms:
    with SYNONYMS_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    raw_groups = data.get("groups", [])
    accidental = sorted((fold(phrase) for phrase in data.get("accidental", [])), key=len)
    groups: list[_SynonymGroup] = []
    alternatives: list[tuple[str, str, int]] = []  # (member, pattern, group index)
    for raw_members in raw_groups:
        members = tuple(dict.fromkeys(fold(member) for member in raw_members))
        patterns = [(m, p) for m in members if (p := _member_pattern(m))]
        if not patterns:
            continue
        alternatives += [(member, pattern, len(groups)) for member, pattern in patterns]
        groups.append(
            _SynonymGroup(
                number=len(groups),
                members=members,
                pattern=re.compile("|".join(p for _m, p in patterns)),
            )
        )
    # Longest first, so that 忘记密码 wins over 密码 and 客服电话 over 客服.
    alternatives.sort(key=lambda item: len(item[0]), reverse=True)
    pattern = "|".join(f"(?P<m{i}>{p})" for i, (_member, p, _group) in enumerate(alternatives))
    return _Synonyms(
        groups=tuple(groups),
        query_pattern=re.compile(pattern) if pattern else None,
        group_of={f"m{i}": groups[group] for i, (_m, _p, group) in enumerate(alternatives)},
        accidental=(
            re.compile("|".join(map(re.escape, reversed(accidental)))) if accidental else None
        ),
    )


def document_tokens(text: str, *, language: str) -> list[str]:
    """``tokenize(text)``, plus a synonym group's token for each time one of its members occurs.

    The group is indexed, not the query expanded: an article that lists five synonyms in its
    keywords counts one word five times (bm25 saturates), not five words once each. Editing
    synonyms.toml therefore needs a re-index (load_help_content and rebuild_search_index do it).
    """
    tokens = tokenize(text)
    synonyms = _synonyms()
    folded = synonyms.mask(fold(text))
    for group in synonyms.groups:
        tokens += [group.token(language)] * len(group.pattern.findall(folded))
    return tokens


# --- Queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """What one part of a query asks for: any of its alternatives (each a phrase of tokens)."""

    alternatives: tuple[tuple[str, ...], ...]
    prefix: bool = False  # the last word, maybe still being typed: "withdr" finds "withdraw"


@dataclass
class ParsedQuery:
    concepts: list[Concept] = field(default_factory=list)
    # What to mark in titles and snippets: Chinese strings, English tokens and token prefixes.
    marked_strings: set[str] = field(default_factory=set)
    marked_words: set[str] = field(default_factory=set)
    marked_prefixes: set[str] = field(default_factory=set)

    def add(self, concept: Concept) -> None:
        if concept not in self.concepts and len(self.concepts) < MAX_CONCEPTS:
            self.concepts.append(concept)


# The brand is in nearly every article: next to other words it only adds noise to a query.
_BRAND = re.compile(r"(?<![a-z0-9])ok\s*(?:钱包|wallet|pay)(?![a-z0-9])")


def parse_query(query: str, *, language: str) -> ParsedQuery:
    text = fold(normalize_query(query))
    parsed = _parse(_BRAND.sub(" ", text), language=language)
    return parsed if parsed.concepts else _parse(text, language=language)


def _parse(text: str, *, language: str) -> ParsedQuery:
    parsed = ParsedQuery()
    synonyms = _synonyms()
    leftovers: list[str] = []
    position = 0
    if synonyms.query_pattern is not None:
        for match in synonyms.query_pattern.finditer(synonyms.mask(text)):
            leftovers.append(text[position : match.start()])
            position = match.end()
            group = synonyms.group_of[match.lastgroup or ""]
            parsed.add(Concept(alternatives=((group.token(language),),)))
            for member in group.members:
                _mark(parsed, member)
    leftovers.append(text[position:])

    single_characters: list[str] = []
    for index, piece in enumerate(leftovers):
        matches = list(_TOKEN.finditer(piece))
        for match in matches:
            if match.lastgroup == "cjk":
                for token in cjk_segmenter(match.group()):
                    if len(token) == 1:
                        single_characters.append(token)
                    else:
                        parsed.add(Concept(alternatives=((token,),)))
                        parsed.marked_strings.add(token)
                continue
            word = _word_token(match.group())
            if word is None:
                continue
            typing = (
                index == len(leftovers) - 1
                and match is matches[-1]
                and match.end() == len(piece)
                and len(word) >= 3
            )
            parsed.add(Concept(alternatives=((word,),), prefix=typing))
            (parsed.marked_prefixes if typing else parsed.marked_words).add(word)
    # A lone character left between stop words and synonyms (后, 钱) says little next to the
    # rest of the query; on its own it is searched as the start of a word.
    if not parsed.concepts:
        for character in single_characters:
            parsed.add(Concept(alternatives=((character,),), prefix=True))
            parsed.marked_strings.add(character)
    return parsed


def _mark(parsed: ParsedQuery, text: str) -> None:
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "cjk":
            parsed.marked_strings.add(match.group())
        elif token := _word_token(match.group()):
            parsed.marked_words.add(token)


# --- Backends ---------------------------------------------------------------------------------


class SearchBackend(Protocol):
    def rank(self, query: ParsedQuery, *, language: str, limit: int) -> list[int]:
        """Ids of the published articles in ``language`` that match, best first."""
        ...

    def repair(self) -> None:
        """Make the database's index agree with the ArticleSearchDocument rows."""
        ...

    def optimize(self) -> None: ...


class SQLiteBackend:
    """FTS5 table ``faq_article_fts``, filled from ArticleSearchDocument by triggers."""

    table = "faq_article_fts"
    # bm25 column weights: title, keywords, summary, body.
    weights = (10.0, 5.0, 3.0, 1.0)

    @staticmethod
    def expression(concept: Concept) -> str:
        # Tokens hold letters and digits only, so quoting them leaves no FTS5 syntax to inject.
        star = "*" if concept.prefix else ""
        phrases = [f'"{" ".join(tokens)}"{star}' for tokens in concept.alternatives]
        return f"({' OR '.join(phrases)})"

    def rank(self, query: ParsedQuery, *, language: str, limit: int) -> list[int]:
        table = self.table
        weights = ", ".join(map(str, self.weights))
        # One SELECT per concept: the articles that match it, and its share of their bm25
        # (bm25 of an OR query is the sum of its parts, so the sum below equals it).
        # Concept numbers and weights are ours: no user input in the SQL text.
        hits = " UNION ALL ".join(
            f"SELECT rowid AS id, {number} AS concept, bm25({table}, {weights}) AS score "
            f"FROM {table} WHERE {table} MATCH %s"
            for number in range(len(query.concepts))
        )
        # The language and status filter reads the (language, status, ...) index, not the
        # wide article rows: joining those for thousands of hits was the slowest part.
        sql = f"""
            WITH hits AS ({hits}),
            present AS (SELECT COUNT(DISTINCT concept) AS concepts FROM hits),
            ranked AS (
                SELECT id, COUNT(*) AS matched, SUM(score) AS score FROM hits GROUP BY id
            )
            SELECT ranked.id FROM ranked, present
            WHERE ranked.matched * 100 >= present.concepts * %s
              AND ranked.matched * 100 >= %s
              AND ranked.id IN (
                  SELECT id FROM {Article._meta.db_table} WHERE language = %s AND status = %s
              )
            ORDER BY ranked.matched DESC, ranked.score, ranked.id
            LIMIT %s
        """
        params: list[Any] = [
            *(self.expression(concept) for concept in query.concepts),
            MIN_MATCH_PERCENT,
            len(query.concepts) * MIN_MATCH_PERCENT_OF_ALL,
            language,
            Article.Status.PUBLISHED,
            limit,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def repair(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.table}({self.table}) VALUES ('rebuild')")

    def optimize(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.table}({self.table}) VALUES ('optimize')")


class PostgreSQLBackend:
    """A generated tsvector column ``vector`` on ArticleSearchDocument, with a GIN index."""

    # ts_rank weights for D, C, B, A: body, summary, keywords, title. No length normalization:
    # it ranked worse on the evaluation set (MRR 0.93 with 1, 0.87 with 2, 0.945 without).
    weights = "{0.1, 0.3, 0.5, 1.0}"

    @staticmethod
    def expression(concept: Concept) -> str:
        star = ":*" if concept.prefix else ""
        phrases = [
            " <-> ".join(f"'{token}'{star}" for token in tokens) for tokens in concept.alternatives
        ]
        return f"({' | '.join(phrases)})"

    def rank(self, query: ParsedQuery, *, language: str, limit: int) -> list[int]:
        documents = ArticleSearchDocument._meta.db_table
        expressions = [self.expression(concept) for concept in query.concepts]
        # Coverage first, from one GIN index scan per concept. ts_rank() reads (and
        # decompresses) a whole vector, so it runs only for the candidates that can still reach
        # the page: every article at least as well covered as the limit-th best one (all of a
        # tie, so the order is exact). Concept numbers are ours: no user input in the SQL text.
        # faq_article_matches() (migration 0002) makes sure the GIN index is used.
        hits = " UNION ALL ".join(
            f"SELECT id, {number} AS concept "
            "FROM faq_article_matches(to_tsquery('simple', %s)) AS id"
            for number in range(len(expressions))
        )
        sql = f"""
            WITH hits AS MATERIALIZED ({hits}),
            present AS (SELECT COUNT(DISTINCT concept) AS concepts FROM hits),
            eligible AS MATERIALIZED (
                SELECT hits.id, COUNT(*) AS matched
                FROM hits JOIN {Article._meta.db_table} article ON article.id = hits.id
                WHERE article.language = %s AND article.status = %s
                GROUP BY hits.id
                HAVING COUNT(*) * 100 >= (SELECT concepts FROM present) * %s
                   AND COUNT(*) * 100 >= %s
            ),
            cutoff AS (
                SELECT COALESCE(
                    (SELECT matched FROM eligible ORDER BY matched DESC OFFSET %s LIMIT 1), 0
                ) AS matched
            )
            SELECT eligible.id
            FROM eligible
            JOIN {documents} doc ON doc.article_id = eligible.id
            WHERE eligible.matched >= (SELECT matched FROM cutoff)
            ORDER BY eligible.matched DESC,
                     ts_rank(%s::float4[], doc.vector, to_tsquery('simple', %s)) DESC,
                     eligible.id
            LIMIT %s
        """
        params: list[Any] = [
            *expressions,
            language,
            Article.Status.PUBLISHED,
            MIN_MATCH_PERCENT,
            len(expressions) * MIN_MATCH_PERCENT_OF_ALL,
            limit - 1,
            self.weights,
            " | ".join(expressions),
            limit,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def repair(self) -> None:
        pass  # the column is generated from the row: it cannot disagree with it

    def optimize(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ArticleSearchDocument._meta.db_table}")


BACKENDS: dict[str, type[SQLiteBackend] | type[PostgreSQLBackend]] = {
    "sqlite": SQLiteBackend,
    "postgresql": PostgreSQLBackend,
}


def backend() -> SearchBackend:
    try:
        return BACKENDS[connection.vendor]()
    except KeyError:
        raise ImproperlyConfigured(
            f"Help-centre search supports SQLite and PostgreSQL, not {connection.vendor}."
        ) from None


# --- Indexing ---------------------------------------------------------------------------------


_TAG = re.compile(r"<[^>]*>")


def _plain_text(body_html: str) -> str:
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
        "body": _plain_text(article.body_html),
    }
    return {
        name: " ".join(document_tokens(text, language=article.language))
        for name, text in fields.items()
    }


def index_article(article: Article) -> None:
    ArticleSearchDocument.objects.update_or_create(
        article_id=article.pk, defaults=document_fields(article)
    )


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
    return len(documents)


# --- Results ----------------------------------------------------------------------------------


@cache
def _fold_character(character: str) -> str:
    folded = unicodedata.normalize("NFKC", character).casefold()
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
        for match in _LATIN_WORD.finditer(folded):
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
        body = _plain_text(self.article.body_html)
        marked = _marked(body, self.query)
        if not any(marked):
            return escape(summary)
        start, end = _snippet_window(body, marked.index(True))
        before = "… " if start > 0 else ""
        after = " …" if end < len(body) else ""
        return mark_safe(f"{before}{_render(body[start:end], marked[start:end])}{after}")  # noqa: S308


def search(query: str, *, language: str, limit: int = 20) -> list[SearchResult]:
    """The published articles in ``language`` that answer ``query``, best first.

    Any string is a valid query: what cannot be searched (punctuation, emoji, FTS syntax) is
    dropped, and an empty or unsearchable query finds nothing.
    """
    parsed = parse_query(query, language=language)
    if not parsed.concepts or limit <= 0:
        return []
    ids = backend().rank(parsed, language=language, limit=limit)
    if not ids:
        return []
    articles = Article.objects.filter(pk__in=ids).select_related("category").defer("body")
    by_id = {article.pk: article for article in articles}
    return [SearchResult(article=by_id[pk], query=parsed) for pk in ids if pk in by_id]
