import pytest

from faq.rendering import render_markdown
from tests.factories import ArticleFactory


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        '<p style="position:fixed">overlay</p>',
    ],
)
def test_staff_cannot_inject_script_or_styles(markdown):
    html = render_markdown(markdown, language="en")
    for dangerous in ["<script", "onerror", "javascript:", "onclick", "<iframe", "style="]:
        assert dangerous not in html


def test_markdown_renders_steps_emphasis_and_safe_links():
    html = render_markdown("1. Open\n2. **Tap**\n\n[site](https://example.com)", language="en")
    assert "<ol>" in html and "<strong>Tap</strong>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer"' in html


def test_internal_links_resolve_in_the_articles_language():
    assert 'href="/zh-hans/contact/"' in render_markdown("[联系](page:contact)", language="zh-hans")
    assert 'href="/en/articles/reset-password/"' in render_markdown(
        "[reset](article:reset-password)", language="en"
    )


@pytest.mark.django_db
def test_saving_an_article_stores_sanitized_html(category):
    article = ArticleFactory.create(category=category, body="Hello <script>x()</script> **world**")
    assert "<strong>world</strong>" in article.body_html
    assert "<script" not in article.body_html


def test_placeholders_show_the_support_settings(settings):
    settings.SUPPORT_HOTLINE = "+86 400-123-4567"
    settings.SUPPORT_HOURS = "08:30–20:00"
    settings.TICKETS_FIRST_RESPONSE_HOURS = 12
    html = render_markdown(
        "Call [{hotline}](tel:{hotline_tel}) daily {support_hours}; "
        "we reply within {first_reply_hours} hours.",
        language="en",
    )
    assert '<a href="tel:+864001234567"' in html and "+86 400-123-4567</a>" in html
    assert "daily 08:30–20:00" in html and "within 12 hours" in html
    assert "{" not in html


def test_braces_that_are_not_placeholders_are_left_alone():
    assert "{nothing}" in render_markdown("A {nothing} here", language="en")


def test_tables_render_and_are_sanitized():
    html = render_markdown(
        "| method | fee |\n|---|---|\n| card | <b onclick=x()>shown</b> in the app |",
        language="en",
    )
    assert "<table>" in html and "<th>method</th>" in html and "<td>" in html
    assert "onclick" not in html and "<b" not in html
