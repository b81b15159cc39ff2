"""The shared cache may vanish at any moment (Redis restarting, frozen, or its network gone):
what is cached is rebuilt, and an outage degrades a page, it never answers 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger("wallet_support.cache")

T = TypeVar("T")


def cache_or(fallback: T, operation: Callable[[], T], *, what: str) -> T:
    """Run a cache operation; on any failure log it and carry on with `fallback`.

    Any exception, on purpose: the backends raise their own (redis' ConnectionError and
    TimeoutError, the database cache's DatabaseError), and none of them may reach a customer.
    """
    try:
        return operation()
    except Exception:
        logger.warning("cache unavailable: %s", what, exc_info=True)
        return fallback
