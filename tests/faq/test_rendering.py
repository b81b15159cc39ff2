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
