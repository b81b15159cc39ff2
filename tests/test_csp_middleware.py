"""The CSP header built once per worker (wallet_support.csp_middleware) is django-csp's own."""

import pytest
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from tests.helpers import find
from wallet_support.csp_middleware import CSPMiddleware


def answer(middleware_class, *, use_nonce: bool, decorate=None):
    request = RequestFactory().get("/zh-hans/")
    middleware = middleware_class(lambda request: HttpResponse())
    middleware.process_request(request)
    nonce = str(request.csp_nonce) if use_nonce else None  # type: ignore[attr-defined]
    response = HttpResponse()
    if decorate:
        decorate(response)
    middleware.process_response(request, response)
    return response, nonce


@pytest.mark.parametrize("use_nonce", [True, False])
def test_the_header_is_the_one_django_csp_builds(use_nonce):
    ours, nonce = answer(CSPMiddleware, use_nonce=use_nonce)
    theirs, their_nonce = answer(DjangoCSPMiddleware, use_nonce=use_nonce)
    header = "Content-Security-Policy"
    if use_nonce:
        assert f"'nonce-{nonce}'" in ours[header]
        assert ours[header] == theirs[header].replace(their_nonce, nonce)
    else:
        assert "nonce" not in ours[header]
        assert ours[header] == theirs[header]


def test_each_response_has_its_own_nonce():
    first, _ = answer(CSPMiddleware, use_nonce=True)
    second, _ = answer(CSPMiddleware, use_nonce=True)
    nonces = [
        find(r"'nonce-([^']+)'", r["Content-Security-Policy"]).group(1) for r in (first, second)
    ]
    assert nonces[0] != nonces[1]


def test_a_policy_changed_for_one_response_is_applied(settings):
    def widen(response):
        response._csp_update = {"img-src": ["https://maps.example"]}

    ours, _ = answer(CSPMiddleware, use_nonce=False, decorate=widen)
    assert "https://maps.example" in ours["Content-Security-Policy"]
    plain, _ = answer(CSPMiddleware, use_nonce=False)
    assert "https://maps.example" not in plain["Content-Security-Policy"]


def test_a_changed_setting_is_seen(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    ours, _ = answer(CSPMiddleware, use_nonce=False)
    assert ours["Content-Security-Policy"] == "default-src 'none'"
