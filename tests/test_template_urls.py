"""{% url %} remembers the URLs it built (wallet_support.template_urls), and builds the same
ones Django's tag does, in each language."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch
from django.utils import translation

from wallet_support import template_urls


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.fixture(autouse=True)
def nothing_remembered():
    template_urls._urls.clear()
    yield
    template_urls._urls.clear()


def test_the_urls_are_djangos_in_each_language():
    source = "{% url 'faq:article-detail' slug %}|{% url 'faq:home' %}"
    with translation.override("zh-hans"):
        assert render(source, slug="withdraw") == "/zh-hans/articles/withdraw/|/zh-hans/"
    with translation.override("en"):
        assert render(source, slug="withdraw") == "/en/articles/withdraw/|/en/"
    with translation.override("zh-hans"):  # remembered per language, not across them
        assert render(source, slug="withdraw") == "/zh-hans/articles/withdraw/|/zh-hans/"


def test_a_url_is_built_once(monkeypatch):
    calls = []
    real = template_urls.reverse  # type: ignore[attr-defined]

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(template_urls, "reverse", counting)
    with translation.override("zh-hans"):
        for _ in range(3):
            render("{% url 'faq:article-detail' 'a' %}{% url 'faq:article-detail' 'b' %}")
    assert len(calls) == 2


def test_as_var_escaping_and_a_name_that_does_not_reverse():
    with translation.override("en"):
        assert render("{% url 'faq:search' as u %}[{{ u }}]") == "[/en/search/]"
        assert render("{% url 'no-such-page' as u %}[{{ u }}]") == "[]"
        with pytest.raises(NoReverseMatch):
            render("{% url 'no-such-page' %}")

        # Arguments that are not plain strings or numbers go through Django's tag.
        class Slug:
            def __str__(self) -> str:
                return "withdraw"

        template_urls._urls.clear()
        html = render("{% url 'faq:article-detail' slug %}", slug=Slug())
        assert html == "/en/articles/withdraw/"
        assert not template_urls._urls
