"""The search log, written in batches: a search costs its customer no database write.

Each search (faq.services.search_log_record) and each result opened from one
(search_log_mark_opened) is kept in this worker's memory and written with the others every
FAQ_SEARCH_LOG_FLUSH_SECONDS by a thread of the worker (faq.services.search_log_write), or
sooner when MAX_BATCH are waiting. A search is named by a random key made here and carried in
its token, so a later refinement, an opened result or a synonym suggestion finds it whether
its row is written yet or not, and whichever worker writes first.

What this costs: a worker that is killed (SIGKILL, the OOM killer, a crash) loses the searches
it had not written yet, at most FAQ_SEARCH_LOG_FLUSH_SECONDS of them. A worker stopped
normally (SIGTERM, a deploy, gunicorn's max-requests) writes them as it exits. The log is
analytics: losing a few seconds of it is accepted; a write on every search is not.

FAQ_SEARCH_LOG_FLUSH_SECONDS=0 writes each search at once, in its request (the tests do).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)

from faq.models import SearchQuery

logger = logging.getLogger(__name__)

MAX_BATCH = 500  # searches waiting: a burst is written early, not at the next tick
# A database down for long: searches beyond this are dropped, not the worker's memory.
MAX_PENDING = 20_000


@dataclass
class Pending:
    search: SearchQuery
    # The key was made in this worker just now: no row can hold it (written with one INSERT).
    fresh: bool
    # Only "a result was opened": the words come from the token, and never replace the
    # search's own (a refinement written by another worker is newer).
    opened_only: bool = False


_pending: dict[str, Pending] = {}
_lock = threading.Lock()
_wake = threading.Event()
_stop = threading.Event()
_flusher: dict[str, object] = {"thread": None, "pid": None}


def add(search: SearchQuery, *, fresh: bool = False, opened_only: bool = False) -> None:
    """Keep a search (or a refinement of one, or an opened result) for the next batch."""
    assert search.key
    with _lock:
        _merge(Pending(search, fresh, opened_only))
        waiting = len(_pending)
    if settings.FAQ_SEARCH_LOG_FLUSH_SECONDS <= 0:
        flush()
        return
    _ensure_flusher()
    if waiting >= MAX_BATCH:
        _wake.set()


def _merge(new: Pending) -> None:
    key = str(new.search.key)
    old = _pending.get(key)
    if old is None:
        if len(_pending) >= MAX_PENDING:
            logger.warning("search log: %d searches waiting, dropping one", len(_pending))
            return
        _pending[key] = new
        return
    kept, given = old.search, new.search
    opened = kept.opened_slug or given.opened_slug  # the first result opened counts
    if not new.opened_only and (old.opened_only or given.updated_at >= kept.updated_at):
        kept.query, kept.result_count = given.query, given.result_count
        kept.updated_at = given.updated_at
        old.opened_only = False
    kept.created_at = min(kept.created_at, given.created_at)
    kept.opened_slug = opened
    old.fresh = old.fresh or new.fresh


def pending(key: str) -> SearchQuery | None:
    """The search behind ``key`` if this worker has not written it yet."""
    entry = _pending.get(key)
    return entry.search if entry is not None else None


def flush() -> int:
    """Write what is waiting; on a database error keep it for the next try. Returns how
    many searches were written."""
    from faq.services import search_log_write  # services records through this module

    with _lock:
        batch = list(_pending.values())
        _pending.clear()
    if not batch:
        return 0
    try:
        search_log_write(batch)
    except (OperationalError, InterfaceError):
        # The database is away (down, restarting, a lock timeout): keep it all for the next
        # try.
        logger.warning("search log: writing %d searches failed", len(batch), exc_info=True)
        if settings.FAQ_SEARCH_LOG_FLUSH_SECONDS <= 0:
            return 0  # written at once or not at all, as a request's own write would be
        with _lock:
            for entry in batch:
                _merge(entry)
        return 0
    except DatabaseError:
        # One entry the database refuses (a value too long...) must not hold back the
        # others for ever: write them one by one and drop only what is refused.
        logger.warning("search log: a batch of %d was refused", len(batch), exc_info=True)
        return _write_one_by_one(batch, search_log_write)
    return len(batch)


def _write_one_by_one(batch: list[Pending], write: Callable[[list[Pending]], None]) -> int:
    written = 0
    for entry in batch:
        try:
            with transaction.atomic():
                write([entry])
        except DatabaseError:
            logger.warning("search log: dropped search %s", entry.search.key, exc_info=True)
        else:
            written += 1
    return written


def clear() -> None:
    """Forget what is waiting (tests)."""
    with _lock:
        _pending.clear()


def _flusher_running() -> bool:
    thread = _flusher["thread"]
    # A worker forked from a process that had started one has the object, not the thread.
    alive = isinstance(thread, threading.Thread) and thread.is_alive()
    return alive and _flusher["pid"] == os.getpid()


def _ensure_flusher() -> None:
    if _flusher_running():
        return
    with _lock:
        if _flusher_running():
            return
        thread = threading.Thread(target=_run, name="search-log-flusher", daemon=True)
        _flusher.update(thread=thread, pid=os.getpid())
        # Started under the lock: another request thread must see it alive, not start a
        # second one.
        thread.start()


def stop_flusher() -> None:
    """Write what is waiting and end the thread (tests; a worker exits through atexit)."""
    thread = _flusher["thread"]
    if isinstance(thread, threading.Thread) and thread.is_alive():
        _stop.set()
        _wake.set()
        thread.join(timeout=10)
    _stop.clear()
    _flusher.update(thread=None, pid=None)


def _run() -> None:
    try:
        while not _stop.is_set():
            _wake.wait(max(settings.FAQ_SEARCH_LOG_FLUSH_SECONDS, 0.1))
            _wake.clear()
            close_old_connections()  # this thread's own connection, as a request would
            try:
                flush()
            except Exception:  # the thread must outlive any one failure
                logger.exception("search log: flush failed")
    finally:
        connections.close_all()  # this thread's connections only (they are per thread)


def _write_at_exit() -> None:
    # The thread may be in the middle of a batch it took off the queue: let it finish (the
    # interpreter would freeze a daemon thread mid-write), then write what is left.
    stop_flusher()
    flush()


# A worker stopped normally writes what it holds (gunicorn's sync worker exits through
# sys.exit, so atexit runs; a SIGKILL skips it: see the module's docstring).
atexit.register(_write_at_exit)
