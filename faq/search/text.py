"""Text analysis: what articles and queries alike become before the index sees them.

* folding: NFKC (full-width ＯＫ and ２ＦＡ become ok and 2fa), case folding, accents off Latin
  letters (tí xiàn -> ti xian) and traditional Chinese to simplified with OpenCC (轉賬 -> 转账;
  faq/search/textfold.py);
* Chinese runs: overlapping character bigrams, after cutting out stop words and filler
  (faq/content/stopwords.toml);
* other words: a plural "s" removed (fees -> fee), stop words dropped.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from pathlib import Path

from faq.search.textfold import to_simplified

MAX_QUERY_LENGTH = 200

# Han (with extensions), kana and Hangul: scripts written without spaces between words.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
TOKEN = re.compile(rf"(?P<cjk>[{CJK}]+)|(?P<word>[^\W_{CJK}]+)")
LATIN_WORD = re.compile(rf"[^\W_{CJK}]+")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")

STOP_WORDS_FILE = Path(__file__).resolve().parent.parent / "content" / "stopwords.toml"
with STOP_WORDS_FILE.open("rb") as _handle:
    _stop_words = tomllib.load(_handle)
ENGLISH_STOP_WORDS = frozenset(_stop_words["english"])
# Longest first: 怎么办 goes as a whole, not as 怎么 plus a stray 办.
CHINESE_STOP_WORDS = sorted(_stop_words["chinese"], key=len, reverse=True)
CHINESE_STOP = re.compile("|".join(map(re.escape, CHINESE_STOP_WORDS)))


def fold(text: str) -> str:
    """Full-width forms to their ASCII twins, case folded, apostrophes out of words (can't),
    traditional Chinese to simplified (轉賬 -> 转账)."""
    return to_simplified(_APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).casefold()))


def strip_marks(word: str) -> str:
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
    for piece in CHINESE_STOP.split(run):
        if len(piece) == 1:
            tokens.append(piece)
        else:
            tokens.extend(piece[i : i + 2] for i in range(len(piece) - 1))
    return tokens


# How a run of Chinese text becomes tokens. scripts/compare_segmenters.py swaps in jieba to
# measure it against bigrams; the index must be rebuilt after a change.
cjk_segmenter: Callable[[str], list[str]] = cjk_bigrams


def word_token(word: str) -> str | None:
    word = strip_marks(word)
    return None if word in ENGLISH_STOP_WORDS else stem(word)


def tokenize(text: str) -> list[str]:
    """The search tokens of a text, in order: what the index stores and a query looks for."""
    tokens: list[str] = []
    for match in TOKEN.finditer(fold(text)):
        if match.lastgroup == "cjk":
            tokens.extend(cjk_segmenter(match.group()))
        elif token := word_token(match.group()):
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
    return len(query) < 2 and not re.fullmatch(rf"[{CJK}]", query)
