"""The index's own vocabulary: what query corrections are checked against.

A misspelt English word is corrected to a word some article holds; a Chinese bigram that no
article holds is replaced by one that sounds the same; pinyin becomes the Chinese words of the
index that read like it. All three only ever produce tokens that exist, so a correction cannot
invent a word, and none is made where the query already matches.

The vocabulary (each token and the number of articles that hold it) is read from the database
index itself (SQLite: an fts5vocab table; PostgreSQL: ts_stat) once per worker and kept until
the help content changes: a save in this worker forgets it at once, an edit in another worker
within CHECK_SECONDS.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

from faq.search import textfold

SYNONYM_TOKEN_PREFIX = "synonym"
MAX_SOUND_CANDIDATES = 8  # per sound, the most frequent: a rare same-sounding bigram is noise


def _is_cjk_bigram(token: str) -> bool:
    return len(token) == 2 and all(textfold.readings(c) for c in token)


@dataclass
class Vocabulary:
    documents: dict[str, int]  # token -> how many articles hold it
    articles: int
    english: list[str] = field(init=False)  # sorted: prefix lookups by bisection
    # (folded query, language) -> the query corrected against this vocabulary: popular
    # queries and a live search's repeats are corrected once per worker and content version.
    corrections: dict[tuple[str, str], str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.english = sorted(
            token
            for token in self.documents
            if token.isascii() and token.isalpha() and not token.startswith(SYNONYM_TOKEN_PREFIX)
        )

    def frequency(self, token: str) -> int:
        return self.documents.get(token, 0)

    def prefix_frequency(self, prefix: str) -> int:
        """Articles holding some word that starts with ``prefix`` (an upper bound: summed)."""
        start = bisect.bisect_left(self.english, prefix)
        total = 0
        for word in self.english[start : start + 50]:
            if not word.startswith(prefix):
                break
            total += self.documents[word]
        return total

    # --- English spelling ---------------------------------------------------------------------

    def correct_english(self, word: str) -> str | None:
        """The indexed word closest to ``word`` (at most 1 edit for 4-5 letters, 2 beyond;
        a swap of two letters is one edit), the more frequent of equally close ones."""
        if len(word) < 4:
            return None  # "fe" or "pay": too short to guess which word was meant
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        limit = 1 if len(word) <= 5 else 2
        matches = process.extract(
            word, self.english, scorer=OSA.distance, score_cutoff=limit, limit=None
        )
        if not matches:
            return None
        best = min(
            matches,
            key=lambda m: (m[1], m[0][0] != word[0], -self.documents[m[0]], m[0]),
        )
        return best[0]

    # --- Chinese by sound ---------------------------------------------------------------------

    @cached_property
    def bigrams(self) -> list[str]:
        """Chinese bigrams, most frequent first."""
        found = [token for token in self.documents if _is_cjk_bigram(token)]
        return sorted(found, key=lambda token: (-self.documents[token], token))

    def _index(self, keys: Callable[[str], Iterable[str]]) -> dict[str, list[str]]:
        index: defaultdict[str, list[str]] = defaultdict(list)
        for bigram in self.bigrams:  # most frequent first, so each list is in that order
            for key in keys(bigram):
                if len(index[key]) < MAX_SOUND_CANDIDATES:
                    index[key].append(bigram)
        return dict(index)

    @cached_property
    def sounds(self) -> dict[str, list[str]]:
        """ "ke fu" -> [客服, ...]: bigrams by their toneless pinyin (every reading)."""
        return self._index(textfold.sound_keys)

    @cached_property
    def fuzzy_sounds(self) -> dict[str, list[str]]:
        """The same, by sounds many speakers mix up (zh/z, n/l, ing/in): "zan hu" -> [账户]."""
        return self._index(fuzzy_keys)

    @cached_property
    def initials(self) -> dict[str, list[str]]:
        """ "yh" -> [银行, ...]: bigrams by the first letters of their syllables."""
        return self._index(
            lambda bigram: {key[0] + key.split()[1][0] for key in textfold.sound_keys(bigram)}
        )

    def same_sound(self, bigram: str) -> list[str]:
        """Indexed bigrams that read like ``bigram``: exact sounds first, then fuzzy ones."""
        exact = [c for key in textfold.sound_keys(bigram) for c in self.sounds.get(key, [])]
        fuzzy = [c for key in fuzzy_keys(bigram) for c in self.fuzzy_sounds.get(key, [])]
        return [c for c in dict.fromkeys(exact + fuzzy) if c != bigram]

    def from_pinyin(self, syllables: list[str]) -> str | None:
        """The indexed Chinese that reads like ``syllables`` (yin hang ka -> 银行卡), or None.

        Each pair of neighbouring syllables is looked up as a bigram; neighbouring bigrams
        must share their middle character (银行 + 行卡), and the most frequent chain wins.
        A pair nothing reads like splits the result in two (words the index lacks).
        """
        options = []
        for first, second in zip(syllables, syllables[1:], strict=False):
            exact = self.sounds.get(f"{first} {second}", [])
            fuzzy_key = f"{textfold.fuzzy_syllable(first)} {textfold.fuzzy_syllable(second)}"
            options.append(exact or self.fuzzy_sounds.get(fuzzy_key, []))
        return self._chain(options)

    def from_initials(self, letters: str) -> str | None:
        """The indexed Chinese a few initials most likely stand for (yhk -> 银行卡), or None."""
        options = [self.initials.get(letters[i : i + 2], []) for i in range(len(letters) - 1)]
        if not all(options):
            return None
        return self._chain(options)

    def _chain(self, options: list[list[str]]) -> str | None:
        """The most frequent chain of linked bigrams through ``options`` (one list per pair of
        syllables); where no candidate links to the one before, a new word starts."""
        words: list[str] = []
        row: dict[str, tuple[int, str]] = {}  # last bigram -> (total frequency, text so far)
        for candidates in [*options, []]:
            linked: dict[str, tuple[int, str]] = {}
            for bigram in candidates:
                chains = [
                    (score + self.frequency(bigram), text + bigram[1])
                    for last, (score, text) in row.items()
                    if last[1] == bigram[0]
                ]
                if chains:
                    linked[bigram] = max(chains)
            if not linked:
                if row:
                    words.append(max(row.values())[1])
                linked = {bigram: (self.frequency(bigram), bigram) for bigram in candidates}
            row = linked
        return " ".join(words) or None


def fuzzy_keys(bigram: str) -> set[str]:
    return {
        " ".join(textfold.fuzzy_syllable(s) for s in key.split())
        for key in textfold.sound_keys(bigram)
    }


# --- The worker's copy ----------------------------------------------------------------------

# How often a worker asks whether another one changed the help content (and so the index):
# not on every search, which would cost a cache lookup each. A change in this worker is seen
# at once (forget()).
CHECK_SECONDS = 10.0

T = TypeVar("T")


class PerContentVersion(Generic[T]):
    """A value built from the database, kept until the help content changes."""

    def __init__(self, build: Callable[[], T]) -> None:
        self.build = build
        self.lock = threading.Lock()
        self.value: T | None = None
        self.version: str | None = None
        self.checked = 0.0

    def get(self) -> T:
        from faq import pagecache

        now = time.monotonic()
        if self.value is not None and now - self.checked < CHECK_SECONDS:
            return self.value
        version = pagecache.content_version()
        with self.lock:
            if self.value is None or version != self.version:
                self.value = self.build()
                self.version = version
            self.checked = now
            return self.value

    def forget(self) -> None:
        self.value = None


def load(rows_and_total: tuple[Iterable[tuple[str, int]], int]) -> Vocabulary:
    rows, articles = rows_and_total
    return Vocabulary(documents=dict(rows), articles=articles)
