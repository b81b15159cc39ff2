import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from faq.models import Article, ArticleSearchDocument, SearchQuery, redact_query
from faq.search import fold, normalize_query, parse_query, search, tokenize
from faq.services import search_log_record
from tests.factories import ArticleFactory, CategoryFactory
from tests.helpers import en, find, zh

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LIVE = {**HTMX, "HX-Target": "home-search-live", "HX-Trigger": "home-search-form"}
PAGE_LIVE = {**HTMX, "HX-Target": "search-results", "HX-Trigger": "page-search-form"}


def text_of(html: str) -> str:
    """What a reader sees: tags (such as the <mark> around matched words) removed."""
    return re.sub(r"<[^>]+>", "", html)


def warm_up_worker():
    """A worker reads the index's vocabulary and the synonyms once, then again only after the
    help content changes: query budgets are those of the pages in between."""
    search("提现", language="zh-hans")


def slugs(query, language="zh-hans"):
    return [result.slug for result in search(query, language=language)]


# --- Text analysis: the same for articles and queries --------------------------------------


def test_folding_turns_full_width_forms_into_ascii_lower_case():
    assert fold("ＯＫ钱包 ２ＦＡ Top-Up") == "ok钱包 2fa top-up"


def test_chinese_becomes_bigrams_without_stop_words():
    assert tokenize("提现多久到账") == ["提现", "现多", "多久", "久到", "到账"]
    assert tokenize("如何提现？") == ["提现"]
    assert tokenize("怎么办") == []


def test_english_loses_stop_words_and_plurals_and_brand_mixes_split_cleanly():
    assert tokenize("How to pay the fees?") == ["pay", "fee"]
    assert tokenize("Can't log in") == ["cant", "log"]
    assert tokenize("OK钱包") == ["ok", "钱包"]


def test_normalize_query_removes_control_characters_and_bounds_the_length():
    assert normalize_query("  提\x00现 \t\n 多久  ") == "提现 多久"
    assert normalize_query("ＯＫ钱包") == "OK钱包"
    assert len(normalize_query("a" * 600)) == 200


def test_synonyms_make_one_concept_of_every_member():
    (top_up,) = parse_query("入金", language="zh-hans").concepts
    assert parse_query("充值", language="zh-hans").concepts == [top_up]
    assert parse_query("how to top up", language="zh-hans").concepts == [top_up]
    assert parse_query("recharge", language="zh-hans").concepts == [top_up]


def test_a_query_of_stop_words_or_symbols_asks_for_nothing():
    for query in ["怎么", "how to", "💸", '"" * : ^ -', ""]:
        assert parse_query(query, language="zh-hans").concepts == [], query
        assert search(query, language="zh-hans") == []


def test_the_log_keeps_no_personal_data():
    assert redact_query("手机 138 0013 8000 收不到验证码 482913") == (
        "手机 [number] 收不到验证码 [number]"
    )
    assert redact_query("Reset email to Li.Wei@example.com") == "reset email to [email]"
    assert redact_query("提现1-3天") == "提现1-3天"  # short numbers say what the customer asks


# --- Finding articles -----------------------------------------------------------------------


@pytest.fixture
def articles(db):
    """A small help centre: each article says one thing, in its own words."""
    withdrawal = CategoryFactory.create(
        slug="withdrawal", name_zh_hans="提现", name_en="Withdrawals"
    )
    top_up = CategoryFactory.create(slug="top-up", name_zh_hans="充值", name_en="Top-up")
    security = CategoryFactory.create(slug="security", name_zh_hans="账户安全", name_en="Security")
    made = {}
    for slug, category, language, title, summary, keywords in [
        ("withdraw", withdrawal, "zh-hans", "余额转到银行卡", "申请提现，3天到账。", "取现"),
        ("top-up", top_up, "zh-hans", "怎么给钱包加钱？", "支持银行转账和入金。", "入金"),
        ("password", security, "zh-hans", "忘记登录密码怎么办？", "用邮箱里的链接重设密码。", ""),
        ("refund", withdrawal, "zh-hans", "如何申请退款？", "在交易详情里点申请退款。", "退钱"),
        ("code", security, "zh-hans", "收不到验证码？", "检查短信拦截。", "短信"),
        ("top-up", top_up, "en", "How do I add money?", "Recharge by bank transfer.", "deposit"),
    ]:  # fmt: skip
        made[(slug, language)] = ArticleFactory.create(
            slug=slug,
            category=category,
            language=language,
            title=title,
            summary=summary,
            keywords=keywords,
            body="正文。" if language == "zh-hans" else "Body.",
        )
    return made


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("提现", "withdraw"),
        ("充值", "top-up"),  # the article only says 入金: a synonym
        ("密码", "password"),
        ("退款", "refund"),
        ("验证码", "code"),
        ("提现多久到账？", "withdraw"),
        ("ＯＫ钱包怎么提现", "withdraw"),
        ("充钱", "top-up"),
    ],
)
def test_two_character_words_questions_and_synonyms_find_their_article(articles, query, slug):
    assert slugs(query)[:1] == [slug]


