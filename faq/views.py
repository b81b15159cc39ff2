import functools
import hashlib
import re
import secrets
import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url, replace_url

from faq import pagecache, services
from faq.forms import FeedbackForm
from faq.models import (
    Article,
    ArticleFeedback,
    Category,
    SecurityNotice,
    current_language,
)
from faq.pagecache import CachedPage
from faq.search import find, is_too_short, normalize_query
from wallet_support import csrf_tokens
from wallet_support.clients import client_ip
from wallet_support.htmx import HtmxHttpRequest, wants_partial

VISITOR_COOKIE = "hc_visitor"
VISITOR_SALT = "faq.visitor"
RELATED_ARTICLES = 5
POPULAR_ARTICLES = 8
LIVE_RESULTS = 5
LIVE_SEARCH_MIN_LENGTH = 2
SEARCH_RESULTS_ID = "search-results"
# The search boxes (templates/includes/search_form.html): "<search_id>-form".
SEARCH_FORM_IDS = {"page-search-form", "home-search-form", "header-search-form"}
# The signed token of the customer's last search, sent back by the search form and result
# links (see faq.services.search_log_record and search_log_mark_opened).
SEARCH_TOKEN_PARAM = "sl"
EXACT_PARAM = "exact"
# The visit's last search, until a result of it is opened: opening another article instead
# suggests a synonym to staff (faq.services.synonym_suggestion_record).
LAST_SEARCH_COOKIE = "hc_last_search"
LAST_SEARCH_MAX_AGE = 30 * 60  # seconds: a visit
# Shown under the home search box: a fixed list, so the home page stays one cached render.
POPULAR_SEARCHES = {
    "zh-hans": ["提现", "充值", "密码", "退款", "验证码"],
    "en": ["withdraw", "top up", "password", "refund", "verification code"],
}


@require_safe
@pagecache.cached_page(variant=pagecache.combined(pagecache.chat_state, pagecache.incidents_state))
def home(request: HtmxHttpRequest) -> HttpResponse:
    language = current_language()
    context = {
        "categories": Category.objects.with_article_counts(language),
        "popular_articles": Article.objects.popular(language, POPULAR_ARTICLES),
        "notices": SecurityNotice.objects.published(),
        "popular_searches": POPULAR_SEARCHES.get(language, []),
    }
    return TemplateResponse(request, "faq/home.html", context)


@require_safe
@pagecache.cached_page(variant=pagecache.chat_state)
def category_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    articles = Article.objects.published().in_language().in_category(category)
    return TemplateResponse(
        request, "faq/category_detail.html", {"category": category, "articles": articles}
    )


@require_safe
@vary_on_headers("HX-Request")
def article_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    language = current_language()
    page = pagecache.get(language, slug)
    if page is None:
        page = _render_article_page(request, language, slug)
        # From now on the middleware answers the plain requests for it, before routing.
        pagecache.page_register(
            request,
            page,
            serve_if=_without_last_search,
            finish=_give_visitor_id,
            variant=page.variant_now,
        )
    not_modified = get_conditional_response(
        request, etag=page.etag, last_modified=page.last_modified
    )
    if not_modified is not None:
        return not_modified
    # The cached page is the same for everyone but for the visitor's CSRF token and nonce.
    content = pagecache.personalise(
        page.content, csrf_token=csrf_tokens.get_token(request), nonce=str(request.csp_nonce)
    )
    response = HttpResponse(content)
    if last_search := request.COOKIES.get(LAST_SEARCH_COOKIE):
        # The visit searched, opened none of the results, and came here: maybe the words
        # searched for mean this article (a suggestion for staff, never applied by itself).
        services.synonym_suggestion_record(
            token=last_search, language=language, slug=slug, max_age=LAST_SEARCH_MAX_AGE
        )
        response.delete_cookie(LAST_SEARCH_COOKIE, samesite="Lax")
    response["ETag"] = page.etag
    response["Last-Modified"] = http_date(page.last_modified)
    # Revalidate every time (cheap, answered with 304), and never share: the page holds the
    # visitor's own CSRF token in the feedback form.
    patch_cache_control(response, private=True, no_cache=True)
    _give_visitor_id(request, response)
    return response


