"""Article Markdown to safe HTML.

Staff write Markdown in the admin; whatever they type (a <script>, an onclick, a javascript:
link) must not reach a customer's browser, so the HTML is sanitized with an allow-list after
rendering. Rendering happens once, when the article is saved, not on every page view.
"""

import re

import markdown
import nh3
from django.urls import NoReverseMatch, reverse
from django.utils import translation

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}

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
    with translation.override(language):
        text = INTERNAL_LINK.sub(_resolve_internal_link, text)
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
