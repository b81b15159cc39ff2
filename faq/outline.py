"""An article's outline: anchors on its section headings and the "On this page" list.

Built from the sanitized body_html (faq.rendering) when the page is rendered, so an article
needs nothing extra in its Markdown and the list never disagrees with the headings. The
sanitizer allows no id attribute, so the anchors cannot clash with one an editor wrote.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

# Long enough to need a list: below this the sections fit on a screen or two.
MIN_LISTED_SECTIONS = 3
_SECTION_HEADING = re.compile(r"<h2>(.*?)</h2>", re.DOTALL)


@dataclass(frozen=True)
class Heading:
    anchor: str
    text: str


@dataclass(frozen=True)
class Outline:
    html: SafeString
    headings: list[Heading]

    @property
    def listed(self) -> bool:
        return len(self.headings) >= MIN_LISTED_SECTIONS


def article_outline(body_html: str) -> Outline:
    """The body with an id on every section heading (h2), and those headings in order."""
    headings: list[Heading] = []

    def anchored(match: re.Match[str]) -> str:
        anchor = f"section-{len(headings) + 1}"
        headings.append(Heading(anchor, html.unescape(strip_tags(match.group(1))).strip()))
        return f'<h2 id="{anchor}">{match.group(1)}</h2>'

    # body_html went through the sanitizer when the article was saved.
    body = _SECTION_HEADING.sub(anchored, body_html)
    return Outline(mark_safe(body), headings)  # noqa: S308
