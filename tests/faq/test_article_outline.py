"""The "On this page" list of long articles, and markup the Nu Html Checker accepts."""

import re
from datetime import UTC, datetime

import pytest

from faq.outline import article_outline
from tests.factories import ArticleFactory
from tests.helpers import find, zh
from tests.tickets.factories import MessageFactory, TicketFactory

LONG_BODY = (
    "先看这里。\n\n## 打开应用\n\n第一步。\n\n## 输入 *金额*\n\n第二步。\n\n"
    "## 到账 & 查询\n\n第三步。\n"
)
# A valid global date and time string (HTML): at most three fraction digits, an offset.
VALID_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})"
)


def outline_links(html: str) -> list[tuple[str, str]]:
    nav = find(r'<nav class="article-outline".*?</nav>', html).group()
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', nav)


def test_every_section_heading_gets_an_anchor_and_a_plain_text_entry():
    outline = article_outline(
        "<p>x</p><h2>打开应用</h2><p>y</p><h2>输入 <em>金额</em> &amp; 确认</h2>"
    )
    assert outline.html == (
        '<p>x</p><h2 id="section-1">打开应用</h2><p>y</p>'
        '<h2 id="section-2">输入 <em>金额</em> &amp; 确认</h2>'
    )
    assert [(h.anchor, h.text) for h in outline.headings] == [
        ("section-1", "打开应用"),
        ("section-2", "输入 金额 & 确认"),
    ]
    assert not outline.listed  # two sections fit on a screen


@pytest.mark.django_db
def test_a_long_article_lists_its_sections_and_each_link_has_its_heading(client):
    article = ArticleFactory.create(body=LONG_BODY)
    html = client.get(zh("faq:article-detail", article.slug)).content.decode()
    links = outline_links(html)
    assert [text for _anchor, text in links] == ["打开应用", "输入 金额", "到账 &amp; 查询"]
    for anchor, text in links:
        assert re.search(rf'<h2 id="{anchor}">[^\n]*{text.split()[0]}', html)
    # The list comes before the text it outlines, after the title and summary.
    assert (
        html.index('id="article-title"')
        < html.index("article-outline")
        < html.index('class="prose"')
    )


@pytest.mark.django_db
def test_a_short_article_has_no_list(client):
    article = ArticleFactory.create(body="先看这里。\n\n## 打开应用\n\n第一步。\n")
    html = client.get(zh("faq:article-detail", article.slug)).content.decode()
    assert "article-outline" not in html
    assert '<h2 id="section-1">打开应用</h2>' in html


@pytest.mark.django_db
def test_datetimes_have_no_microseconds(client):
    # Saved at a time with microseconds, as every real row is.
    moment = datetime(2026, 12, 1, 9, 1, 31, 613365, tzinfo=UTC)
    article = ArticleFactory.create()
    type(article).objects.filter(pk=article.pk).update(updated_at=moment)
    ticket = TicketFactory.create(email="li.wei@example.com")
    type(ticket).objects.filter(pk=ticket.pk).update(created_at=moment)
    MessageFactory.create(ticket=ticket, body="We have asked the bank.")
    client.post("/en/tickets/track/", {"reference": ticket.reference, "email": ticket.email})
    pages = [
        client.get(zh("faq:article-detail", article.slug)).content.decode(),
        client.get(ticket.get_absolute_url()).content.decode(),
    ]
    values = [value for html in pages for value in re.findall(r'<time datetime="([^"]*)"', html)]
    assert len(values) >= 3  # the article's date, the ticket's, its message's
    assert "2026-12-01T17:01:31+0800" in values
    for value in values:
        assert VALID_DATETIME.fullmatch(value), value
