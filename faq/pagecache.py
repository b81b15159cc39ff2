"""A per-worker cache of rendered article pages.

An article page is the same for every visitor but for two things: the CSRF token in the
feedback form and the CSP nonce. The page is rendered once with placeholders for both, kept in
the worker's memory, and each request gets its own token and nonce written in.

Other public pages (home, category, contact, security, the ticket, tracking, chat, verify and
emergency forms) are kept the same way, by path, through `cached_page` on their view and
`wallet_support.middleware.PageCacheMiddleware`, which answers from here before URL routing.
Only a request that cannot see anything of its own is served from or stored in the cache:
a GET without a query string, not htmx, no messages and an empty session (so no staff user,
no draft handed over from a chat, no ticket just filed).

Freshness: every save or delete of help content changes a version number in the shared cache
(the one all workers use). A worker looks at that number at most every
FAQ_PAGE_CACHE_CHECK_SECONDS, so a page edited in the admin is served fresh by every worker
within that time, and at once by the worker that saved it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.html import escape
from django.utils.http import http_date

from wallet_support import csrf_tokens
from wallet_support.cache import cache_or

VERSION_KEY = "faq:content-version"
MAX_PAGES = 2000  # ~84 articles × 2 languages today; bounded so memory stays predictable
# Whole pages by path: ~20 categories and a dozen other pages × 2 languages today.
MAX_WHOLE_PAGES = 500
# What the content version does not follow (settings read by templates, translations after a
# deploy are a restart anyway) is at most this old.
PAGE_TTL_SECONDS = 300.0

# Placeholders no template or article can contain: random per process.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"
NONCE_PLACEHOLDER = f"nonce-{secrets.token_hex(16)}"
# A search page's own token (faq.views.search_results). The colon is there so that the token
# written in a link (urlencoded: %3A) and in a form field (as it is) are told apart.
TOKEN_PLACEHOLDER = f"token:{secrets.token_hex(16)}"


@dataclass(frozen=True)
class CachedPage:
    version: str
    content: str
    etag: str
    last_modified: int  # a Unix timestamp
    # Whole pages only: the state of what is time-bound on the page when it was rendered
    # (see `cached_page`), and when the copy expires (time.monotonic()).
    variant: str = ""
    expires: float = float("inf")
    # A page a view keeps itself (the article): how to tell its `variant` now, for `get`.
    variant_now: Callable[[], str] | None = None


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
    if page.variant_now is not None and page.variant_now() != page.variant:
        return None  # rendered in another state: an incident on its topic began or ended
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


# --- Whole pages, by path -----------------------------------------------------------------

Variant = Callable[[], str]
View = TypeVar("View", bound=Callable[..., HttpResponse])


Hook = Callable[[HttpRequest, HttpResponse], None]


@dataclass(frozen=True)
class _Entry:
    page: CachedPage
    variant: Variant | None
    # A page with more to it than its content (the article): when the middleware may answer
    # (else the view runs), and what it adds to a full answer (a cookie).
    serve_if: Callable[[HttpRequest], bool] | None = None
    finish: Hook | None = None


_whole: OrderedDict[str, _Entry] = OrderedDict()


# What else a worker keeps beside these pages and must forget with them (tickets.incidents).
_on_clear: list[Callable[[], None]] = []


def on_clear(hook: Callable[[], None]) -> None:
    if hook not in _on_clear:
        _on_clear.append(hook)


def clear() -> None:
    """Forget every cached page and the version seen (tests; a changed setting)."""
    with _lock:
        _pages.clear()
        _whole.clear()
        _renders.clear()
        _fragments.clear()
    _version.update(value=None, checked=0.0)
    _chat.update(value=None, checked=0.0)
    for hook in _on_clear:
        hook()


def _setting_changed(**kwargs: object) -> None:
    clear()


setting_changed.connect(_setting_changed, dispatch_uid="faq.pagecache.settings")


def request_is_anonymous_and_plain(request: HttpRequest) -> bool:
    """Whether this request may get, or leave, a page that is the same for everyone.

    Conservative on purpose: a page showing one visitor's draft, form errors, messages or
    staff link to another visitor is the worst bug this cache could have. Anything the
    visitor brings of their own makes the request pass the cache by."""
    if request.method != "GET" or request.META.get("QUERY_STRING"):
        return False
    if "HTTP_HX_REQUEST" in request.META:  # a fragment, never the page
        return False
    if "messages" in request.COOKIES:  # django.contrib.messages' cookie storage
        return False
    session = getattr(request, "session", None)
    if session is None:
        return False
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True  # no session, so no user, no draft, no ticket: no query needed
    # Any key at all (a logged-in user, a chat's draft for the ticket form, a ticket just
    # filed, an access grant, pending messages): not this cache's to judge.
    return not list(session.keys())


def _etag(content: str) -> str:
    # The placeholders are random per process: leave them out, so every worker that renders
    # the same page gives it the same ETag and a 304 holds across workers.
    plain = content.replace(CSRF_PLACEHOLDER, "").replace(NONCE_PLACEHOLDER, "")
    return f'W/"{hashlib.sha256(plain.encode()).hexdigest()[:32]}"'


def page_get(request: HttpRequest) -> CachedPage | None:
    """The fresh cached page for this request, if it may be served one (see `page_answer`)."""
    if not settings.FAQ_PAGE_CACHE:
        return None
    entry = _whole.get(request.path)
    if entry is None or not request_is_anonymous_and_plain(request):
        return None
    if entry.serve_if is not None and not entry.serve_if(request):
        return None
    page = entry.page
    if time.monotonic() >= page.expires or page.version != content_version():
        return None
    if entry.variant is not None and entry.variant() != page.variant:
        return None  # the chat opened or closed since: render it again
    return page


def page_register(
    request: HttpRequest,
    page: CachedPage,
    *,
    serve_if: Callable[[HttpRequest], bool] | None = None,
    finish: Hook | None = None,
    variant: Variant | None = None,
) -> None:
    """Let the middleware answer this path with a page a view keeps itself (the article).
    `variant` as for `cached_page`: the page's `variant` is the state it was rendered in."""
    if settings.FAQ_PAGE_CACHE:
        _page_put(request.path, page, variant, serve_if=serve_if, finish=finish)


