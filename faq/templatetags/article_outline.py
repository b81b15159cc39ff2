"""{% article_outline article.body_html as outline %}: see faq/outline.py."""

from django import template

from faq.outline import Outline
from faq.outline import article_outline as build_outline

register = template.Library()


@register.simple_tag
def article_outline(body_html: str) -> Outline:
    return build_outline(body_html)
