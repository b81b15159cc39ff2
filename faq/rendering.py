"""Article Markdown to safe HTML.

Staff write Markdown in the admin; whatever they type (a <script>, an onclick, a javascript:
link) must not reach a customer's browser, so the HTML is sanitized with an allow-list after
rendering. Rendering happens once, when the article is saved, not on every page view.

Facts an operator sets (the hotline, its hours, the first-reply promise) are written in the
Markdown as placeholders such as ``{support_hours}`` and filled in from the settings here, so
an article never disagrees with the contact page. A setting changed later reaches the
articles when they are rendered again: ``load_help_content`` re-renders every article, and
every deploy runs it.
"""

import re
from collections.abc import Callable

import markdown
import nh3
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}

# The placeholders an article body may use, and the setting each one shows. Read at render
# time (not import time) so tests and operators can change the settings.
PLACEHOLDERS: dict[str, Callable[[], str]] = {
    "hotline": lambda: settings.SUPPORT_HOTLINE,
    # For [{hotline}](tel:{hotline_tel}): digits and a leading + only, as the contact page.
    "hotline_tel": lambda: re.sub(r"[^\d+]", "", settings.SUPPORT_HOTLINE),
    "support_hours": lambda: settings.SUPPORT_HOURS,
    "support_email": lambda: settings.SUPPORT_EMAIL,
    "wechat": lambda: settings.SUPPORT_WECHAT,
    "weibo": lambda: settings.SUPPORT_WEIBO,
    "first_reply_hours": lambda: str(settings.TICKETS_FIRST_RESPONSE_HOURS),
}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def unknown_placeholders(text: str) -> list[str]:
    """Placeholder-like words that are not placeholders: a typo the loader refuses."""
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def fill_placeholders(text: str) -> str:
    """Write the settings into ``{name}`` placeholders; anything else in braces stays."""

    def value(match: re.Match[str]) -> str:
        setting = PLACEHOLDERS.get(match.group(1))
        return setting() if setting else match.group(0)

    return PLACEHOLDER.sub(value, text)


# Internal links written as [text](page:contact) or [text](article:some-slug), resolved in the
# article's own language so the same Markdown works for /zh-hans/ and /en/.
INTERNAL_LINK = re.compile(r"\]\((page|article):([a-z0-9-]+)\)")
PAGE_ROUTES = {
    "contact": "faq:contact",
    "security": "faq:security",
    "home": "faq:home",
    "search": "faq:search",
    "ticket-form": "tickets:new",
    "chat": "tickets:chat-start",
}


def _resolve_internal_link(match: re.Match[str]) -> str:
    kind, name = match.groups()
    try:
        if kind == "article":
            url = reverse("faq:article-detail", args=[name])
        else:
            url = reverse(PAGE_ROUTES.get(name, "faq:contact"))
    except NoReverseMatch:  # an article slug that does not exist (yet): the contact page
        url = reverse("faq:contact")
    return f"]({url})"


def render_markdown(text: str, *, language: str) -> str:
    text = fill_placeholders(text)
    with translation.override(language):
        text = INTERNAL_LINK.sub(_resolve_internal_link, text)
    html = markdown.markdown(text, extensions=["sane_lists", "tables"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        # tel: for the hotline, so a customer on a phone calls it with one tap.
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
