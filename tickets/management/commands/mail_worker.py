"""The e-mail worker to keep running in production: django-tasks-db's worker, made to hold.

- A task claimed by a worker that died (killed, out of memory, the machine rebooted) stays
  RUNNING for ever in django-tasks-db: after a lease it is given back and runs again. The
  e-mail's sent marker (tickets.tasks) makes sure a customer never gets it twice.
- A database outage (a restart, a failover) is waited out with back-off, not fatal.
- SIGTERM finishes the e-mail being sent, then stops (systemd, Docker, supervisord).
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, InterfaceError, close_old_connections
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("tickets.mail_worker")

# Longer than any one e-mail can take (EMAIL_TIMEOUT per connection, a few connections).
LEASE = timedelta(minutes=10)
BACKOFF_MAX_SECONDS = 30.0


def requeue_expired(now: datetime | None = None) -> int:
    """Give back the tasks whose worker has held them past the lease."""
    cutoff = (now or timezone.now()) - LEASE
    expired = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    count = expired.update(status=TaskResultStatus.READY, started_at=None)
    if count:
        logger.warning("Gave back %d task(s) whose worker did not finish them", count)
    return count


class Command(BaseCommand):
    help = "Send the queued e-mails, for ever: give back abandoned tasks, survive outages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
        parser.add_argument("--worker-id", default="", help="name in the task results")
        parser.add_argument(
            "--max-rounds", type=int, default=None, help="stop after N rounds (tests)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False
        self.worker: Worker | None = None
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        backoff = 1.0
        rounds = 0
        worker_id = options["worker_id"] or f"mail-{time.time_ns()}"
        while not self.stopping and (
            options["max_rounds"] is None or rounds < options["max_rounds"]
        ):
            rounds += 1
            try:
                close_old_connections()
                requeue_expired()
                self.worker = Worker(
                    queue_names=["*"],
                    interval=0,
                    batch=True,
                    backend_name="default",
                    startup_delay=False,
                    max_tasks=None,
                    worker_id=worker_id,
                    excluded_queue_names=[],
                )
                self.worker.run()
                backoff = 1.0
                time.sleep(options["interval"])
            except (DatabaseError, InterfaceError):
                logger.warning("Database unavailable; retrying in %.0f s", backoff, exc_info=True)
                close_old_connections()
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
        logger.info("Mail worker %s stopped", worker_id)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # Worker.run between tasks checks nothing of ours; the round ends after the current
        # e-mail, and the loop stops.
        logger.info("Received %s: stopping after the current e-mail", signal.strsignal(signum))
        self.stopping = True
        if self.worker is not None:
            self.worker.running = False  # checked by the worker between two tasks


__all__ = ["Command", "requeue_expired"]
