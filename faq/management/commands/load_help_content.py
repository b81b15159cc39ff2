"""Load the help centre's own content from faq/content/ (TOML files).

Idempotent: run it twice and nothing doubles. An article a staff member has edited in the
admin since the last load is left alone unless --force is given: the loader remembers a
checksum of what it wrote and compares it with what is in the database now.

Settings placeholders in the bodies (``{support_hours}``, see faq.rendering) are checked
here, so a typo fails the load instead of reaching customers in braces.

The search index follows each article save by itself; the loader rebuilds it at the end
because faq/content/synonyms.toml, which the index depends on, may have changed too.
"""

import tomllib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from faq.models import Article, Category, Language, SecurityNotice
from faq.rendering import PLACEHOLDER, unknown_placeholders
from faq.search import rebuild_index
from faq.services import article_save

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"


def _both_languages(entry: dict[str, Any], key: str, *, required: bool = False) -> dict[str, str]:
    """`name = {zh-hans = "…", en = "…"}` in the file → the model's name_zh_hans and name_en."""
    texts = entry.get(key, {})
    if required and not (texts.get("zh-hans") and texts.get("en")):
        raise CommandError(f"{entry.get('slug', '?')}: “{key}” needs both zh-hans and en.")
    return {f"{key}_zh_hans": texts.get("zh-hans", ""), f"{key}_en": texts.get("en", "")}


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CommandError(f"{path}: {error}") from error


class Command(BaseCommand):
    help = "Load (or update) the help centre's categories, articles and security notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--content-dir", type=Path, default=CONTENT_DIR, help="Where the TOML files are."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Overwrite articles that staff have edited since the last load.",
        )

    @transaction.atomic
    def handle(self, *args: Any, content_dir: Path, force: bool, **options: Any) -> None:
        categories = self._load_categories(content_dir / "categories.toml")
        notices = self._load_notices(content_dir / "notices.toml")
        counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
        for path in sorted((content_dir / "articles").glob("*.toml")):
            for outcome in self._load_article(path, categories, force=force):
                counts[outcome] += 1
        self.stdout.write(
            f"{len(categories)} categories, {notices} notices; articles: "
            + ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
        )
        if counts["kept"]:
            self.stdout.write(
                f"{counts['kept']} article(s) edited by staff were kept; "
                "use --force to replace them."
            )
        self.stdout.write(f"Search index rebuilt: {rebuild_index()} articles.")

    def _load_categories(self, path: Path) -> dict[str, Category]:
        categories = {}
        for entry in _read(path).get("category", []):
            category, _ = Category.objects.update_or_create(
                slug=entry["slug"],
                defaults={
                    "order": entry.get("order", 0),
                    "icon": entry.get("icon", Category.Icon.CHAT),
                    **_both_languages(entry, "name", required=True),
                    **_both_languages(entry, "description"),
                },
            )
            categories[category.slug] = category
        return categories

    def _load_notices(self, path: Path) -> int:
        if not path.exists():
            return 0
        entries = _read(path).get("notice", [])
        for entry in entries:
            SecurityNotice.objects.update_or_create(
                slug=entry["slug"],
                defaults={
                    "order": entry.get("order", 0),
                    "level": entry.get("level", SecurityNotice.Level.INFO),
                    **_both_languages(entry, "title", required=True),
                    **_both_languages(entry, "body", required=True),
                },
            )
        return len(entries)

    def _load_article(
        self, path: Path, categories: dict[str, Category], *, force: bool
    ) -> list[str]:
        data = _read(path)
        slug = path.stem
        try:
            category = categories[data["category"]]
        except KeyError as error:
            raise CommandError(f"{path}: unknown or missing category") from error
        outcomes = []
        for language in Language.values:
            if language not in data:
                raise CommandError(f"{path}: no [{language}] version")
            version = data[language]
            if unknown := unknown_placeholders(version["body"]):
                raise CommandError(
                    f"{path} [{language}]: unknown placeholder(s) {', '.join(unknown)}"
                )
            # Titles and summaries are shown as typed (lists, search results, meta tags).
            if PLACEHOLDER.search(version["title"] + version["summary"]):
                raise CommandError(f"{path} [{language}]: placeholders work in the body only")
            wanted = {
                "category": category,
                "title": version["title"],
                "summary": version["summary"],
                "body": version["body"].strip() + "\n",
                "keywords": version.get("keywords", ""),
                "status": Article.Status.PUBLISHED,
                "order": data.get("order", 0),
                "featured": data.get("featured", False),
            }
            article = Article.objects.filter(language=language, slug=slug).first()
            if article is None:
                article = Article(language=language, slug=slug, **wanted)
                outcomes.append("created")
            elif article.content_checksum() != article.source_checksum and not force:
                article.rerender()
                outcomes.append("kept")
                continue
            else:
                before = article.content_checksum()
                for field, value in wanted.items():
                    setattr(article, field, value)
                if article.content_checksum() == before == article.source_checksum:
                    article.rerender()
                    outcomes.append("unchanged")
                    continue
                outcomes.append("updated")
            article.source_checksum = article.content_checksum()
            # The service, not save(): a file that changes one language flags the other.
            article_save(article=article)
        return outcomes
