""" "Is this really OK Wallet?": what a customer pastes (a phone number, a web address, an e-mail
sender, a WeChat or Weibo handle, an app name) compared with our official channels and with the
contacts other customers reported.

Impostors count on small differences: +86 in front, full-width digits, `www.`, a sub-domain
that starts with our name (okwallet.example.evil.cn), 0 for O, 1 for l, Cyrillic letters that
look Latin. So both sides are normalised the same way before they are compared, and a value
that only *looks* like ours is said to be an imitation, which is worse than unknown.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext as _

from tickets.models import new_reference
from tickets.protection_models import ChannelKind, EmailCode, OfficialChannel, ReportedContact


class Verdict(StrEnum):
    OFFICIAL = "official"  # also: an authenticity code we issued
    NOT_OFFICIAL = "not-official"
    REPORTED_SCAM = "reported-scam"


# Letters of other scripts drawn like Latin ones, and digits drawn like letters: a skeleton
# maps each to one shape, so okwa11et, оkwallet (Cyrillic о) and 0kwallet meet okwallet.
_LOOK_ALIKE = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "l", "ї": "l", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "ε": "e", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x",
        # Digits and letters people (and fonts) confuse
        "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "5": "s", "$": "s", "@": "a",
    }
)  # fmt: skip
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_PHONE_SHAPE = re.compile(r"[\d\s\-+().oil]{6,}")
_DOMAIN_SHAPE = re.compile(r"^[^\s/@]+\.[^\s/@.]{2,}\.?(?:[/:?#\\].*)?$")
_HOST_CHARACTERS = re.compile(r"^[\w.-]+$")
_ADDRESS_SHAPE = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+")  # not a handle's leading @


def _text(raw: str) -> str:
    """Full-width forms folded (ＯＫ１２３ is OK123), case folded, invisible characters gone."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", raw)).casefold().strip()
    # The full stop a Chinese keyboard types in an address (okwallet。example).
    return text.replace("。", ".")


def skeleton(value: str) -> str:
    shape = value.translate(_LOOK_ALIKE)
    return shape.replace("rn", "m").replace("vv", "w")


def _host(text: str) -> str:
    # Browsers read "\" as "/": https://evil.cn\@okwallet.example/ opens evil.cn.
    text = text.replace("\\", "/")
    address = text if "://" in text else f"//{text}"
    try:
        host = urlsplit(address).hostname or ""
    except ValueError:
        return ""
    labels = []
    for label in host.rstrip(".").split("."):
        if label.startswith("xn--"):  # punycode: the letters the browser shows
            with contextlib.suppress(UnicodeError):  # not valid punycode: kept as written
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    host = ".".join(labels).removeprefix("www.")
    return host if _HOST_CHARACTERS.match(host) else ""


def _phone_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text.replace("o", "0").replace("l", "1").replace("i", "1"))
    # +86 or 0086 before a mobile number or a 400/800 line is the same number.
    for prefix in ("0086", "86"):
        rest = digits.removeprefix(prefix)
        if rest != digits and len(rest) in {10, 11} and rest[0] in "148":
            return rest
    return digits


CODE_KIND = "code"
_CODE = re.compile(r"okv[\s-]*([0-9a-z]{4})[\s-]*([0-9a-z]{4})")


def _sender(text: str) -> str:
    """The address a mail app shows after the name: in "support@okwallet.example <x@evil.cn>"
    the display name imitates us, the address is evil.cn's. Anything that is not one plain
    address comes back as typed, which matches none of ours."""
    bracketed = re.findall(r"<([^<>]*)>", text)
    address = bracketed[-1].strip() if bracketed else text.strip()
    local, _at, domain = address.rpartition("@")
    if not local or "@" in local or re.search(r"[\s,;()<>\"'\[\]]", address):
        return text
    host = _host(domain)
    return f"{local}@{host}" if host else text


