"""One vocabulary and Chinese punctuation in what customers read (locale/glossary.toml)."""

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings

from tests.helpers import zh
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
GLOSSARY = tomllib.loads((ROOT / "locale/glossary.toml").read_text())["term"]
RETIRED = sorted({word for term in GLOSSARY for word in term["retired_zh"]})
CJK = "\u3400-\u9fff"
# Half-width punctuation touching Chinese: "分类: 请", "验证码. 客服", "(必填)".
HALF_WIDTH = re.compile(
    rf"[{CJK}][,:;!?()]|[(][{CJK}]|[{CJK}]\.(?:\s|$)"
    rf"|[{CJK}] +[，。：；！？）]|[，。：；！？（] +[{CJK}]"
)


def _without_placeholders(text: str) -> str:
    return re.sub(r"%\(\w+\)[sd]|%[sd]|\{\{[^}]*\}\}|<[^>]+>", "X", text)


def test_every_chinese_string_in_the_catalogue_uses_full_width_punctuation():
    catalogue = polib.mofile(str(ROOT / "locale/zh_Hans/LC_MESSAGES/django.mo"))
    wrong = []
    for entry in catalogue:
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            if text and HALF_WIDTH.search(_without_placeholders(text)):
                wrong.append((entry.msgid, text))
    assert wrong == []


class VisibleText(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in {"script", "style"}
        for name, value in attrs:
            if name in {"placeholder", "aria-label", "title", "alt"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in {"script", "style"}

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


@pytest.fixture
def customer_pages(client, settings):
    """The interface pages in Chinese, with the ticket form's errors and a ticket page."""
    settings.SUPPORT_HOURS = "00:00–24:00"
    ticket = TicketFactory.create(email="li.wei@example.com", transaction_reference="TX-1")
    client.post(zh("tickets:track"), {"reference": ticket.reference, "email": ticket.email})
    empty = dict.fromkeys(["topic", "subject", "description", "email", "name"], "")
    return {
        "contact": client.get(zh("faq:contact")),
        "ticket form": client.get(zh("tickets:new")),
        "ticket form with errors": client.post(zh("tickets:new"), empty),
        "tracking": client.get(zh("tickets:track")),
        "tracking with errors": client.post(zh("tickets:track"), {"reference": "", "email": ""}),
        "chat start": client.get(zh("tickets:chat-start")),
        "ticket": client.get(ticket.get_absolute_url()),
        "live e-mail check": client.post(zh("tickets:field-check", "email"), {"email": "a@"}),
    }


def test_customer_pages_use_no_retired_word(customer_pages):
    found = {
        name: [word for word in RETIRED if word in VisibleText(page.content.decode()).text]
        for name, page in customer_pages.items()
    }
    assert {name: words for name, words in found.items() if words} == {}


def test_customer_pages_use_full_width_punctuation(customer_pages):
    wrong = {}
    for name, page in customer_pages.items():
        lines = VisibleText(page.content.decode()).text.splitlines()
        bad = [line.strip() for line in lines if HALF_WIDTH.search(line)]
        if bad:
            wrong[name] = bad
    assert wrong == {}


def test_the_customer_sees_customer_status_names(client):
    ticket = TicketFactory.create(email="li.wei@example.com")
    client.post(zh("tickets:track"), {"reference": ticket.reference, "email": ticket.email})
    html = client.get(ticket.get_absolute_url()).content.decode()
    assert '<span class="badge badge-new">已收到</span>' in html
