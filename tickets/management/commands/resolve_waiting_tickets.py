"""For cron: resolve tickets that have waited on the customer for a week, e-mailing each."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tickets.services import tickets_auto_resolve


class Command(BaseCommand):
    help = "Resolve tickets waiting on the customer for --days days (default 7)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        count = tickets_auto_resolve(waited=timedelta(days=days))
        self.stdout.write(f"Resolved {count} ticket(s) waiting for {days} days or more.")
