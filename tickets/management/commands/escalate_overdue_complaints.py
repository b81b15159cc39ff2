"""For cron: raise the priority of complaints past a register deadline (tickets/register.py).

Each breach escalates a complaint once, however often this runs.
"""

from typing import Any

from django.core.management.base import BaseCommand

from tickets.services import complaints_escalate_overdue


class Command(BaseCommand):
    help = "Raise the priority of complaints past their acknowledgement or final-response deadline."

    def handle(self, *args: Any, **options: Any) -> None:
        count = complaints_escalate_overdue()
        self.stdout.write(f"Escalated {count} overdue complaint deadline(s).")
