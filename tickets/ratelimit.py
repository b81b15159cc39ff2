"""Fixed-window rate limits in Django's cache, which every worker shares (the database cache by
default, Redis when configured)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/3600' -> (10, 3600): at most 10 hits per 3600 seconds."""
    count, seconds = rate.split("/")
    return int(count), int(seconds)


def _key(scope: str, identity: str, window: int) -> str:
    # Hashed: the cache never holds an e-mail or IP address in clear.
    digest = hashlib.sha256(f"{scope}:{identity}".encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{window}"


def is_limited(scope: str, identity: str, rate: str) -> bool:
    """Record a hit for this identity and say whether it went over the rate."""
    limit, seconds = parse_rate(rate)
    window = int(time.time() // seconds)
    key = _key(scope, identity.lower(), window)
    if cache.add(key, 1, timeout=seconds + 5):
        return limit < 1
    try:
        hits = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds + 5)
        hits = 1
    return hits > limit


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wants it to be unless a trusted
    # proxy sets it, and the proxy set-up is the operator's to configure.
    return str(request.META.get("REMOTE_ADDR", "unknown"))
