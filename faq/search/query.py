"""Queries: what a customer typed, corrected against the index's vocabulary, as concepts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from faq.search import text as text_analysis
from faq.search.synonyms import current_synonyms
from faq.search.text import (
    CHINESE_STOP,
    LATIN_WORD,
    TOKEN,
    fold,
    normalize_query,
    strip_marks,
    word_token,
)
from faq.search.textfold import split_pinyin, strip_tones
from faq.search.vocab import Vocabulary

MAX_CONCEPTS = 8


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
    corrected = _remembered_correction(text, language, vocabulary) if vocabulary else text
    parsed = _parse(_BRAND.sub(" ", corrected), language=language)
    if not parsed.concepts:
        parsed = _parse(corrected, language=language)
    if corrected != text:
        parsed.corrected = corrected
    return parsed


MAX_REMEMBERED_CORRECTIONS = 10_000  # a few MB at most


def _remembered_correction(text: str, language: str, vocabulary: Vocabulary) -> str:
    remembered = vocabulary.corrections
    key = (text, language)
    found = remembered.get(key)
    if found is None:
        found = correct(text, language=language, vocabulary=vocabulary)
        if len(remembered) >= MAX_REMEMBERED_CORRECTIONS:
            remembered.clear()
        remembered[key] = found
    return found


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
    pattern = current_synonyms().query_pattern
    if pattern is not None:
        for match in pattern.finditer(current_synonyms().mask(text)):
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
    for match in TOKEN.finditer(text):
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
    for word in LATIN_WORD.finditer(text):
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
    for stop in CHINESE_STOP.finditer(run):
        spans.append((position, stop.start()))
        position = stop.end()
    spans.append((position, len(run)))
    return [(start, end) for start, end in spans if end - start >= 2]


def _correct_latin(
    words: list[str], *, language: str, vocabulary: Vocabulary, last: bool
) -> str | None:
    """Neighbouring Latin words corrected, or None if they stand as they are."""
    words = [strip_marks(word) for word in words]

    def known(word: str) -> bool:
        token = word_token(word)
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
        token = word_token(word)
        typing = last and number == len(words) - 1
        if known(word) or token is None or (typing and vocabulary.prefix_frequency(token)):
            corrected.append(word)
        else:
            corrected.append(vocabulary.correct_english(token) or word)
    return " ".join(corrected) if corrected != words else None


def _parse(text: str, *, language: str) -> ParsedQuery:
    parsed = ParsedQuery()
    synonyms = current_synonyms()
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
        matches = list(TOKEN.finditer(piece))
        for match in matches:
            if match.lastgroup == "cjk":
                for token in text_analysis.cjk_segmenter(match.group()):
                    if len(token) == 1:
                        single_characters.append(token)
                    else:
                        parsed.add(Concept(alternatives=((token,),)))
                        parsed.marked_strings.add(token)
                continue
            word = word_token(match.group())
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
    for match in TOKEN.finditer(text):
        if match.lastgroup == "cjk":
            parsed.marked_strings.add(match.group())
        elif token := word_token(match.group()):
            parsed.marked_words.add(token)
