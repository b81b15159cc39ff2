"""A per-worker cache of rendered article pages.

An article page is the same for every visitor but for two things: the CSRF token in the
feedback form and the CSP nonce. The page is rendered once with placeholders for both, kept in
the worker's memory, and each request gets its own token and nonce written in.

Freshness: every save or delete of help content changes a version number in the shared cache
(the one all workers use). A worker looks at that number at most every
FAQ_PAGE_CACHE_CHECK_SECONDS, so a page edited in the admin is served fresh by every worker
within that time, and at once by the worker that saved it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from wallet_support.cache import cache_or

VERSION_KEY = "faq:content-version"
MAX_PAGES = 2000  # ~84 articles × 2 languages today; bounded so memory stays predictable

# Placeholders no template or article can contain: random per process.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"
NONCE_PLACEHOLDER = f"nonce-{secrets.token_hex(16)}"


@dataclass(frozen=True)
class CachedPage:
    version: str
    content: str
    etag: str
    last_modified: int  # a Unix timestamp


_pages: OrderedDict[tuple[str, str], CachedPage] = OrderedDict()
_lock = threading.Lock()
_version: dict[str, object] = {"value": None, "checked": 0.0}


def content_version() -> str:
    """The shared version number, looked up at most every few seconds per worker."""
    now = time.monotonic()
    ttl = settings.FAQ_PAGE_CACHE_CHECK_SECONDS
    if _version["value"] is not None and now - float(_version["checked"]) < ttl:  # type: ignore[arg-type]
        return str(_version["value"])
    outage = f"unknown-{secrets.token_hex(8)}"
    value: str | None = cache_or(outage, lambda: cache.get(VERSION_KEY), what="content version")
    if value is None:
        # Nothing recorded yet (a new cache): start a new, unique generation.
        value = secrets.token_hex(8)
        if not cache_or(False, lambda: cache.add(VERSION_KEY, value, timeout=None), what="add"):
            value = cache_or(outage, lambda: cache.get(VERSION_KEY), what="content version")
    # In an outage the version is a new one each time it is looked up: cached pages are not
    # trusted for longer than one check interval, so an edit is never hidden behind one.
    _version.update(value=value, checked=now)
    return str(value)


def bump_version(**kwargs: object) -> None:
    """Help content changed: every worker's cached pages are now stale."""
    new = secrets.token_hex(8)
    cache_or(None, lambda: cache.set(VERSION_KEY, new, timeout=None), what="bump version")
    _version.update(value=new, checked=time.monotonic())


def get(language: str, slug: str) -> CachedPage | None:
    if not settings.FAQ_PAGE_CACHE:
        return None
    page = _pages.get((language, slug))
    if page is None or page.version != content_version():
        return None  # never rendered here, or help content changed since
    return page


def put(language: str, slug: str, page: CachedPage) -> None:
    if not settings.FAQ_PAGE_CACHE:
        return
    with _lock:
        _pages[(language, slug)] = page
        _pages.move_to_end((language, slug))
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)


def personalise(content: str, *, csrf_token: str, nonce: str) -> str:
    return content.replace(CSRF_PLACEHOLDER, csrf_token).replace(NONCE_PLACEHOLDER, nonce)
