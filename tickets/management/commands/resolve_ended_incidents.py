"""For cron (every few minutes): incidents whose planned end has passed are resolved, so the
customers who asked hear that it is over. The banners have gone already, at the end time
itself (tickets/incidents.py); this only tells the subscribers, once."""

from typing import Any

from django.core.management.base import BaseCommand

from tickets.incident_services import incidents_resolve_ended


class Command(BaseCommand):
    help = "Resolve the incidents whose planned end has passed, e-mailing who asked."

    def handle(self, *args: Any, **options: Any) -> None:
        count = incidents_resolve_ended()
        self.stdout.write(f"Resolved {count} incident(s) past their planned end.")