def _page_put(
    path: str,
    page: CachedPage,
    variant: Variant | None,
    *,
    serve_if: Callable[[HttpRequest], bool] | None = None,
    finish: Hook | None = None,
) -> None:
    with _lock:
        _whole[path] = _Entry(page, variant, serve_if, finish)
        _whole.move_to_end(path)
        while len(_whole) > MAX_WHOLE_PAGES:
            _whole.popitem(last=False)


def page_answer(request: HttpRequest) -> HttpResponse | None:
    """The middleware's answer: the cached page for this path, or None to run the view."""
    page = page_get(request)
    if page is None:
        return None
    response = page_response(request, page)
    entry = _whole.get(request.path)
    if response.status_code == 200 and entry is not None and entry.finish is not None:
        entry.finish(request, response)
    return response


def page_response(request: HttpRequest, page: CachedPage) -> HttpResponse:
    """The cached page with this visitor's CSRF token and nonce, or a 304."""
    response = get_conditional_response(request, etag=page.etag, last_modified=page.last_modified)
    if response is None:
        # A page without a form gives no CSRF token (and sets no cookie): making one is a
        # fifth of the time of a cached page.
        has_form = CSRF_PLACEHOLDER in page.content
        response = HttpResponse(
            personalise(
                page.content,
                csrf_token=csrf_tokens.get_token(request) if has_form else "",
                nonce=str(request.csp_nonce),  # type: ignore[attr-defined]
            )
        )
    response["ETag"] = page.etag
    response["Last-Modified"] = http_date(page.last_modified)
    # Revalidate every time (answered with a 304), and never share: the page holds the
    # visitor's own CSRF token.
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["HX-Request"])
    return response