def _without_last_search(request: HttpRequest) -> bool:
    # A visit that searched and comes here instead goes through the view (synonym_record).
    return LAST_SEARCH_COOKIE not in request.COOKIES


def _give_visitor_id(request: HttpRequest, response: HttpResponse) -> None:
    if _visitor_id(request) is None:
        # The visitor's id before any vote: a vote sent without it counts per address and day.
        _set_visitor_cookie(response, secrets.token_urlsafe(24))


@functools.cache
def _visitor_signer(secret_key: str) -> signing.Signer:
    # What set_signed_cookie builds on every call (request.get_signed_cookie reads it back):
    # kept, as the article's cached answer sets this cookie for every new visitor.
    return signing.get_cookie_signer(salt=VISITOR_COOKIE + VISITOR_SALT)


def _set_visitor_cookie(response: HttpResponse, visitor_id: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        _visitor_signer(settings.SECRET_KEY).sign(visitor_id),
        max_age=60 * 60 * 24 * 365,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def _render_article_page(request: HtmxHttpRequest, language: str, slug: str) -> CachedPage:
    # Read the version first: an edit saved while we render makes this copy stale at once.
    version = pagecache.content_version()
    # Both translations in one query: the page links to the other one (hreflang, switcher).
    versions = list(Article.objects.published().filter(slug=slug).select_related("category"))
    article = next((a for a in versions if a.language == language), None)
    if article is None:
        raise Http404
    translation = next((a for a in versions if a.language != language), None)
    related = Article.objects.related_to(article, RELATED_ARTICLES)

    # The banners of the known incidents open now on the article's topic (tickets.incidents):
    # the copy is served only while the same ones are open.
    from tickets.incidents import (
        category_state,
        last_change,
        open_incidents_of_category,
        state_of,
    )

    incidents = open_incidents_of_category(article.category.slug)
    state = state_of(incidents)  # of the banners shown, not of a second look at the clock

    # The page shows the article, its category, its translation's address, the related
    # titles and the incidents: it is unchanged while none of them is.
    shown = [article, article.category, translation, *related]
    last_modified = max(
        [item.updated_at for item in shown if item is not None]
        + [moment for moment in [last_change(incidents)] if moment is not None]
    )
    fingerprint = "|".join(
        f"{item.pk}:{item.updated_at.timestamp()}" for item in shown if item is not None
    )
    etag_source = f"{language}|{fingerprint}|{state}"
    etag = f'W/"{hashlib.sha256(etag_source.encode()).hexdigest()[:32]}"'
    context = {
        "article": article,
        "translation": translation,
        "related_articles": related,
        "page_languages": [version.language for version in versions],
        "feedback": None,
        "feedback_form": FeedbackForm(),
        "incidents": incidents,
        "csrf_token": pagecache.CSRF_PLACEHOLDER,
        "csp_nonce": pagecache.NONCE_PLACEHOLDER,
    }
    page = CachedPage(
        version=version,
        content=render_to_string("faq/article_detail.html", context, request),
        etag=etag,
        last_modified=int(last_modified.timestamp()),
        variant=state,
        variant_now=category_state(article.category.slug),
    )
    pagecache.put(language, slug, page)
    return page


def _visitor_id(request: HttpRequest) -> str | None:
    return request.get_signed_cookie(VISITOR_COOKIE, default=None, salt=VISITOR_SALT)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def article_feedback(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Record a Yes/No vote (and, after a No, what was missing).

    With htmx the feedback box swaps in place; without JavaScript the POST redirects to this
    view's GET, a small page that shows the same box in its new state.
    """
    article = get_object_or_404(
        Article.objects.published().in_language().select_related("category"), slug=slug
    )
    visitor_id = _visitor_id(request)
    feedback = None
    form = FeedbackForm(request.POST or None)

    if request.method == "POST" and form.is_valid():
        # Without the visitor cookie (a script, a browser refusing cookies) a vote counts
        # once per address, article and day: ten cookie-less requests are one vote.
        visitor_id = visitor_id or services.anonymous_visitor_id(
            client_ip(request), article.pk, timezone.localdate()
        )
        feedback = services.feedback_record(
            article=article,
            visitor_id=visitor_id,
            helpful=form.cleaned_data["helpful"],
            comment=form.cleaned_data["comment"],
        )
        response: HttpResponse
        if wants_partial(request):
            response = TemplateResponse(
                request,
                "faq/article_detail.html#feedback",
                {"article": article, "feedback": feedback, "feedback_form": FeedbackForm()},
            )
        else:
            response = redirect("faq:article-feedback", slug=article.slug)
            response.status_code = 303
        _set_visitor_cookie(response, visitor_id)
        return response

    if visitor_id:
        feedback = ArticleFeedback.objects.filter(article=article, visitor_id=visitor_id).first()
    context = {
        "article": article,
        "feedback": feedback,
        # An invalid POST shows its errors; a GET shows a fresh form.
        "feedback_form": form if request.method == "POST" else FeedbackForm(),
    }
    template = (
        "faq/article_detail.html#feedback"
        if wants_partial(request)
        else "faq/article_feedback.html"
    )
    return TemplateResponse(request, template, context)


# Searches that mean "my money is going now" or "someone is pretending to be you": before any
# article, the page offers the emergency lane or the checker (tickets/protection_views.py).
_EMERGENCY_WORDS = re.compile(
    r"被盗|被盜|盗刷|盜刷|盗号|盜號|被黑|被入侵|冒用|stolen|hacked|hijack|unauthori[sz]ed", re.I
)
_SCAM_WORDS = re.compile(r"诈骗|詐騙|骗子|騙子|冒充|假客服|scam|fraud|phishing|impostor|fake", re.I)


def urgent_help(query: str) -> str:
    if _EMERGENCY_WORDS.search(query):
        return "emergency"
    if _SCAM_WORDS.search(query):
        return "scam"
    return ""


@require_safe
@vary_on_headers("HX-Request", "HX-Target")
def search_results(request: HtmxHttpRequest) -> HttpResponse:
    """The search page, and live results as the customer types (htmx).

    Typing in the search page's own box refreshes its results list; typing in the home or
    header box fills the small panel under that box. Either way the address becomes this
    page's, so reloading or coming back shows the same results.
    """
    query = normalize_query(request.GET.get("q", ""))
    language = current_language()
    partial = wants_partial(request)
    live_panel = partial and request.htmx.target != SEARCH_RESULTS_ID
    too_short = bool(query) and is_too_short(query)
    exact = request.GET.get(EXACT_PARAM) == "1"  # "Search instead for" what was typed

    # Log what the customer searched for, not each pause in their typing: live searches only
    # from two characters on, and a query that extends or trims the previous one (typing on,
    # or Enter on what was typed) updates that search's row (faq.services.search_log_record).
    # The log is written in batches by the worker (faq.searchlog), not by this request.
    # A history restore (Back to a live-search address) shows a search again, it is not one.
    repeat = bool(request.htmx) and request.htmx.history_restore_request
    logged = bool(query) and not repeat and not (partial and len(query) < LIVE_SEARCH_MIN_LENGTH)
    form_id = request.htmx.trigger if partial else None
    search_form_id = form_id if form_id in SEARCH_FORM_IDS else "page-search-form"
    if live_panel:
        template = "faq/search.html#live-results"
    elif partial:
        template = "faq/search.html#results"
    else:
        template = "faq/search.html"

    # Everyone who searches the same words sees the same page but for three tokens: it is
    # rendered once and kept briefly (faq.pagecache.render_get).
    key = ("search", language, query, exact, template, search_form_id, logged)
    shared = pagecache.render_get(key)
    if shared is None:
        version = pagecache.content_version()  # first: an edit during the render wins
        outcome = find(query, language=language, exact=exact) if query and not too_short else None
        results = outcome.results if outcome else []
        context: dict[str, object] = {
            "query": query,
            "results": results,
            "too_short": too_short,
            "search_token": pagecache.TOKEN_PLACEHOLDER if logged else "",
            "search_token_param": SEARCH_TOKEN_PARAM,
            "search_form_id": search_form_id,
            "live_results": results[:LIVE_RESULTS],
            "corrected": outcome.corrected if outcome else "",
            "exact_param": EXACT_PARAM,
            "urgent_help": urgent_help(query),
            "csrf_token": pagecache.CSRF_PLACEHOLDER,
            "csp_nonce": pagecache.NONCE_PLACEHOLDER,
        }
        if query and not results and not live_panel:
            context["popular_articles"] = Article.objects.popular(language, POPULAR_ARTICLES)
        shared = pagecache.SharedRender(
            version=version,
            content=render_to_string(template, context, request),
            expires=time.monotonic() + pagecache.SEARCH_TTL_SECONDS,
            result_count=len(results),
        )
        pagecache.render_put(key, shared)

    search_log = None
    if logged:
        search_log = services.search_log_record(
            query=query,
            language=language,
            result_count=shared.result_count,
            previous_token=request.GET.get(SEARCH_TOKEN_PARAM, ""),
        )
    token = search_log.token if search_log else ""
    # A TemplateResponse already rendered: tests and tools still see which template it is.
    response = TemplateResponse(request, template)
    response.content = pagecache.personalise_search(shared.content, request, token=token)
    if partial:
        address = reverse("faq:search") + (f"?{urlencode({'q': query})}" if query else "")
        # The first live search from another page adds a history entry (Back returns to that
        # page); later ones, already on the search address, replace it.
        try:
            current = urlsplit(request.htmx.current_url or "").path
        except ValueError:  # the header is the client's to forge ("http://[abc")
            current = ""
        if current == reverse("faq:search"):
            replace_url(response, address)
        else:
            push_url(response, address)
    if search_log is not None:
        response.set_cookie(
            LAST_SEARCH_COOKIE,
            search_log.token,
            max_age=LAST_SEARCH_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    # The page carries this visitor's search token: no shared cache may hand it to another.
    patch_cache_control(response, private=True)
    return response


@require_safe
def search_open(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """A search result link: note that the search found something worth opening, then go."""
    services.search_log_mark_opened(token=request.GET.get(SEARCH_TOKEN_PARAM, ""), slug=slug)
    response = HttpResponseRedirect(reverse("faq:article-detail", args=[slug]))
    response.delete_cookie(LAST_SEARCH_COOKIE, samesite="Lax")  # the search found it
    return response


@require_safe
@pagecache.cached_page()
def site_map(request: HtmxHttpRequest) -> HttpResponse:
    """The site map for people: every topic with its articles, and the pages to reach us
    (/sitemap.xml stays for search engines)."""
    articles = (
        Article.objects.published().in_language().only("slug", "title", "category_id", "language")
    )
    categories = Category.objects.order_by("order", "slug").prefetch_related(
        Prefetch("articles", queryset=articles.order_by("title"), to_attr="listed")
    )
    return TemplateResponse(request, "faq/site_map.html", {"categories": categories})


@require_safe
@pagecache.cached_page(variant=pagecache.chat_state)
def contact(request: HtmxHttpRequest) -> HttpResponse:
    return TemplateResponse(request, "faq/contact.html", {})


@require_safe
@pagecache.cached_page(variant=pagecache.chat_state)
def security(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "notices": SecurityNotice.objects.published(),
        "security_articles": Article.objects.published()
        .in_language()
        .about_security()
        .only("slug", "title", "summary", "language"),
    }
    return TemplateResponse(request, "faq/security.html", context)
