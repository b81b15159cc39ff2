"""For cron (daily): delete the files of tickets finished more than
TICKETS_ATTACHMENT_RETENTION_DAYS ago (tickets/retention.py). --dry-run lists them instead."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tickets import retention, services
from tickets.models import Attachment


class Command(BaseCommand):
    help = (
        "Delete the attachment files of tickets resolved or closed more than "
        "TICKETS_ATTACHMENT_RETENTION_DAYS ago; each ticket keeps the file's name and the date "
        "it was deleted. --dry-run lists what would be deleted and deletes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List the files; delete nothing."
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        now = timezone.now()
        try:
            cutoff = retention.cutoff(now)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        attachments = (
            retention.due(now) if dry_run else services.attachments_delete_expired(now=now)
        )
        for attachment in attachments:
            self._write_line(attachment)
        total = sum(attachment.size for attachment in attachments)
        finished = f"finished before {timezone.localtime(cutoff):%Y-%m-%d %H:%M}"
        if dry_run:
            self.stdout.write(
                f"Would delete {len(attachments)} file(s), {total} bytes, of tickets {finished}. "
                "Run without --dry-run to delete them."
            )
        else:
            self.stdout.write(
                f"Deleted {len(attachments)} file(s), {total} bytes, of tickets {finished}."
            )

    def _write_line(self, attachment: Attachment) -> None:
        ticket = attachment.ticket
        started = ticket.resolved_at or ticket.status_changed_at
        self.stdout.write(
            f"{ticket.reference}\t{ticket.status}\t{timezone.localtime(started):%Y-%m-%d}\t"
            f"{attachment.size}\t{attachment.original_name}"
        )
