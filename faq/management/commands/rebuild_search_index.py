"""Re-tokenize every article into the search index.

The index follows each save by itself; run this after changing the tokenizer or the synonym
groups (load_help_content runs it too), or to repair an index that no longer agrees with the
articles.
"""

from typing import Any

from django.core.management.base import BaseCommand

from faq.search import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the help-centre search index from the articles."

    def handle(self, *args: Any, **options: Any) -> None:
        count = rebuild_index()
        self.stdout.write(f"Search index rebuilt: {count} articles.")
