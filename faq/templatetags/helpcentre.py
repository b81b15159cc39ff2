"""Tags every page uses: hreflang alternates, the language switch and structured data."""

import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse, translate_url
from django.utils.html import format_html, strip_tags
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()


def _available_languages(context: template.Context) -> list[str]:
    """Languages the current page exists in; a view narrows it with ``page_languages``."""
    return context.get("page_languages") or [code for code, _name in settings.LANGUAGES]


@lru_cache(maxsize=4096)
def _translate_path(path: str, code: str, active_language: str | None) -> str:
    return translate_url(path, code)


def _translated_path(path: str, code: str) -> str:
    """translate_url resolves and reverses the path (with the active language's URL prefix):
    the same answer every time, so each worker remembers it."""
    return _translate_path(path, code, get_language())


@lru_cache(maxsize=16)
def _switch_url(code: str) -> str:
    return reverse("switch-language", args=[code])


@register.inclusion_tag("includes/alternates.html", takes_context=True)
def language_alternates(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    path = request.path
    languages = _available_languages(context)
    default = settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in languages else languages[0]
    # From DJANGO_SITE_URL, never the Host header: these links are cached with the page, and a
    # forged Host (or port) would be served to everyone after.
    site = settings.SITE_URL
    return {
        "canonical": f"{site}{path}",
        "alternates": [
            {"code": code, "url": f"{site}{_translated_path(path, code)}"} for code in languages
        ],
        "x_default": f"{site}{_translated_path(path, default)}",
    }


@register.inclusion_tag("includes/language_switch.html", takes_context=True)
def language_switch(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    current = get_language()
    available = _available_languages(context)
    links = []
    for code, name in settings.LANGUAGES:
        # A page that has no version in that language switches to that language's home.
        target = request.path if code in available else reverse("faq:home")
        query = urlencode({"next": target})
        links.append(
            {
                "code": code,
                "name": name,
                "current": code == current,
                "switch_url": f"{_switch_url(code)}?{query}",
            }
        )
    return {"links": links}


_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def faq_structured_data(context: template.Context, article: Any) -> SafeString:
    """schema.org FAQPage JSON-LD for an article: its title is the question.

    Escaped so that no article text can close the script element.
    """
    payload = _structured_data(article.language, article.title, article.summary, article.body_html)
    return format_html(
        '<script type="application/ld+json" nonce="{}">{}</script>',
        context.get("csp_nonce", ""),
        SafeString(payload),
    )


# By the texts themselves: after an edit every page is rendered again (the content version),
# and all but the edited one find theirs here (strip_tags is most of the tag's time).
@lru_cache(maxsize=512)
def _structured_data(language: str, title: str, summary: str, body_html: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "inLanguage": language,
        "mainEntity": [
            {
                "@type": "Question",
                "name": title,
                "acceptedAnswer": {
                    "@type": "Answer",
                    "text": f"{summary}\n\n{strip_tags(body_html).strip()}",
                },
            }
        ],
    }
    return json.dumps(data, ensure_ascii=False).translate(_JSON_ESCAPES)
