"""Small helpers the tests share: addresses in each language, queued e-mail, help content."""

from __future__ import annotations

import re
from io import StringIO

from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult


def url_in(language: str, name: str, *args: object) -> str:
    """The address of a named page in one language: `url_in("en", "faq:article-detail", slug)`."""
    with translation.override(language):
        return reverse(name, args=args)


def zh(name: str, *args: object) -> str:
    """The page's address on the Chinese site."""
    return url_in("zh-hans", name, *args)


def en(name: str, *args: object) -> str:
    """The page's address on the English site."""
    return url_in("en", name, *args)


def find(pattern: str, text: str) -> re.Match[str]:
    """re.search that fails the test, showing the text, when the pattern is not there."""
    found = re.search(pattern, text, re.S)
    assert found is not None, f"{pattern!r} not found in:\n{text}"
    return found


def queued_emails() -> list[str]:
    """The ticket e-mails waiting for the task worker, oldest first, by template name."""
    tasks = DBTaskResult.objects.filter(
        task_path__endswith=".send_ticket_email", status=TaskResultStatus.READY
    ).order_by("enqueued_at")
    return [task.args_kwargs["args"][1] for task in tasks]


def load_help_content(*args: str) -> str:
    """Run `manage.py load_help_content` and return what it printed.

    Plain `db` tests that only read the shipped content use the `help_content` fixture
    (loaded once per module); call this in transactional tests, or to test the command.
    """
    out = StringIO()
    call_command("load_help_content", *args, stdout=out)
    return out.getvalue()
