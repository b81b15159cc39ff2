"""Help-centre search: ``search(query, language=...)`` and ``normalize_query(raw)``.

The text is tokenized here, in Python, and not by the database: SQLite's trigram tokenizer
cannot match a two-character Chinese word (提现), and neither SQLite's unicode61 tokenizer nor
PostgreSQL's 'simple' configuration segments Chinese. ``tokenize()`` turns an article's fields
and a customer's query into the same search tokens, and the database only stores and ranks
them:

* folding: NFKC (full-width ＯＫ and ２ＦＡ become ok and 2fa), case folding, accents off Latin
  letters (tí xiàn -> ti xian) and traditional Chinese to simplified with OpenCC (轉賬 -> 转账;
  faq/textfold.py);
* Chinese runs: overlapping character bigrams, as Lucene's CJKAnalyzer does
  (提现多久 -> 提现 现多 多久), after cutting out stop words and filler (如何, 麻烦帮我看看,
  的 ...: faq/content/stopwords.toml). On the
  evaluation set bigrams found more (recall@3 1.00, MRR 0.94) than jieba's search mode with the
  synonyms in its dictionary (0.985, 0.92), and add no memory to a worker, where jieba adds about
  70 MB; scripts/compare_segmenters.py measures both. Their weakness, a bigram that straddles
  two words (开发票 holds 开发), is why articles rank by how much of a query they cover;
* other words: a plural "s" removed (fees -> fee), stop words (how, to, the, i want ...)
  dropped;
* synonyms (faq/content/synonyms.toml, and the suggestions staff accepted): wherever a member
  of a group occurs, the index also holds the group's own token, and a query that names any
  member looks for that token (充值 = 入金 = top up). Editing the file therefore needs a
  re-index (load_help_content and rebuild_search_index do it); accepting a suggestion
  re-indexes the articles it concerns at once.

Each article's tokens live in ``ArticleSearchDocument``, rewritten whenever the article is
saved; the database indexes those rows itself (migration 0002): SQLite in an FTS5 table ranked
with bm25(), PostgreSQL in a tsvector column with a GIN index ranked with ts_rank(). Both weigh
the title above the keywords, the keywords above the summary and the summary above the body.

Before it is parsed, a query is corrected against the index's own vocabulary (``correct``,
faq/search_vocab.py): pinyin to the Chinese it reads as, a Chinese bigram no article holds to
one that sounds the same, a misspelt English word to the closest indexed one. What the index
holds is never changed, so exact matches keep their place; the page says what was searched
instead and offers the query as typed (``find(..., exact=True)``).

A query is then a list of concepts: a synonym group it mentions, or one of its other tokens.
Articles rank by how many of the concepts that occur anywhere in the index they match (a
bigram across two words, such as 号被 in 账号被冻结, occurs nowhere and does not count), then
by bm25 / ts_rank; one that covers less than a quarter of them is left out. A hard "half of
the query" rule hid the answer to long questions: each extra bigram of filler raised the bar.
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
from django.db.models import Q
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from faq import search_vocab
from faq.models import Article, ArticleSearchDocument, Category
from faq.search_vocab import Vocabulary
from faq.textfold import split_pinyin, strip_tones, to_simplified

MAX_QUERY_LENGTH = 200
MAX_CONCEPTS = 8
# An article must cover this share of the query's weight: enough to keep an article that
# shares one common word with a long question off the list, not a hard "half of the words".
MIN_COVERAGE_PERCENT = 25
SNIPPET_LENGTH = 160
SYNONYMS_FILE = Path(__file__).resolve().parent / "content" / "synonyms.toml"

# --- Text analysis ----------------------------------------------------------------------------

# Han (with extensions), kana and Hangul: scripts written without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
_LATIN_WORD = re.compile(rf"[^\W_{_CJK}]+")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")

STOP_WORDS_FILE = Path(__file__).resolve().parent / "content" / "stopwords.toml"
with STOP_WORDS_FILE.open("rb") as _handle:
    _stop_words = tomllib.load(_handle)
ENGLISH_STOP_WORDS = frozenset(_stop_words["english"])
# Longest first: 怎么办 goes as a whole, not as 怎么 plus a stray 办.
CHINESE_STOP_WORDS = sorted(_stop_words["chinese"], key=len, reverse=True)
_CHINESE_STOP = re.compile("|".join(map(re.escape, CHINESE_STOP_WORDS)))


def fold(text: str) -> str:
    """Full-width forms to their ASCII twins, case folded, apostrophes out of words (can't),
    traditional Chinese to simplified (轉賬 -> 转账)."""
    return to_simplified(_APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).casefold()))


def _strip_marks(word: str) -> str:
    """Accents off a Latin word (tí xiàn -> ti xian, café -> cafe); other words as they are."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word).replace("u\u0308", "v")
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


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
    word = _strip_marks(word)
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
def _shipped_synonyms() -> dict[str, Any]:
    with SYNONYMS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def learned_groups(groups: list[list[str]]) -> list[list[str]]:
    """``groups`` with the synonym suggestions staff accepted: a phrase joins the group that
    holds its partner (folded alike), or forms a new group with it. New groups go last, so
    the shipped groups keep their numbers (and their index tokens)."""
    from faq.models import SynonymSuggestion

    if not _learned_table_exists():
        return groups
    result = [list(group) for group in groups]
    where = {fold(member): number for number, group in enumerate(result) for member in group}
    pairs = SynonymSuggestion.objects.accepted().order_by("pk").values_list("phrase", "joins")
    for phrase, partner in pairs:
        number = where.get(fold(partner), where.get(fold(phrase)))
        if number is None:
            number = len(result)
            result.append([partner])
            where[fold(partner)] = number
        if fold(phrase) not in where:
            result[number].append(phrase)
            where[fold(phrase)] = number
    return result


_learned_table: dict[str, bool] = {"exists": False}


def _learned_table_exists() -> bool:
    # While migrating (migration 0002 indexes articles) the table may not exist yet; once it
    # does, it stays: look once per process.
    if not _learned_table["exists"]:
        from faq.models import SynonymSuggestion

        tables = connection.introspection.table_names()
        _learned_table["exists"] = SynonymSuggestion._meta.db_table in tables
    return _learned_table["exists"]


def _synonyms() -> _Synonyms:
    """The synonym groups as they are now: shipped ones and accepted suggestions, read again
    when the help content changes (as the vocabulary is: faq.search_vocab)."""
    return _current_synonyms.get()


def forget_synonyms() -> None:
    _current_synonyms.forget()


def _build_synonyms(data: dict[str, Any]) -> _Synonyms:
    raw_groups = learned_groups(data.get("groups", []))
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


_current_synonyms = search_vocab.PerContentVersion(lambda: _build_synonyms(_shipped_synonyms()))


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
    # The query as searched when a correction changed it ("recieve" -> "receive"), else "".
    corrected: str = ""

    def add(self, concept: Concept) -> None:
        if concept not in self.concepts and len(self.concepts) < MAX_CONCEPTS:
            self.concepts.append(concept)


# The brand is in nearly every article: next to other words it only adds noise to a query.
_BRAND = re.compile(r"(?<![a-z0-9])ok\s*(?:钱包|wallet|pay)(?![a-z0-9])")


def parse_query(query: str, *, language: str, vocabulary: Vocabulary | None = None) -> ParsedQuery:
    """The concepts of ``query``; with a vocabulary, after correcting what the index lacks."""
    text = fold(normalize_query(query))
    corrected = correct(text, language=language, vocabulary=vocabulary) if vocabulary else text
    parsed = _parse(_BRAND.sub(" ", corrected), language=language)
    if not parsed.concepts:
        parsed = _parse(corrected, language=language)
    if corrected != text:
        parsed.corrected = corrected
    return parsed


# --- Corrections ------------------------------------------------------------------------------

# A Latin word as pinyin may carry tone digits (ti2xian4); tone marks are gone by now.
_PINYIN_WORD = re.compile(r"[a-z]+(?:[1-5][a-z]*)*[1-5]?")
_TONED_PINYIN = re.compile(r"(?:[a-z]+[1-5])+[a-z]*")
_CONSONANTS = frozenset("bcdfghjklmnpqrstwxyz")
_RUN_GAP = re.compile(r"[ \-]+")


def _protected(text: str) -> list[bool]:
    """The characters that belong to a synonym's member (登陆, topup): they mean what they say
    even where the index holds no such token, so no correction touches them."""
    protected = [False] * len(text)
    pattern = _synonyms().query_pattern
    if pattern is not None:
        for match in pattern.finditer(_synonyms().mask(text)):
            protected[match.start() : match.end()] = [True] * (match.end() - match.start())
    return protected


def correct(text: str, *, language: str, vocabulary: Vocabulary) -> str:
    """``text`` (folded) with what the index cannot match replaced by what it can.

    * Chinese: a bigram no article holds is replaced by one that sounds the same and shares a
      character with it, if the piece then holds more indexed bigrams (客付电话 -> 客服电话);
    * pinyin, in the Chinese help centre: Latin words the index does not hold that read as
      pinyin become the indexed Chinese that sounds like them (yinhangka -> 银行卡), and two to
      four consonants the initials of one (yhk -> 银行卡);
    * English: a word the index does not hold becomes the closest one it does (recieve ->
      receive), unless it is the start of an indexed word still being typed.

    A word the index holds is never changed: exact matches keep their place.
    """
    protected = _protected(text)
    pieces: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.lastgroup != "cjk":
            continue
        flags = protected[match.start() : match.end()]
        corrected = _correct_chinese(match.group(), flags, vocabulary)
        pieces += [text[position : match.start()], corrected]
        position = match.end()
    text = "".join([*pieces, text[position:]])

    # Runs of Latin words outside synonyms: pinyin may be typed with spaces (yin hang ka).
    protected = _protected(text)
    runs: list[list[re.Match[str]]] = []
    for word in _LATIN_WORD.finditer(text):
        if any(protected[word.start() : word.end()]):
            runs.append([])
        elif runs and runs[-1] and _RUN_GAP.fullmatch(text[runs[-1][-1].end() : word.start()]):
            runs[-1].append(word)
        else:
            runs.append([word])
    pieces, position = [], 0
    for run in filter(None, runs):
        start, end = run[0].start(), run[-1].end()
        replacement = _correct_latin(
            [word.group() for word in run],
            language=language,
            vocabulary=vocabulary,
            last=end == len(text.rstrip()),
        )
        if replacement is not None:
            pieces += [text[position:start], replacement]
            position = end
    return "".join([*pieces, text[position:]])


def _correct_chinese(run: str, protected: list[bool], vocabulary: Vocabulary) -> str:
    characters = list(run)

    def indexed(chars: list[str], start: int, end: int) -> int:
        return sum(vocabulary.frequency(chars[i] + chars[i + 1]) > 0 for i in range(start, end - 1))

    # Pieces between stop words are corrected on their own: a stop word is not a typo.
    for piece in _pieces(run):
        start, end = piece
        for i in range(start, end - 1):
            bigram = characters[i] + characters[i + 1]
            if protected[i] or protected[i + 1] or vocabulary.frequency(bigram):
                continue
            best, best_score = None, indexed(characters, start, end)
            for candidate in vocabulary.same_sound(bigram):
                if candidate[0] != bigram[0] and candidate[1] != bigram[1]:
                    continue  # both characters different: another word, not a typo
                trial = [*characters[:i], *candidate, *characters[i + 2 :]]
                if (score := indexed(trial, start, end)) > best_score:
                    best, best_score = trial, score
            if best is not None:
                characters = best
    return "".join(characters)


def _pieces(run: str) -> list[tuple[int, int]]:
    """(start, end) of each stretch of ``run`` between stop words, two characters or more."""
    spans, position = [], 0
    for stop in _CHINESE_STOP.finditer(run):
        spans.append((position, stop.start()))
        position = stop.end()
    spans.append((position, len(run)))
    return [(start, end) for start, end in spans if end - start >= 2]


def _correct_latin(
    words: list[str], *, language: str, vocabulary: Vocabulary, last: bool
) -> str | None:
    """Neighbouring Latin words corrected, or None if they stand as they are."""
    words = [_strip_marks(word) for word in words]

    def known(word: str) -> bool:
        token = _word_token(word)
        if token is None or vocabulary.frequency(token):
            return True
        # 2fa, 3ds, p2p: letters and digits that are no tone-numbered pinyin stand as typed.
        return not token.isalpha() and not _TONED_PINYIN.fullmatch(token)

    if all(known(word) for word in words):
        return None
    if language == "zh-hans" and all(_PINYIN_WORD.fullmatch(w) for w in words):
        joined = "".join(strip_tones(word) for word in words)
        syllables = split_pinyin(joined)
        if syllables and len(syllables) > 1:
            if chinese := vocabulary.from_pinyin(syllables):
                return chinese
        elif (
            len(words) == 1
            and 2 <= len(joined) <= 4
            and set(joined) <= _CONSONANTS
            and (chinese := vocabulary.from_initials(joined))
        ):
            return chinese
    corrected = []
    for number, word in enumerate(words):
        token = _word_token(word)
        typing = last and number == len(words) - 1
        if known(word) or token is None or (typing and vocabulary.prefix_frequency(token)):
            corrected.append(word)
        else:
            corrected.append(vocabulary.correct_english(token) or word)
    return " ".join(corrected) if corrected != words else None


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
        """Ids of the published articles in ``language`` that match, best first: the more of
        the query's concepts an article covers, the higher."""
        ...

    def vocabulary(self) -> tuple[list[tuple[str, int]], int]:
        """Every indexed token with the number of articles holding it; and the articles."""
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
        bm25 = ", ".join(map(str, self.weights))
        # One SELECT per concept: the articles that match it, and its share of their bm25
        # (bm25 of an OR query is the sum of its parts, so the sum below equals it).
        # Concept numbers are ours: no user input in the SQL text.
        hits = " UNION ALL ".join(
            f"SELECT rowid AS id, {number} AS concept, bm25({table}, {bm25}) AS score "
            f"FROM {table} WHERE {table} MATCH %s"
            for number in range(len(query.concepts))
        )
        # Coverage: how many of the concepts some article holds (a bigram across two words,
        # such as 号被 in 账号被冻结, occurs nowhere and does not count) this one matches. The
        # language and status filter reads the (language, status, ...) index, not the wide
        # article rows: joining those for thousands of hits was the slowest part.
        sql = f"""
            WITH hits AS ({hits}),
            present AS (SELECT COUNT(DISTINCT concept) AS concepts FROM hits),
            ranked AS (
                SELECT id, COUNT(*) AS covered, SUM(score) AS score FROM hits GROUP BY id
            )
            SELECT ranked.id FROM ranked, present
            WHERE ranked.covered * 100 >= present.concepts * %s
              AND ranked.id IN (
                  SELECT id FROM {Article._meta.db_table} WHERE language = %s AND status = %s
              )
            ORDER BY ranked.covered DESC, ranked.score, ranked.id
            LIMIT %s
        """
        params: list[Any] = [
            *(self.expression(concept) for concept in query.concepts),
            MIN_COVERAGE_PERCENT,
            language,
            Article.Status.PUBLISHED,
            limit,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def vocabulary(self) -> tuple[list[tuple[str, int]], int]:
        # faq_article_vocab: an fts5vocab table over the index (migration 0003).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term, doc, (SELECT COUNT(*) FROM faq_articlesearchdocument) "
                "FROM faq_article_vocab"
            )
            rows = cursor.fetchall()
        return [(term, doc) for term, doc, _total in rows], (rows[0][2] if rows else 0)

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
                SELECT hits.id, COUNT(*) AS covered
                FROM hits JOIN {Article._meta.db_table} article ON article.id = hits.id
                WHERE article.language = %s AND article.status = %s
                GROUP BY hits.id
                HAVING COUNT(*) * 100 >= (SELECT concepts FROM present) * %s
            ),
            cutoff AS (
                SELECT COALESCE(
                    (SELECT covered FROM eligible ORDER BY covered DESC OFFSET %s LIMIT 1), 0
                ) AS covered
            )
            SELECT eligible.id
            FROM eligible
            JOIN {documents} doc ON doc.article_id = eligible.id
            WHERE eligible.covered >= (SELECT covered FROM cutoff)
            ORDER BY eligible.covered DESC,
                     ts_rank(%s::float4[], doc.vector, to_tsquery('simple', %s)) DESC,
                     eligible.id
            LIMIT %s
        """
        params: list[Any] = [
            *expressions,
            language,
            Article.Status.PUBLISHED,
            MIN_COVERAGE_PERCENT,
            limit - 1,
            self.weights,
            " | ".join(expressions),
            limit,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def vocabulary(self) -> tuple[list[tuple[str, int]], int]:
        table = ArticleSearchDocument._meta.db_table
        with connection.cursor() as cursor:
            # ts_stat reads every vector once: this runs once per worker and content change.
            cursor.execute(
                f"SELECT word, ndoc, (SELECT COUNT(*) FROM {table}) "
                f"FROM ts_stat('SELECT vector FROM {table}')"
            )
            rows = cursor.fetchall()
        return [(word, ndoc) for word, ndoc, _total in rows], (rows[0][2] if rows else 0)

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


# --- Results ----------------------------------------------------------------------------------


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


@dataclass
class SearchOutcome:
    results: list[SearchResult]
    # What was searched instead of the query as typed ("recieve" -> "receive"), or "".
    corrected: str = ""


def vocabulary() -> Vocabulary:
    """The index's vocabulary, as this worker last read it (see faq.search_vocab)."""
    return _current_vocabulary.get()


_current_vocabulary = search_vocab.PerContentVersion(
    lambda: search_vocab.load(backend().vocabulary())
)


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
    articles = Article.objects.filter(pk__in=ids).select_related("category").defer("body")
    by_id = {article.pk: article for article in articles}
    results = [SearchResult(article=by_id[pk], query=parsed) for pk in ids if pk in by_id]
    return SearchOutcome(results=results, corrected=parsed.corrected)


def search(query: str, *, language: str, limit: int = 20) -> list[SearchResult]:
    """``find(query)``'s results: what other pages (the ticket form's suggestions) show."""
    return find(query, language=language, limit=limit).results


# --- Learned synonyms -------------------------------------------------------------------------


def suggested_partner(article: Article) -> str:
    """The word of ``article`` a customer's phrase most likely means: the first synonym its
    title names (in the article's own words), else its first keyword, else its title."""
    title = fold(article.title)
    synonyms = _synonyms()
    if synonyms.query_pattern is not None and (match := synonyms.query_pattern.search(title)):
        return match.group()
    keywords = [k.strip() for k in re.split(r"[,，、]", article.keywords) if k.strip()]
    return keywords[0] if keywords else article.title


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
