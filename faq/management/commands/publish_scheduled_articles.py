"""Publish the articles staff scheduled for a time that has come. Run it from cron every
minute: an article goes live within a minute of its time."""

from typing import Any

from django.core.management.base import BaseCommand

from faq.services import articles_publish_due


class Command(BaseCommand):
    help = "Publish draft articles whose scheduled publishing time has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        for article in articles_publish_due():
            self.stdout.write(f"Published {article.language}/{article.slug}")
