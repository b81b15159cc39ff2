"""Load the starter set of shared macros (tickets/content/macros.toml). Run it any number of
times: macros are found by their key, so nothing doubles, and one already there is left as the
team may have changed it, unless --force is given."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tickets.models import Macro, Priority, Status, Tag, Topic

MACROS_FILE = Path(__file__).resolve().parents[2] / "content" / "macros.toml"


def _check(entry: dict[str, Any]) -> None:
    key = entry.get("key", "?")
    for field, choices in (("status", Status), ("priority", Priority), ("topic", Topic)):
        if entry.get(field, "") not in ["", *choices.values]:
            raise CommandError(f"macro {key}: unknown {field} {entry[field]!r}")
    if not entry.get("title") or not (entry.get("zh") or entry.get("en")):
        raise CommandError(f"macro {key}: needs a title and a text")


def load_macros(*, force: bool = False, path: Path = MACROS_FILE) -> tuple[int, int, int]:
    """(created, updated, kept)."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("macro", [])
    created = updated = kept = 0
    with transaction.atomic():
        for entry in entries:
            _check(entry)
            values = {
                "title": entry["title"],
                "body_zh_hans": entry.get("zh", "").strip(),
                "body_en": entry.get("en", "").strip(),
                "set_status": entry.get("status", ""),
                "set_priority": entry.get("priority", ""),
                "set_topic": entry.get("topic", ""),
            }
            tags = [Tag.objects.get_or_create(name=name)[0] for name in entry.get("tags", [])]
            macro = Macro.objects.filter(key=entry["key"]).first()
            if macro is None:
                macro = Macro.objects.create(key=entry["key"], owner=None, **values)
                created += 1
            elif force:
                for field, value in values.items():
                    setattr(macro, field, value)
                macro.save()
                updated += 1
            else:
                kept += 1
                continue
            macro.add_tags.set(tags)
    return created, updated, kept


class Command(BaseCommand):
    help = "Load the starter set of shared macros; nothing doubles when run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="also replace macros the team has edited"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated, kept = load_macros(force=options["force"])
        self.stdout.write(f"macros: {created} created, {updated} updated, {kept} kept")