def classify(raw: str) -> tuple[str, str]:
    """(kind, normalised value) of what the customer pasted."""
    text = _text(raw)
    if code := _CODE.fullmatch(text):
        return CODE_KIND, f"OKV-{code.group(1)}-{code.group(2)}".upper()
    # https://okwallet.example@evil.cn/ is a web address (of evil.cn), not an e-mail sender.
    if "://" not in text and _ADDRESS_SHAPE.search(text):
        return ChannelKind.EMAIL, _sender(text)
    # 4OO-OOO-OOOO is a phone number written with letters: digits and look-alikes count.
    if (
        _PHONE_SHAPE.fullmatch(text)
        and any(ch.isdigit() for ch in text)
        and sum(ch.isdigit() or ch in "oil" for ch in text) >= 6
    ):
        return ChannelKind.PHONE, _phone_digits(text)
    if "://" in text or text.startswith("www.") or _DOMAIN_SHAPE.match(text):
        host = _host(text)
        if host:
            return ChannelKind.WEB, host
    return ChannelKind.HANDLE, re.sub(r"\s+", "", text).lstrip("@")


@dataclass(frozen=True)
class Official:
    kind: str
    normalised: str
    value: str
    description: str
    row_id: int | None = None


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rsplit("@", 1)[-1]


def _settings_channels() -> list[Official]:
    """The channels the settings name: official without anyone entering them."""
    site_host = urlsplit(settings.SITE_URL).hostname or ""
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    found = [
        (settings.SUPPORT_HOTLINE, _("our customer service hotline")),
        (settings.SUPPORT_EMAIL, _("our customer service e-mail address")),
        (sender, _("the address our e-mails are sent from")),
        (site_host, _("this help centre")),
        (settings.SUPPORT_WECHAT, _("our official WeChat account")),
        (settings.SUPPORT_WEIBO, _("our official Weibo account")),
    ]
    # The support address's domain is ours only if the site lives under it: an address at a
    # mail provider (qq.com) must not make the whole provider official.
    domain = _domain_of(settings.SUPPORT_EMAIL)
    if domain and site_host and _is_under(site_host, domain):
        found.append((domain, _("our website")))
    channels = []
    for value, description in found:
        if value and value not in {"localhost", "127.0.0.1"} and not value.endswith("@localhost"):
            kind, normalised = classify(value)
            channels.append(Official(kind, normalised, value, str(description)))
    return channels


def official_channels(language: str) -> list[Official]:
    rows = [
        Official(
            row.kind,
            row.normalised,
            row.value,
            row.description_en if language.startswith("en") else row.description_zh_hans,
            row.pk,
        )
        for row in OfficialChannel.objects.all()
    ]
    return [*_settings_channels(), *rows]


def _is_under(host: str, domain: str) -> bool:
    return host == domain or host.endswith(f".{domain}")


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    kind: str
    normalised: str
    official: Official | None = None
    imitates: Official | None = None
    email: EmailCode | None = None  # the e-mail an authenticity code belongs to


def _matches(kind: str, value: str, channel: Official) -> bool:
    if kind == ChannelKind.WEB:
        domains = [channel.normalised] if channel.kind == ChannelKind.WEB else []
        return any(_is_under(value, domain) for domain in domains)
    if kind == ChannelKind.EMAIL:
        if channel.kind == ChannelKind.EMAIL:
            return value == channel.normalised
        # Any address of our own domain (a forged one fails the mail provider's checks).
        return channel.kind == ChannelKind.WEB and _is_under(
            value.rsplit("@", 1)[1], channel.normalised
        )
    return kind == channel.kind and value == channel.normalised


def _written_with_letters(seen: str) -> bool:
    return re.search(r"[a-z]", seen) is not None


def _imitates(kind: str, value: str, channel: Official, seen: str) -> bool:
    """Looks like one of ours without being it: a look-alike or our name inside another.
    `seen` is the whole text as pasted: https://okwallet.example@evil.cn/ shows our name
    where the browser ignores it."""
    if kind == ChannelKind.PHONE:
        ours = channel.normalised
        if channel.kind != ChannelKind.PHONE or len(value) != len(ours):
            return False
        differences = sum(a != b for a, b in zip(value, ours, strict=True))
        # 4OO-OOO-OOOO reads as ours but dials other digits: an imitation, never ours.
        return differences == 1 or (differences == 0 and _written_with_letters(seen))
    if channel.kind not in {ChannelKind.WEB, ChannelKind.HANDLE, ChannelKind.EMAIL}:
        return False
    ours = (
        channel.normalised.rsplit("@", 1)[-1]
        if channel.kind == ChannelKind.EMAIL
        else channel.normalised
    )
    theirs = value.rsplit("@", 1)[-1] if kind == ChannelKind.EMAIL else seen
    # The name before the top-level domain: "okwallet" of okwallet.example.
    name = skeleton(ours.split(".")[0] if "." in ours else ours)
    return len(name) >= 4 and name in skeleton(theirs)


