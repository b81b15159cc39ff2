"""Remove secrets customers paste into tickets before anything is stored.

Support staff never need a full card number, a verification code, a password, a private key or
a recovery phrase; storing one would make the ticket database worth stealing. Each rule is
tuned to leave alone what customers legitimately write: order numbers, dates, phone numbers,
amounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from django.utils.translation import gettext_lazy as _

CARD = "card"
CODE = "code"
PASSWORD = "password"
PRIVATE_KEY = "private_key"
RECOVERY_PHRASE = "recovery_phrase"

LABELS = {
    CARD: _("a bank card number (we kept the last 4 digits)"),
    CODE: _("a verification code"),
    PASSWORD: _("a password"),
    PRIVATE_KEY: _("a private key"),
    RECOVERY_PHRASE: _("a recovery phrase"),
}


@dataclass
class MaskResult:
    text: str
    found: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [str(LABELS[kind]) for kind in self.found]


# 13–19 digits, optionally grouped by single spaces or hyphens, not part of a longer number.
_CARD_CANDIDATE = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d.,]*\d)")
# Issuer prefixes of the card networks customers use (UnionPay 62, Visa 4, Mastercard 51–55 and
# 2221–2720, Amex 34/37, JCB 35, Diners 30/36/38, Discover 6011/65). Order numbers that start
# with a year ("2024…") fall outside them.
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[0478]|35|6)")
# Words that say the number is not a card: an order, transaction or reference number.
_NOT_A_CARD_LABEL = re.compile(
    r"(订单|单号|流水|交易号|参考号|编号|order|transaction|txn|reference|ref)[^\d\n]{0,6}$",
    re.IGNORECASE,
)

_CODE_WORDS = r"(?:验证码|校验码|动态码|短信码|code|otp|verification|passcode)"
_CODE_AFTER_WORD = re.compile(
    rf"({_CODE_WORDS}[^\d\n]{{0,10}}?)(?<!\d)(\d{{6}})(?!\d)", re.IGNORECASE
)
_CODE_BEFORE_WORD = re.compile(
    rf"(?<!\d)(\d{{6}})(?!\d)(\s*(?:is\s+(?:my|the)\s+|是(?:我的)?)?\s*{_CODE_WORDS})",
    re.IGNORECASE,
)

# A password is the token after "密码是 / 密码： / password: / password is / pwd=".
_PASSWORD = re.compile(
    r"((?:登录|支付|交易)?(?:密码|口令)\s*(?:是|为|：|:|=)\s*"
    r"|\b(?:password|passwd|pwd|pin)\b\s*(?:is\s*:?|:|=)\s*)"
    r"([^\s，。,;；]{3,64})",
    re.IGNORECASE,
)

_PRIVATE_KEY = re.compile(r"(?<![0-9a-fA-F])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])")

_WORD = re.compile(r"[a-zA-Z]+")
_PHRASE_MIN = 12  # BIP-39 phrases have 12 to 24 words; longer runs hold one too


@cache
def _bip39_words() -> frozenset[str]:
    from mnemonic import Mnemonic

    return frozenset(Mnemonic("english").wordlist)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_cards(text: str, found: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        before = text[max(0, match.start() - 20) : match.start()]
        if (
            not _CARD_PREFIX.match(digits)
            or not luhn_valid(digits)
            or _NOT_A_CARD_LABEL.search(before)
        ):
            return match.group()
        found.append(CARD)
        return f"**** **** **** {digits[-4:]}"

    return _CARD_CANDIDATE.sub(replace, text)


def _substitute(
    pattern: re.Pattern[str], template: str, kind: str, text: str, found: list[str]
) -> str:
    """Replace each match by `template` (\\1, \\2 keep the words around the secret), noting
    what kind of secret was removed."""

    def replace(match: re.Match[str]) -> str:
        found.append(kind)
        return match.expand(template)

    return pattern.sub(replace, text)


def _mask_codes(text: str, found: list[str]) -> str:
    text = _substitute(_CODE_AFTER_WORD, r"\1******", CODE, text, found)
    return _substitute(_CODE_BEFORE_WORD, r"******\2", CODE, text, found)


def _mask_passwords(text: str, found: list[str]) -> str:
    return _substitute(_PASSWORD, r"\1********", PASSWORD, text, found)


def _mask_private_keys(text: str, found: list[str]) -> str:
    return _substitute(_PRIVATE_KEY, "[private key removed]", PRIVATE_KEY, text, found)


def _mask_recovery_phrases(text: str, found: list[str]) -> str:
    words = _bip39_words()
    runs: list[tuple[int, int]] = []
    run_start = run_end = None
    count = 0
    for match in _WORD.finditer(text):
        in_list = match.group().lower() in words
        # Words of one phrase are separated by spaces, commas or line breaks only.
        gap = text[run_end : match.start()] if run_end is not None else ""
        continues = run_start is not None and re.fullmatch(r"[\s,，、]*", gap) is not None
        if in_list and continues:
            run_end, count = match.end(), count + 1
            continue
        if run_start is not None and run_end is not None and count >= _PHRASE_MIN:
            runs.append((run_start, run_end))
        run_start, run_end, count = (match.start(), match.end(), 1) if in_list else (None, None, 0)
    if run_start is not None and run_end is not None and count >= _PHRASE_MIN:
        runs.append((run_start, run_end))
    for start, end in reversed(runs):
        found.append(RECOVERY_PHRASE)
        text = f"{text[:start]}[recovery phrase removed]{text[end:]}"
    return text


def mask_secrets(text: str) -> MaskResult:
    """Return the text with secrets replaced, and which kinds were found (each kind once)."""
    found: list[str] = []
    # Keys and phrases first: a 64-hex key contains digit runs the card rule would look at.
    for rule in (
        _mask_private_keys,
        _mask_recovery_phrases,
        _mask_cards,
        _mask_codes,
        _mask_passwords,
    ):
        text = rule(text, found)
    return MaskResult(text=text, found=list(dict.fromkeys(found)))