def test_english_queries_use_english_synonyms(articles):
    assert slugs("top up", language="en") == ["top-up"]
    assert slugs("withdraw", language="en") == []  # no English withdrawal article


def test_only_published_articles_in_the_requested_language(articles):
    ArticleFactory.create(title="提现草稿", summary="提现", status=Article.Status.DRAFT)
    ArticleFactory.create(language="en", title="提现 in English", summary="提现")
    assert slugs("提现") == ["withdraw"]


def test_the_title_counts_more_than_the_body(db):
    in_body = ArticleFactory.create(
        title="账户设置", summary="设置。", keywords="", body="退款在这里。"
    )
    in_title = ArticleFactory.create(title="退款说明", summary="说明。", keywords="", body="正文。")
    assert slugs("退款") == [in_title.slug, in_body.slug]


def test_an_article_must_match_most_of_a_question(db):
    ArticleFactory.create(title="提现手续费", summary="提现收费。", keywords="", body="正文。")
    assert slugs("信用卡还款") == []
    assert slugs("股票怎么买") == []


def test_the_index_follows_every_save_and_delete(db):
    article = ArticleFactory.create(
        title="如何开发票", summary="说明。", keywords="", body="正文。"
    )
    assert slugs("发票") == [article.slug]

    article.title = "如何查看账单"
    article.save()
    assert slugs("发票") == []
    assert slugs("账单") == [article.slug]

    article.delete()
    assert slugs("账单") == []
    assert not ArticleSearchDocument.objects.exists()


def test_status_changes_apply_without_reindexing(db):
    article = ArticleFactory.create(title="账单说明")
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    assert slugs("账单") == []


def test_rebuild_command_re_tokenizes_every_article(articles, capsys):
    ArticleSearchDocument.objects.all().update(title="", keywords="", summary="", body="")
    assert slugs("退款") == []
    call_command("rebuild_search_index")
    assert "6 articles" in capsys.readouterr().out
    assert slugs("退款") == ["refund"]


