"""For cron: attachment files no row points to (a request killed between writing a file and
committing its row leaves one). Lists them; --delete removes them."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tickets.files import orphan_files, orphan_files_delete


class Command(BaseCommand):
    help = (
        "List files under PRIVATE_MEDIA_ROOT/attachments that no attachment points to; "
        "--delete removes them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="Delete the files listed.")
        parser.add_argument(
            "--older-than",
            type=int,
            default=60,
            metavar="MINUTES",
            help="Only files last written this many minutes ago or more (default 60), so that "
            "a file whose ticket is being saved right now is spared.",
        )

    def handle(self, *args: Any, delete: bool, older_than: int, **options: Any) -> None:
        orphans = orphan_files(older_than=timedelta(minutes=older_than))
        for orphan in orphans:
            self.stdout.write(f"{orphan.name}\t{orphan.size}")
        total = sum(orphan.size for orphan in orphans)
        if delete:
            orphan_files_delete(orphans)
            self.stdout.write(f"Deleted {len(orphans)} orphan file(s), {total} bytes.")
        else:
            self.stdout.write(
                f"{len(orphans)} orphan file(s), {total} bytes, older than {older_than} "
                "minutes. Run with --delete to remove them."
            )
