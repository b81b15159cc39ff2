"""The shipped help content says what the settings say, and stays within what we know."""

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from django.core.management import CommandError

from faq.management.commands.load_help_content import CONTENT_DIR
from faq.models import Article, SecurityNotice
from tests.helpers import en, load_help_content, zh

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("help_content")]


def test_there_are_enough_articles_and_each_can_be_found_by_its_words():
    for language in ["zh-hans", "en"]:
        articles = Article.objects.published().in_language(language)
        assert articles.count() >= 58
        for article in articles:
            assert article.summary.strip(), article.slug
            keywords = [word for word in article.keywords.split(",") if word.strip()]
            assert len(keywords) >= 6, article.slug


def test_support_hours_and_reply_times_are_never_typed_into_the_content():
    # A time range or "within 24 hours" of a complaint in the Markdown would go stale the day
    # an operator changes SUPPORT_HOURS or TICKETS_FIRST_RESPONSE_HOURS.
    for path in (CONTENT_DIR / "articles").glob("*.toml"):
        text = path.read_text()
        assert not re.search(r"\d{1,2}:\d\d\s*[–-]\s*\d{1,2}:\d\d", text), path.name
        assert "周末也" not in text and "weekends included" not in text, path.name


def test_the_hotline_article_and_the_contact_page_agree(client, settings):
    settings.SUPPORT_HOURS = "08:30–20:00"
    settings.SUPPORT_HOTLINE = "400-987-6543"
    settings.TICKETS_FIRST_RESPONSE_HOURS = 12
    load_help_content()  # re-renders every article with the settings of the day

    for page in [zh("faq:article-detail", "hotline-hours"), en("faq:contact")]:
        text = client.get(page).content.decode()
        assert "08:30–20:00" in text and "400-987-6543" in text, page
    complaints = client.get(en("faq:article-detail", "complaints-suggestions")).content.decode()
    assert "first reply within 12 hours" in complaints


def test_crypto_words_and_old_english_terms_are_gone():
    texts = [a.title + a.summary + a.body for a in Article.objects.all()]
    texts += [n.body_zh_hans + n.body_en for n in SecurityNotice.objects.all()]
    for text in texts:
        for word in ["助记词", "recovery phrase", "dynamic token", "transfer remark", "退款政策"]:
            assert word not in text, word


def write_article(
    tmp_path: Path, *, zh_body: str, en_body: str = "Body.", summary: str = "A summary."
) -> Path:
    """A content directory with the shipped categories and one article, "hours"."""
    shutil.copy(CONTENT_DIR / "categories.toml", tmp_path / "categories.toml")
    (tmp_path / "articles").mkdir(exist_ok=True)
    lines = ['category = "contact"']
    for language, body in [("zh-hans", zh_body), ("en", en_body)]:
        version = {"title": "Title", "summary": summary, "body": body}
        lines.append(f'["{language}"]')
        lines += [f"{key} = {value!r}" for key, value in version.items()]
    (tmp_path / "articles" / "hours.toml").write_text("\n".join(lines))
    tomllib.loads((tmp_path / "articles" / "hours.toml").read_text())  # valid TOML
    return tmp_path


def test_a_mistyped_placeholder_stops_the_load(tmp_path):
    content = write_article(tmp_path, zh_body="Call us during {suport_hours}.")
    with pytest.raises(CommandError, match="suport_hours"):
        load_help_content("--content-dir", str(content))


def test_a_placeholder_in_a_summary_stops_the_load(tmp_path):
    content = write_article(tmp_path, zh_body="Body.", summary="Open {support_hours}.")
    with pytest.raises(CommandError, match="body only"):
        load_help_content("--content-dir", str(content))