def test_the_database_keeps_its_index_in_step_by_itself(db):
    """The migration's triggers (SQLite) or generated column (PostgreSQL) must exist."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            names = {row[0] for row in cursor.fetchall()}
            assert {
                "faq_article_fts_insert",
                "faq_article_fts_update",
                "faq_article_fts_delete",
            } <= names
        else:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'faq_articlesearchdocument'"
            )
            assert any("gin (vector)" in row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "x",
        "提",
        "a" * 600,
        "提现" * 300,
        '"" * : NEAR AND - ^',
        "NEAR(提现 到账, 2)",
        "提现 OR 充值 NOT 密码",
        "title:提现",
        '"unterminated',
        "'; DROP TABLE faq_article;--",
        "1' OR '1'='1",
        "%_\\",
        "💸💸",
        "提\x00现",
        "<script>alert(1)</script>",
    ],
)
def test_any_input_gets_a_page_never_an_error(client, articles, query):
    assert isinstance(search(query, language="zh-hans"), list)
    for headers in [{}, LIVE, PAGE_LIVE]:
        response = client.get(zh("faq:search"), {"q": query}, headers=headers)
        assert response.status_code == 200


# --- Results: highlighted, escaped -----------------------------------------------------------


def test_matched_words_are_marked_and_everything_else_escaped(db):
    ArticleFactory.create(
        title="<b>提现</b> & 到账",
        summary="提现 <script>alert(1)</script>",
        keywords="",
    )
    (result,) = search("提现", language="zh-hans")
    assert result.title_html == "&lt;b&gt;<mark>提现</mark>&lt;/b&gt; &amp; 到账"
    assert result.snippet == "<mark>提现</mark> &lt;script&gt;alert(1)&lt;/script&gt;"


def test_the_snippet_comes_from_the_body_when_the_summary_does_not_match(db):
    body = (
        "第一段说的是别的事情。" * 10
        + "\n\n如果需要退款，请在交易详情里申请。"
        + "后面还有很多字。" * 20
    )
    ArticleFactory.create(title="交易问题", summary="常见的交易问题。", keywords="", body=body)
    (result,) = search("退款", language="zh-hans")
    assert "<mark>退款</mark>" in result.snippet
    assert result.snippet.startswith("… ")
    assert len(text_of(result.snippet)) < 200


def test_english_words_are_marked_whole_with_their_plurals(db):
    ArticleFactory.create(
        language="en", title="Fees and limits", summary="Each fee is shown.", keywords="", body="."
    )
    (result,) = search("fee", language="en")
    assert result.title_html == "<mark>Fees</mark> and limits"
    assert result.snippet == "Each <mark>fee</mark> is shown."


def test_results_expose_what_the_ticket_form_needs(articles):
    (result, *_rest) = search("提现", language="zh-hans", limit=1)
    assert (result.slug, result.category.name, result.summary) == (
        "withdraw",
        "提现",
        "申请提现，3天到账。",
    )
    assert result.title == "余额转到银行卡"
    assert result.get_absolute_url() == zh("faq:article-detail", "withdraw")
    assert len(search("提现", language="zh-hans", limit=0)) == 0


# --- The search page ------------------------------------------------------------------------


# Outside a test transaction, as a request runs: no savepoint around the search log.
@pytest.mark.django_db(transaction=True)
def test_search_page_lists_results_within_four_queries(
    client, articles, django_assert_max_num_queries
):
    warm_up_worker()
    with django_assert_max_num_queries(4):
        response = client.get(zh("faq:search"), {"q": "提现"})
    html = response.content.decode()
    assert "余额转到银行卡" in html
    assert "<mark>提现</mark>" in html
    assert "How do I add money?" not in html
    assert response["Cache-Control"] == "private"


# Outside a test transaction, as a request runs: no savepoint around the search log.
@pytest.mark.django_db(transaction=True)
def test_search_page_without_results_offers_popular_articles_and_a_ticket_within_four_queries(
    client, articles, django_assert_max_num_queries
):
    Article.objects.filter(slug="password").update(featured=True)
    warm_up_worker()
    with django_assert_max_num_queries(4):
        response = client.get(zh("faq:search"), {"q": "股票"})
    html = response.content.decode()
    assert "忘记登录密码怎么办？" in html  # a popular (featured) article
    assert f'href="{zh("tickets:new")}"' in html  # "Tell us about your problem"


def test_the_query_is_shown_escaped(client, db):
    response = client.get(zh("faq:search"), {"q": "<script>alert(1)</script>"})
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_a_single_letter_asks_for_more(client, articles):
    html = client.get(en("faq:search"), {"q": "x"}).content.decode()
    assert "Please type a little more" in html and "at least two letters" in html
    assert "Nothing found" not in html  # not told the search failed: it never ran
    assert SearchQuery.objects.get().result_count == 0


def test_the_search_page_has_no_inline_script_or_style(client, articles):
    response = client.get(zh("faq:search"), {"q": "提现"})
    html = response.content.decode()
    assert "style=" not in html
    assert " on" + "click=" not in html
    assert re.findall(r"<script(?![^>]*\b(?:src|nonce)=)", html) == []


def test_the_search_box_searches_as_the_customer_types_and_works_without_javascript(client, db):
    html = client.get(zh("faq:home")).content.decode()
    form = find(r'<form id="home-search-form"[^>]*>', html).group()
    assert 'action="/zh-hans/search/"' in form and 'method="get"' in form
    assert 'hx-get="/zh-hans/search/"' in form
    assert "delay:300ms" in form
    assert 'hx-target="#home-search-live"' in form


def test_live_results_fill_the_panel_and_put_the_query_in_the_address(client, articles):
    response = client.get(
        zh("faq:search"),
        {"q": "提现"},
        headers={**LIVE, "HX-Current-URL": "http://testserver/zh-hans/"},
    )
    assert response.template_name == "faq/search.html#live-results"
    html = response.content.decode()
    assert "<html" not in html
    assert "余额转到银行卡" in text_of(html)
    assert 'form="home-search-form"' in html
    assert response["HX-Push-Url"] == "/zh-hans/search/?q=%E6%8F%90%E7%8E%B0"
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]


def test_typing_on_the_search_page_replaces_its_results_and_address(client, articles):
    response = client.get(
        zh("faq:search"),
        {"q": "退款"},
        headers={**PAGE_LIVE, "HX-Current-URL": "http://testserver/zh-hans/search/?q=%E9%80%80"},
    )
    assert response.template_name == "faq/search.html#results"
    assert response["HX-Replace-Url"] == "/zh-hans/search/?q=%E9%80%80%E6%AC%BE"
    assert "HX-Push-Url" not in response


def test_back_to_a_live_search_address_gets_the_whole_page(client, articles):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    response = client.get(zh("faq:search"), {"q": "提现"}, headers=headers)
    assert response.template_name == "faq/search.html"
    assert "<html" in response.content.decode()
    assert not SearchQuery.objects.exists()  # showing it again is not a new search


def test_an_empty_live_search_empties_the_panel(client, articles):
    response = client.get(zh("faq:search"), {"q": ""}, headers=LIVE)
    assert response.content.decode().strip() == ""


# --- Search analytics -----------------------------------------------------------------------


def token_in(response) -> str:
    return find(r'name="sl" value="([^"]+)"', response.content.decode()).group(1)


def test_a_full_page_search_is_logged_without_personal_data(client, articles):
    client.get(zh("faq:search"), {"q": "提现 13800138000 Li@Example.com"})
    logged = SearchQuery.objects.get()
    assert (logged.query, logged.language) == ("提现 [number] [email]", "zh-hans")
    assert logged.result_count >= 1
    assert logged.opened_slug == ""


def test_one_character_of_live_typing_is_not_logged(client, articles):
    client.get(zh("faq:search"), {"q": "提"}, headers=LIVE)
    client.get(zh("faq:search"), {"q": "w"}, headers=LIVE)
    assert not SearchQuery.objects.exists()


def test_typing_on_updates_one_row_and_enter_does_not_add_another(client, articles):
    first = client.get(zh("faq:search"), {"q": "提现"}, headers=LIVE)
    longer = client.get(zh("faq:search"), {"q": "提现多久", "sl": token_in(first)}, headers=LIVE)
    client.get(zh("faq:search"), {"q": "提现多久", "sl": token_in(longer)})  # Enter
    logged = SearchQuery.objects.get()
    assert logged.query == "提现多久"


def test_a_different_query_or_a_forged_token_is_a_new_search(client, articles):
    first = client.get(zh("faq:search"), {"q": "提现"}, headers=LIVE)
    client.get(zh("faq:search"), {"q": "退款", "sl": token_in(first)}, headers=LIVE)
    client.get(zh("faq:search"), {"q": "提现到账", "sl": token_in(first)[:-3] + "abc"})
    assert list(SearchQuery.objects.order_by("pk").values_list("query", flat=True)) == [
        "提现",
        "退款",
        "提现到账",
    ]


def test_a_search_token_expires(client, articles):
    token = token_in(client.get(zh("faq:search"), {"q": "提现"}))
    assert SearchQuery.read_token(token, max_age=SearchQuery.TYPING_WINDOW) is not None
    assert SearchQuery.read_token(token, max_age=-1) is None


def test_opening_a_result_is_recorded_and_leads_to_the_article(client, articles):
    response = client.get(zh("faq:search"), {"q": "提现"})
    link = find(r'href="(/zh-hans/search/open/withdraw/\?sl=[^"]+)"', response.content.decode())
    opened = client.get(link.group(1).replace("&amp;", "&"))
    assert opened.status_code == 302
    assert opened["Location"] == zh("faq:article-detail", "withdraw")
    assert SearchQuery.objects.get().opened_slug == "withdraw"


def test_a_result_link_without_a_valid_token_still_leads_to_the_article(client, articles):
    opened = client.get(zh("faq:search-open", "withdraw"), {"sl": "forged"})
    assert opened["Location"] == zh("faq:article-detail", "withdraw")


def test_staff_see_top_queries_and_top_queries_that_found_nothing(admin_client, articles):
    for query, count in [("提现", 3), ("股票", 2), ("信用卡还款", 1)]:
        for _ in range(count):
            search_log_record(
                query=query, language="zh-hans", result_count=len(search(query, language="zh-hans"))
            )
    old = search_log_record(query="很久以前", language="zh-hans", result_count=0)
    assert old is not None
    SearchQuery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=20))

    response = admin_client.get(reverse("admin:faq_searchquery_report"))
    assert response.status_code == 200
    last_7, last_30 = response.context["periods"]
    assert [row["query"] for row in last_7["top"]] == ["提现", "股票", "信用卡还款"]
    assert [row["query"] for row in last_7["top_without_results"]] == ["股票", "信用卡还款"]
    assert "很久以前" in [row["query"] for row in last_30["top_without_results"]]
    assert last_7["total"] == 6 and last_30["total"] == 7
    assert admin_client.get(reverse("admin:faq_searchquery_changelist")).status_code == 200


def test_customers_cannot_see_the_report(client, db):
    response = client.get(reverse("admin:faq_searchquery_report"))
    assert response.status_code == 302  # to the admin login


# Outside a test transaction, as a request runs: no savepoint around the search log.
@pytest.mark.django_db(transaction=True)
def test_live_search_stays_within_four_queries_too(client, articles, django_assert_max_num_queries):
    first = client.get(zh("faq:search"), {"q": "提现"}, headers=LIVE)
    for query in ["提现多久", "股票"]:
        with django_assert_max_num_queries(4):
            client.get(zh("faq:search"), {"q": query, "sl": token_in(first)}, headers=LIVE)