def cached_page(variant: Variant | None = None) -> Callable[[View], View]:
    """Keep the GET page of this view in the per-worker cache.

    The view must render a TemplateResponse that is the same for everyone who passes
    `request_is_anonymous_and_plain`, but for the CSRF token and nonce. `variant` returns the
    state of anything time-bound the page shows inline ("chat open now"): a copy rendered in
    another state is not served: `chat_state` for a page that says whether the chat is open
    (includes/still_need_help.html does, inline), `hotline_state` for the emergency page,
    `incidents_state` for a page with the banners of every open incident (a save of an incident
    bumps the content version; the variant catches a planned start or end passing)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Judged before the view runs: the ticket form pops a draft from the session,
            # and after that the request would look plain.
            if not settings.FAQ_PAGE_CACHE or not request_is_anonymous_and_plain(request):
                return view(request, *args, **kwargs)
            # Read first: an edit saved while we render makes this copy stale at once.
            version = content_version()
            state = variant() if variant is not None else ""
            response = view(request, *args, **kwargs)
            session = getattr(request, "session", None)
            if (
                not isinstance(response, TemplateResponse)
                or response.is_rendered
                or response.status_code != 200
                or response.cookies
                or (session is not None and session.modified)
            ):
                return response
            response.context_data = {
                **(response.context_data or {}),
                "csrf_token": CSRF_PLACEHOLDER,
                "csp_nonce": NONCE_PLACEHOLDER,
            }
            content = response.render().content.decode()
            page = CachedPage(
                version=version,
                content=content,
                etag=_etag(content),
                last_modified=int(time.time()),
                variant=state,
                expires=time.monotonic() + PAGE_TTL_SECONDS,
            )
            _page_put(request.path, page, variant)
            return page_response(request, page)

        return wrapper  # type: ignore[return-value]

    return decorator


_chat: dict[str, object] = {"value": None, "checked": 0.0}


def chat_state() -> str:
    """What a page that says whether the chat is open shows: open, or why not and when.

    Looked up at most every FAQ_PAGE_CACHE_CHECK_SECONDS per worker, like the content
    version: an agent's presence mark itself lasts minutes (tickets.presence), so seconds
    more make no page wrong, and a cached page costs no query."""
    from tickets.availability import chat_status

    now = time.monotonic()
    if _chat["value"] is not None and now - float(_chat["checked"]) < (  # type: ignore[arg-type]
        settings.FAQ_PAGE_CACHE_CHECK_SECONDS
    ):
        return str(_chat["value"])
    status = chat_status()
    opens = f"{status.opens_at:%Y-%m-%d %H:%M}" if status.opens_at else ""
    value = f"{status.availability}|{opens}|{status.opens_today}"
    _chat.update(value=value, checked=now)
    return value


def combined(*variants: Variant) -> Variant:
    """One variant of several (a page that shows the chat's state and the open incidents)."""

    def state() -> str:
        return "||".join(variant() for variant in variants)

    return state


def incidents_state() -> str:
    """Which known incidents are open now (tickets.incidents): for a page showing them all."""
    from tickets.incidents import all_pages_state

    return all_pages_state()


def status_page_state() -> str:
    from tickets.incidents import status_page_state as state

    return state()


def hotline_state() -> str:
    """Whether the hotline answers now, and when it opens next (the emergency page)."""
    from tickets.availability import chat_is_open, next_opening

    return f"{chat_is_open()}|{next_opening():%Y-%m-%d %H:%M}"


# --- Renders shared for a short while (search results) --------------------------------------

# A search's results page is the same for everyone who searches the same normalised words
# (but for the CSRF token, nonce and search token): kept briefly, since how popular an article
# is (the "no results" page lists the popular ones) moves without a content edit.
SEARCH_TTL_SECONDS = 60.0
MAX_RENDERS = 500  # ~30 KB a page at most: bounded at ~15 MB a worker


@dataclass(frozen=True)
class SharedRender:
    version: str
    content: str
    expires: float  # time.monotonic()
    result_count: int


_renders: OrderedDict[tuple[object, ...], SharedRender] = OrderedDict()


def render_get(key: tuple[object, ...]) -> SharedRender | None:
    if not settings.FAQ_PAGE_CACHE:
        return None
    render = _renders.get(key)
    if render is None or time.monotonic() >= render.expires:
        return None
    if render.version != content_version():
        return None
    return render


def render_put(key: tuple[object, ...], render: SharedRender) -> None:
    if not settings.FAQ_PAGE_CACHE:
        return
    with _lock:
        _renders[key] = render
        _renders.move_to_end(key)
        while len(_renders) > MAX_RENDERS:
            _renders.popitem(last=False)


def personalise_search(content: str, request: HttpRequest, *, token: str) -> str:
    """A shared render with this visitor's token, and CSRF token and nonce where it has them
    (a live-results fragment has neither: no CSRF cookie is set for it)."""
    if CSRF_PLACEHOLDER in content:
        content = content.replace(CSRF_PLACEHOLDER, csrf_tokens.get_token(request))
    if NONCE_PLACEHOLDER in content:
        content = content.replace(NONCE_PLACEHOLDER, str(request.csp_nonce))  # type: ignore[attr-defined]
    return content.replace(quote(TOKEN_PLACEHOLDER, safe="/"), quote(token, safe="/")).replace(
        TOKEN_PLACEHOLDER, escape(token)
    )


# --- Fragments the same on every page of a language (the header's links, the footer) -------

_fragments: dict[tuple[str, ...], str] = {}


def fragment(name: str, language: str, prefix: str, render: Callable[[], str]) -> str:
    """`render()` once per worker, language and script prefix: for markup made only of
    links, static files and translations, which change with a deploy (a restart), never
    with content or visitor. Kept also with FAQ_PAGE_CACHE off: that switch is for pages,
    whose freshness it is about."""
    key = (name, language, prefix)
    html = _fragments.get(key)
    if html is None:
        html = _fragments[key] = render()
    return html
