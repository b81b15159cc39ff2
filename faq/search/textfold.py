"""Folding Chinese text for search: traditional to simplified characters, and pinyin.

Both dictionaries load on first use, not at import: OpenCC with the first Chinese text folded,
pypinyin's table with the first query that needs a reading (a bigram the index lacks, pinyin).
A Chinese help centre's worker soon holds both; scripts/bench_search.py measures what they add
(OpenCC's tw2sp tables about 7 MB, pypinyin's character table about 11 MB, without its 45 MB
phrase table).
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from functools import cache
from itertools import product
from typing import Protocol

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_lock = threading.Lock()


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@cache
def _t2s() -> _Converter:
    import opencc  # a wheel with OpenCC's C++ library and dictionaries inside

    # Taiwan's forms and words too (簡訊 -> 短信, 軟體 -> 软件), not only its characters.
    converter: _Converter = opencc.OpenCC("tw2sp")
    return converter


# Characters that simplified Chinese itself writes two ways; a wallet means the second.
_VARIANTS = str.maketrans({"帐": "账"})


def to_simplified(text: str) -> str:
    """Traditional Chinese to simplified (轉賬記錄 -> 转账记录, 帳號 -> 账号); other text as is.

    OpenCC converts phrase by phrase (乾淨 -> 干净, but 乾隆 stays), so an article written in
    either script and a query typed in either meet in the same tokens.
    """
    if not _HAN.search(text):
        return text  # most English text: no dictionary lookup at all
    with _lock:  # one converter per process; not documented as thread-safe
        return _t2s().convert(text).translate(_VARIANTS)


# --- Pinyin -----------------------------------------------------------------------------------


@cache
def _pinyin_table() -> dict[int, str]:
    # The character table only: pypinyin's phrase table adds about 45 MB and is not needed
    # to read a two-character token. These must be set before pypinyin is first imported.
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "true")
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[int, str] = pinyin_dict
    return table


def strip_tones(syllable: str) -> str:
    """zhōng -> zhong, lǜ -> lv (the way customers type ü), ti2 -> ti."""
    # ü decomposes to u + diaeresis (+ a tone mark); a customer types it as v (lv, nv).
    decomposed = unicodedata.normalize("NFD", syllable.casefold()).replace("u\u0308", "v")
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[0-5]", "", base)


@cache
def readings(character: str) -> tuple[str, ...]:
    """The toneless readings of one Chinese character (行 -> xing, hang, heng)."""
    raw = _pinyin_table().get(ord(character), "")
    values = []
    for reading in raw.split(","):
        values.append(strip_tones(reading))
    return tuple(dict.fromkeys(v for v in values if v))


def sound_keys(word: str) -> set[str]:
    """Every way ``word`` may be read aloud, tones left out: 银行 -> {"yin hang", "yin xing",
    ...}. Empty if a character has no known reading."""
    options = [readings(character) for character in word]
    if not all(options):
        return set()
    return {" ".join(combination) for combination in product(*options)}


# Sounds that many speakers do not tell apart, or type one for the other (southern accents,
# and a missing g or h on a phone keyboard).
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


def fuzzy_syllable(syllable: str) -> str:
    """zhang -> zan, ning -> lin: the form two nearly alike syllables share."""
    for initial, plain in _FUZZY_INITIALS:
        if syllable.startswith(initial):
            syllable = plain + syllable[len(initial) :]
            break
    for final, plain in _FUZZY_FINALS:
        if syllable.endswith(final):
            return syllable[: -len(final)] + plain
    return syllable


def initial(syllable: str) -> str:
    """What a customer types for a syllable when typing initials only: shou -> s, an -> a."""
    return syllable[0]


# Every toneless syllable of Mandarin a customer may type: built from the character table.
@cache
def syllables() -> frozenset[str]:
    found: set[str] = set()
    for raw in _pinyin_table().values():
        for reading in raw.split(","):
            found.add(strip_tones(reading))
    # Without a vowel (the interjections m, n, ng, hm) a "syllable" would split any typo.
    return frozenset(
        s for s in found if s.isascii() and s.isalpha() and any(v in s for v in "aeiouv")
    )


MAX_SYLLABLES = 12


def split_pinyin(text: str) -> list[str] | None:
    """``text`` (letters only, tones already stripped) as a list of syllables, or None.

    Where it splits more than one way (xian: xian or xi an; fangan: fang an or fan gan) the
    split with the fewest syllables wins, and among those the one with the longest first
    syllables: what a pinyin input method offers first.
    """
    known = syllables()
    if not text or len(text) > MAX_SYLLABLES * 6:
        return None
    # best[i]: the best split of text[i:], as a tuple of syllables (None: no split).
    best: list[tuple[str, ...] | None] = [None] * (len(text) + 1)
    best[len(text)] = ()
    for start in range(len(text) - 1, -1, -1):
        for end in range(min(len(text), start + 6), start, -1):
            rest = best[end]
            if rest is None or text[start:end] not in known:
                continue
            candidate = (text[start:end], *rest)
            current = best[start]
            if current is None or len(candidate) < len(current):
                best[start] = candidate
    result = best[0]
    return list(result) if result is not None and len(result) <= MAX_SYLLABLES else None
