"""Keeping the help content right: translation freshness and the leads' health report."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from faq.models import Article, SearchQuery
from faq.services import article_save, feedback_record
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(category):
    zh = ArticleFactory.create(category=category, slug="fees", language="zh-hans")
    en = ArticleFactory.create(
        category=category, slug="fees", language="en", title="Fees", summary="What it costs."
    )
    return zh, en


def change_form(article: Article, **changes: str) -> dict[str, str]:
    data = {
        "language": article.language,
        "slug": article.slug,
        "category": str(article.category_id),
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "keywords": article.keywords,
        "status": article.status,
        "order": str(article.order),
    }
    return data | changes


def test_editing_one_language_flags_the_other_until_it_is_edited(lead_client, pair):
    zh, en = pair
    url = reverse("admin:faq_article_change", args=[zh.pk])
    response = lead_client.post(url, change_form(zh, body="手续费在确认页显示。"))
    assert response.status_code == 302
    en.refresh_from_db()
    assert en.translation_outdated_since is not None

    listing = lead_client.get(reverse("admin:faq_article_changelist"), {"translation": "yes"})
    assert "needs update" in listing.content.decode()
    assert [a.pk for a in listing.context["cl"].result_list] == [en.pk]

    # The translator catches up: the English flag goes, and the Chinese is not flagged back.
    en_url = reverse("admin:faq_article_change", args=[en.pk])
    lead_client.post(en_url, change_form(en, body="The fee shows on the confirmation screen."))
    assert not Article.objects.needing_translation_update().exists()


def test_changes_outside_the_text_do_not_flag_the_translation(pair):
    zh, en = pair
    zh.keywords = "提现, 手续费"
    zh.order = 5
    article_save(article=zh)
    en.refresh_from_db()
    assert en.translation_outdated_since is None


def test_a_translator_can_confirm_a_translation_is_still_right(lead_client, pair):
    zh, en = pair
    zh.title = "提现手续费是多少？"
    article_save(article=zh)
    response = lead_client.post(
        reverse("admin:faq_article_changelist"),
        {"action": "confirm_translations", "_selected_action": [en.pk]},
    )
    assert response.status_code == 302
    en.refresh_from_db()
    assert en.translation_outdated_since is None


def test_the_health_report_shows_what_to_fix_first(
    lead_client, pair, django_assert_max_num_queries
):
    zh, en = pair
    feedback_record(article=en, visitor_id="a", helpful=False, comment="Which fee for cards?")
    feedback_record(article=en, visitor_id="b", helpful=False)
    zh.body = "新的正文。"
    article_save(article=zh)  # flags the English version
    old = ArticleFactory.create(category=zh.category, slug="old", title="老文章")
    Article.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=200))
    SearchQuery.objects.create(query="信用卡年费", language="zh-hans", result_count=0)

    with django_assert_max_num_queries(12):
        response = lead_client.get(reverse("admin:faq_article_health"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Which fee for cards?" in page
    assert [a.pk for a in response.context["not_helpful"]] == [en.pk]
    assert [a.pk for a in response.context["outdated_translations"]] == [en.pk]
    assert [a.pk for a in response.context["not_updated"]] == [old.pk]
    assert "信用卡年费" in page


def test_leads_find_the_health_report_and_agents_do_not(lead_client, agent_client):
    listing = reverse("admin:faq_article_changelist")
    assert "Content health report" in lead_client.get(listing).content.decode()
    assert "Content health report" not in agent_client.get(listing).content.decode()
    assert agent_client.get(reverse("admin:faq_article_health")).status_code == 403


def test_loading_content_that_changed_one_language_flags_the_other(tmp_path, category):
    from tests.faq.test_content_articles import write_article
    from tests.helpers import load_help_content

    content = write_article(tmp_path, zh_body="第一版。", en_body="First version.")
    load_help_content("--content-dir", str(content))
    write_article(tmp_path, zh_body="第二版。", en_body="First version.")
    load_help_content("--content-dir", str(content))
    outdated = Article.objects.needing_translation_update()
    assert list(outdated.values_list("slug", "language")) == [("hours", "en")]


def test_staff_preview_unsaved_changes_in_the_sites_look(lead_client, pair):
    zh, _en = pair
    editor = lead_client.get(reverse("admin:faq_article_change", args=[zh.pk])).content.decode()
    assert "Preview unsaved changes" in editor
    form = change_form(zh, title="提现手续费在哪里看？", body="**新的**说明 <script>x()</script>")
    response = lead_client.post(reverse("admin:faq_article_preview", args=[zh.pk]), form)
    page = response.content.decode()
    assert response.status_code == 200
    assert "提现手续费在哪里看？" in page and "<strong>新的</strong>" in page
    assert "<script>x()" not in page
    assert "article-layout" in page  # the customers' page, not the admin's
    assert response["X-Robots-Tag"] == "noindex"
    zh.refresh_from_db()
    assert zh.title != "提现手续费在哪里看？"  # nothing was saved


def test_a_new_article_can_be_previewed_before_its_first_save(lead_client, category):
    form = change_form(ArticleFactory.build(category=category, slug="new-one", language="en"))
    form["body"] = "| Method | Fee |\n|---|---|\n| Card | shown before you confirm |"
    response = lead_client.post(reverse("admin:faq_article_preview_new"), form)
    assert response.status_code == 200
    assert "<table>" in response.content.decode()
    assert not Article.objects.filter(slug="new-one").exists()


def test_a_preview_of_an_invalid_form_says_what_to_fix(lead_client, pair):
    zh, _en = pair
    response = lead_client.post(
        reverse("admin:faq_article_preview", args=[zh.pk]), change_form(zh, title="")
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_agents_cannot_preview(agent_client, pair):
    zh, _en = pair
    response = agent_client.post(reverse("admin:faq_article_preview", args=[zh.pk]), {})
    assert response.status_code == 403


def test_a_scheduled_article_goes_live_when_its_time_comes(client, category):
    from django.core.management import call_command

    soon = ArticleFactory.create(
        category=category,
        slug="new-fees",
        status=Article.Status.DRAFT,
        publish_at=timezone.now() + timedelta(hours=1),
    )
    url = soon.get_absolute_url()
    call_command("publish_scheduled_articles")
    assert client.get(url).status_code == 404  # not yet

    Article.objects.filter(pk=soon.pk).update(publish_at=timezone.now() - timedelta(minutes=1))
    call_command("publish_scheduled_articles")
    assert client.get(url).status_code == 200
    soon.refresh_from_db()
    assert soon.status == Article.Status.PUBLISHED


def test_an_article_scheduled_for_later_cannot_be_published_now(lead_client, pair):
    zh, _en = pair
    later = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%d")
    form = change_form(zh, status="published", publish_at_0=later, publish_at_1="09:00:00")
    response = lead_client.post(reverse("admin:faq_article_change", args=[zh.pk]), form)
    assert response.status_code == 200
    assert "stays a draft until its time" in response.content.decode()
    form["status"] = "draft"
    response = lead_client.post(reverse("admin:faq_article_change", args=[zh.pk]), form)
    assert response.status_code == 302
    zh.refresh_from_db()
    assert zh.status == "draft" and zh.publish_at is not None


def test_every_save_is_a_revision_that_a_lead_can_restore(lead_client, lead, pair):
    zh, _en = pair
    original_body = zh.body
    url = reverse("admin:faq_article_change", args=[zh.pk])
    lead_client.post(url, change_form(zh, body="改错了的正文。"))
    revisions = zh.history.order_by("history_date")
    assert revisions.count() == 2 and revisions.last().history_user == lead

    history = lead_client.get(reverse("admin:faq_article_history", args=[zh.pk]))
    page = history.content.decode()
    assert "改错了的正文。" in page and original_body.splitlines()[0] in page  # the change

    first = revisions.first()
    restore_url = reverse("admin:faq_article_simple_history", args=[zh.pk, first.history_id])
    form = lead_client.get(restore_url)
    assert form.context["adminform"].form.initial["body"] == original_body  # the old text
    lead_client.post(restore_url, change_form(zh, body=original_body))  # "Revert"
    zh.refresh_from_db()
    assert zh.body.strip() == original_body.strip()
    assert "改错了" not in zh.body_html
    assert zh.history.count() == 3  # the restore is a revision too