def check(raw: str, language: str) -> CheckResult:
    """The verdict on one pasted value; counts the check on the row it matched."""
    kind, normalised = classify(raw)
    if kind == CODE_KIND:
        sent = EmailCode.objects.filter(code=normalised).first()
        verdict = Verdict.OFFICIAL if sent is not None else Verdict.NOT_OFFICIAL
        return CheckResult(verdict, kind, normalised, email=sent)
    reported = ReportedContact.objects.filter(kind=kind, normalised=normalised).first()
    if reported is not None:
        ReportedContact.objects.filter(pk=reported.pk).update(check_count=F("check_count") + 1)
        if reported.confirmed_scam:
            return CheckResult(Verdict.REPORTED_SCAM, kind, normalised)
    channels = official_channels(language)
    seen = _text(raw)
    lettered = kind == ChannelKind.PHONE and _written_with_letters(seen)
    for channel in channels:
        if not lettered and _matches(kind, normalised, channel):
            if channel.row_id is not None:
                OfficialChannel.objects.filter(pk=channel.row_id).update(
                    check_count=F("check_count") + 1
                )
            return CheckResult(Verdict.OFFICIAL, kind, normalised, official=channel)
    # A web address imitating us is named after our web address, not our e-mail sender.
    same_kind_first = sorted(channels, key=lambda channel: channel.kind != kind)
    imitated = next((c for c in same_kind_first if _imitates(kind, normalised, c, seen)), None)
    return CheckResult(Verdict.NOT_OFFICIAL, kind, normalised, imitates=imitated)


# Platforms on which anyone can have a page or an address: one of their addresses can be ours,
# the platform cannot.
SHARED_PLATFORMS = frozenset(
    {
        "weibo.com", "weibo.cn", "qq.com", "weixin.qq.com", "mp.weixin.qq.com", "wechat.com",
        "douyin.com", "apple.com", "apps.apple.com", "google.com", "play.google.com",
        "gmail.com", "163.com", "126.com", "sina.com", "outlook.com", "hotmail.com",
        "yahoo.com", "github.com", "t.me", "telegram.org", "facebook.com", "x.com",
        "twitter.com", "baidu.com", "taobao.com", "alipay.com", "tiktok.com",
    }
)  # fmt: skip


def official_channel_problem(value: str, *, exclude_pk: int | None = None) -> str:
    """Why staff cannot enter this value as an official channel, or ""."""
    kind, normalised = classify(value)
    if kind == ChannelKind.WEB:
        path = urlsplit(value if "://" in value else f"//{value}").path.strip("/")
        if path or any(_is_under(normalised, shared) for shared in SHARED_PLATFORMS):
            return str(
                _(
                    "Enter a domain that is ours alone (such as okwallet.example). A page on a "
                    "shared platform would make the whole platform official: enter the account "
                    "as a handle instead."
                )
            )
    same = OfficialChannel.objects.filter(kind=kind, normalised=normalised)
    if exclude_pk is not None:
        same = same.exclude(pk=exclude_pk)
    if same.exists():
        return str(_("This channel is already in the list."))
    return ""


def official_channel_save(channel: OfficialChannel) -> OfficialChannel:
    """Store a channel staff entered, normalised as what customers paste will be."""
    # The kind is the value's, as classify reads what customers paste: a kind chosen apart
    # (95188 as a "phone") would never meet the same text pasted into the checker.
    channel.kind, channel.normalised = classify(channel.value)
    channel.save()
    return channel


def mask_address(address: str) -> str:
    """li.wei@example.com -> l*****@example.com: enough for its owner to recognise."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 3)}@{domain}" if domain else "***"


def email_code_for(*, key: str, reference: str, address: str, template: str) -> str:
    """The authenticity code of one e-mail: the same across its retries (its key)."""
    existing = EmailCode.objects.filter(key=key).values_list("code", flat=True).first()
    if existing:
        return existing
    for _attempt in range(5):
        code = new_reference("OKV")
        if not EmailCode.objects.filter(code=code).exists():
            break
    EmailCode.objects.create(
        code=code, key=key, reference=reference, sent_to=mask_address(address), template=template
    )
    return code
