"""{% per_language "name" %}…{% end_per_language %}: markup rendered once per worker and
language (faq.pagecache.fragment). Only for what is built from links, static files and
translations: nothing of the page's context, the visitor or the help content may be inside."""

from __future__ import annotations

from django import template
from django.template.base import NodeList, Parser, Token
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from faq import pagecache

register = template.Library()


class PerLanguageNode(template.Node):
    def __init__(self, name: str, nodelist: NodeList) -> None:
        self.name = name
        self.nodelist = nodelist

    def render(self, context: template.Context) -> SafeString:
        def render_without_visitor() -> str:
            # Kept for every later page: no visitor's CSP nonce (django-htmx writes one on its
            # script tag) or CSRF token may be baked in. The nonce is kept as a placeholder
            # and each page writes its own in below.
            with context.push(csp_nonce=pagecache.NONCE_PLACEHOLDER, csrf_token="NOTPROVIDED"):
                return self.nodelist.render(context)

        html = pagecache.fragment(
            self.name, get_language() or "", get_script_prefix(), render_without_visitor
        )
        if pagecache.NONCE_PLACEHOLDER in html:
            # This page's nonce; a page being kept in the page cache has the placeholder
            # itself, written in per response (pagecache.personalise).
            html = html.replace(pagecache.NONCE_PLACEHOLDER, str(context.get("csp_nonce", "")))
        return mark_safe(html)  # the nodelist's own output, escaped as it was rendered


@register.tag("per_language")
def per_language(parser: Parser, token: Token) -> PerLanguageNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError('usage: {% per_language "name" %}')
    nodelist = parser.parse(("end_per_language",))
    parser.delete_first_token()
    return PerLanguageNode(bits[1][1:-1], nodelist)
