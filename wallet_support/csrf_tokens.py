"""django.middleware.csrf.get_token, with its random characters drawn in one go.

Django draws each of a token's 64 random characters (a new visitor's 32-character secret, and
the 32-character mask a token is made with) through secrets.choice: 64 reads of the system's
random source, a third of the time of an article answered from the page cache (every new
visitor needs both). Here the same characters come from one secrets.token_bytes() call, and
the rest is Django's: the secret in request.META["CSRF_COOKIE"], which CsrfViewMiddleware
sets as the cookie, and the token the mask followed by the secret shifted by it, which
CsrfViewMiddleware checks. tests/test_csrf_tokens.py checks a token made here is accepted.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

_CHARS = CSRF_ALLOWED_CHARS
# Bytes at or above this are thrown away, so each character is equally likely (62 × 4 = 248).
_UNBIASED = 256 - 256 % len(_CHARS)
_POSITION = {char: index for index, char in enumerate(_CHARS)}


def _random_string(length: int) -> str:
    picked: list[str] = []
    while len(picked) < length:
        picked += [_CHARS[b % len(_CHARS)] for b in secrets.token_bytes(length) if b < _UNBIASED]
    return "".join(picked[:length])


def get_token(request: HttpRequest) -> str:
    """What django.middleware.csrf.get_token returns, for the same request, and with the same
    effect: the cookie is sent (a new secret, or the visitor's renewed)."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = _random_string(CSRF_SECRET_LENGTH)
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = _random_string(CSRF_SECRET_LENGTH)
    cipher = "".join(
        _CHARS[(_POSITION[s] + _POSITION[m]) % len(_CHARS)]
        for s, m in zip(secret, mask, strict=True)
    )
    return mask + cipher
