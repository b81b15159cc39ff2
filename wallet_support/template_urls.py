"""{% url %} that remembers what it built: each page names the same dozen or so URLs (the
header, the footer, the feedback form, every related article), and reverse() resolves the
pattern again each time, about a fifth of the time of rendering an article.

A built-in library (settings.TEMPLATES), so it replaces Django's own {% url %} everywhere,
with the same syntax and output. A URL is remembered by everything reverse() reads: the name,
the arguments, the current app, the active language (i18n_patterns), the script prefix and
the URLconf. Only plain str and int arguments are remembered; anything else, and a name that
does not reverse, go through Django's tag unchanged.
"""

from __future__ import annotations

from django import template
from django.core.signals import setting_changed
from django.template import defaulttags
from django.template.base import Parser, Token
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()

MAX_URLS = 20_000  # ~100 bytes each: bounded at a few MB a worker
_urls: dict[tuple[object, ...], str] = {}


def _forget(**kwargs: object) -> None:
    _urls.clear()  # ROOT_URLCONF, LANGUAGES... changed (tests): nothing built before holds


setting_changed.connect(_forget, dispatch_uid="wallet_support.template_urls")


def _plain(value: object) -> bool:
    return isinstance(value, str) or type(value) is int


class RememberingURLNode(defaulttags.URLNode):
    def render(self, context: template.Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        if not (_plain(view_name) and all(map(_plain, args)) and all(map(_plain, kwargs.values()))):
            return super().render(context)
        request = getattr(context, "request", None)
        # As Django's own tag: request.current_app whenever it is set, even to None.
        current_app: str | None
        if request is not None and hasattr(request, "current_app"):
            current_app = request.current_app
        else:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        key = (
            view_name,
            tuple(args),
            tuple(sorted(kwargs.items())),
            current_app,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
        )
        url = _urls.get(key)
        if url is None:
            try:
                url = reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
            except NoReverseMatch:
                return super().render(context)  # raises, or sets "" for {% url ... as var %}
            if len(_urls) >= MAX_URLS:
                _urls.clear()
            _urls[key] = url
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> RememberingURLNode:
    node = defaulttags.url(parser, token)
    return RememberingURLNode(node.view_name, node.args, node.kwargs, node.asvar)
