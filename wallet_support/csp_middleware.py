"""django-csp's middleware, with the policy built once per worker instead of on every response.

django-csp rebuilds the Content-Security-Policy header from the settings for each response
(copying every directive, twice: the policy and the report-only one): about a tenth of the
time of a page served from the page cache (faq.pagecache). The policy only changes with the
settings, and per response only by its nonce, so it is built once with a marker where the
nonce goes and the marker replaced. A view that changes the policy for its response
(@csp_update, @csp_replace, @csp_override) gets django-csp's own build, unchanged.
"""

from __future__ import annotations

import http.client
import secrets
from functools import cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase

_NONCE_MARK = f"csp-nonce-{secrets.token_hex(16)}"
# Set by django-csp's decorators on a response whose policy differs from the settings'.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_HEADERS = (
    (HEADER, False, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    (HEADER_REPORT_ONLY, True, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
)


@cache
def _policy(report_only: bool, with_nonce: bool) -> str:
    return build_policy(nonce=_NONCE_MARK if with_nonce else None, report_only=report_only)


@cache
def _excluded_prefixes(setting: str) -> tuple[str, ...]:
    policy = getattr(settings, setting, None) or {}
    return tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


def _forget(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policy.cache_clear()
        _excluded_prefixes.cache_clear()


setting_changed.connect(_forget, dispatch_uid="wallet_support.csp_middleware")


class CSPMiddleware(BaseCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if any(getattr(response, name, None) is not None for name in _PER_RESPONSE):
            return super().process_response(request, response)
        debug_page = response.status_code in (
            http.client.INTERNAL_SERVER_ERROR,
            http.client.NOT_FOUND,
        )
        if debug_page and settings.DEBUG:
            return response
        nonce = getattr(request, "_csp_nonce", None)
        for header, report_only, exempt, setting in _HEADERS:
            policy = _policy(report_only, nonce is not None)
            if (
                policy
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(_excluded_prefixes(setting))
            ):
                response[header] = policy.replace(_NONCE_MARK, nonce) if nonce else policy
        if nonce is None:
            # As django-csp: a nonce asked for after the header is written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
