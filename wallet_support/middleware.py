"""What every request passes first: the health probes, and a request id with one access line
per request in the logs."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.core.cache import cache
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import HttpRequest, HttpResponse

from faq import pagecache
from wallet_support.clients import client_ip

access_log = logging.getLogger("wallet_support.access")
health_log = logging.getLogger("wallet_support.health")

# The request being served, for every log line written while it is (RequestIdFilter).
request_id: ContextVar[str] = ContextVar("request_id", default="-")
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _json(status: int, body: dict[str, str]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _probe(name: str, check: Callable[[], object]) -> str:
    try:
        check()
    except Exception:  # any failure of a dependency is "not ready", never a 500
        health_log.warning("readiness: %s unavailable", name, exc_info=True)
        return "unavailable"
    return "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("readyz", "1", timeout=10)
    cache.get("readyz")


class HealthMiddleware:
    """/healthz: the process answers (no dependency is touched). /readyz: it can serve: the
    database and the shared cache answer (503 when one does not).

    First in the chain, so a probe by IP address is neither refused by ALLOWED_HOSTS nor
    redirected to HTTPS, and needs no session or CSRF."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return _json(200, {"status": "ok"})
        if request.path == "/readyz":
            checks = {"database": _probe("database", _database), "cache": _probe("cache", _cache)}
            ready = all(state == "ok" for state in checks.values())
            return _json(
                200 if ready else 503, {"status": "ok" if ready else "unavailable", **checks}
            )
        return self.get_response(request)


class RequestChecksMiddleware:
    """Refuses what no page can answer: a NUL character in an admin query parameter (the
    admin's list filters pass values to the database as they are, and PostgreSQL refuses a NUL
    in any query: a 500). Public pages clean their own input (search drops it). Last in the
    chain, so the 400 page is rendered like any page (language, nonce, user)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        in_admin = request.path.startswith("/admin/")
        if in_admin and any("\x00" in value for value in request.GET.values()):
            raise BadRequest("NUL character in the query string")
        return self.get_response(request)


# Features no page of ours uses: off, so an injected frame or script cannot ask for them.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class RequestLogMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it is a sane one, else a new
    one), returns it in the response, and writes one access line when the answer leaves."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = given if _GOOD_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = rid
            response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
            return response
        finally:
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client_ip(request),
                    "user_id": getattr(getattr(request, "user", None), "pk", None),
                },
            )
            request_id.reset(token)


class PageCacheMiddleware:
    """Answers a request for a public page kept in the per-worker cache (faq.pagecache) before
    URL routing, the view and any template. After the middleware that give the request its
    session, language, CSRF cookie and CSP nonce, and the response its headers; before those
    a cached page never needs (authentication, messages, htmx, axes), which would only cost
    it time. A page gets into the cache only through its view (`faq.pagecache.cached_page`)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = pagecache.page_answer(request)
        if response is not None:
            return response
        return self.get_response(request)
