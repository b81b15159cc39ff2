"""Search the way customers type: traditional characters, pinyin, homophones, misspellings,
long sentences, and the synonyms staff learn from the search log."""

import re

import pytest
from django.urls import reverse

from faq import search as search_module
from faq.models import SearchQuery, SynonymSuggestion
from faq.search import correct, find, fold, search, tokenize
from faq.search.textfold import readings, sound_keys, split_pinyin, strip_tones, to_simplified
from faq.search.vocab import Vocabulary
from tests.factories import ArticleFactory, CategoryFactory
from tests.helpers import en, zh

# Corrections read the synonym groups, which include those staff accepted (the database).
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    """Learned synonyms and the vocabulary are per worker: none may leak between tests."""
    search_module.forget_synonyms()
    search_module.forget_vocabulary()
    yield
    search_module.forget_synonyms()
    search_module.forget_vocabulary()


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# --- Traditional to simplified ---------------------------------------------------------------


def test_traditional_characters_fold_to_simplified_for_articles_and_queries():
    assert to_simplified("轉賬記錄") == "转账记录"
    assert to_simplified("實名認證") == "实名认证"
    # 帳 is simplified too, but a wallet means 账: 帳號 and 账号 must meet.
    assert to_simplified("帳號被凍結") == "账号被冻结"
    assert tokenize("忘記密碼") == tokenize("忘记密码")
    assert fold("ＯＫ錢包") == "ok钱包"


def test_taiwanese_words_fold_to_the_mainland_word():
    assert to_simplified("簡訊驗證碼") == "短信验证码"


def test_english_text_is_left_alone():
    assert to_simplified("Top up by bank transfer") == "Top up by bank transfer"


# --- Pinyin ----------------------------------------------------------------------------------


def test_tones_come_off_as_marks_or_digits_and_u_umlaut_becomes_v():
    assert strip_tones("tí") == "ti"
    assert strip_tones("xian4") == "xian"
    assert strip_tones("lǜ") == "lv"


def test_a_character_has_each_of_its_readings():
    assert {"hang", "xing"} <= set(readings("行"))
    assert "yin hang" in sound_keys("银行")


def test_pinyin_splits_into_the_fewest_syllables():
    assert split_pinyin("yinhangka") == ["yin", "hang", "ka"]
    assert split_pinyin("tixian") == ["ti", "xian"]
    assert split_pinyin("xian") == ["xian"]
    assert split_pinyin("adress") is None  # not pinyin at all


# --- The index's vocabulary: homophones, pinyin, spelling ------------------------------------

VOCABULARY = Vocabulary(
    documents={
        "客服": 9,
        "服电": 2,
        "电话": 5,
        "银行": 8,
        "行卡": 7,
        "提现": 12,
        "现多": 1,
        "多久": 4,
        "到账": 6,
        "receive": 5,
        "recipe": 1,
        "address": 3,
        "balance": 4,
        "withdraw": 6,
        "money": 9,
    },
    articles=20,
)


def test_a_bigram_the_index_lacks_is_matched_by_sound():
    assert "客服" in VOCABULARY.same_sound("客付")
    assert correct("客付电话", language="zh-hans", vocabulary=VOCABULARY) == "客服电话"
    assert correct("体现多久到账", language="zh-hans", vocabulary=VOCABULARY) == "提现多久到账"


def test_an_indexed_bigram_is_never_corrected():
    assert correct("客服电话", language="zh-hans", vocabulary=VOCABULARY) == "客服电话"


def test_a_sound_alike_with_no_character_in_common_is_not_a_typo():
    # 课妇 sounds like 客付 but shares neither character: another word, not a slip of the key.
    vocabulary = Vocabulary(documents={"课妇": 3}, articles=3)
    assert correct("客付", language="zh-hans", vocabulary=vocabulary) == "客付"


def test_pinyin_becomes_the_indexed_chinese_that_reads_like_it():
    assert VOCABULARY.from_pinyin(["yin", "hang", "ka"]) == "银行卡"
    assert correct("yinhangka", language="zh-hans", vocabulary=VOCABULARY) == "银行卡"
    assert correct("yin hang ka", language="zh-hans", vocabulary=VOCABULARY) == "银行卡"
    assert correct("tí xiàn", language="zh-hans", vocabulary=VOCABULARY) == "提现"
    assert correct("ti2xian4", language="zh-hans", vocabulary=VOCABULARY) == "提现"


def test_initials_stand_for_a_short_word():
    assert correct("yhk", language="zh-hans", vocabulary=VOCABULARY) == "银行卡"


def test_pinyin_is_not_guessed_in_the_english_help_centre():
    assert correct("tixian", language="en", vocabulary=VOCABULARY) == "tixian"


def test_a_misspelt_english_word_becomes_the_closest_indexed_one():
    assert VOCABULARY.correct_english("recieve") == "receive"  # a swap is one edit
    assert correct("recieve money", language="en", vocabulary=VOCABULARY) == "receive money"
    assert correct("adress", language="en", vocabulary=VOCABULARY) == "address"
    assert correct("balanse", language="en", vocabulary=VOCABULARY) == "balance"


def test_short_words_and_words_being_typed_are_not_corrected():
    assert VOCABULARY.correct_english("mony") == "money"
    assert VOCABULARY.correct_english("fe") is None
    # "withdr" is the start of an indexed word: the customer is still typing.
    assert correct("withdr", language="en", vocabulary=VOCABULARY) == "withdr"


# --- Searching -------------------------------------------------------------------------------


@pytest.fixture
def help_centre(db):
    withdrawal = CategoryFactory.create(slug="withdrawal", name_zh_hans="提现", name_en="Cash out")
    made = {}
    for slug, language, title, summary, keywords in [
        ("hotline", "zh-hans", "客服电话几点有人接？", "热线每天早九点到晚九点。", "热线"),
        ("bind-card", "zh-hans", "怎样绑定银行卡", "在设置里添加银行卡。", "绑卡"),
        ("history", "zh-hans", "转账记录在哪看", "在账单里看每一笔转账记录。", "明细"),
        ("arrival", "zh-hans", "提现多久到账", "一般一到三个工作日。", "到账时间"),
        ("address", "en", "Change your email address", "Add the new address in Settings.", ""),
        ("receive", "en", "Did not receive a code?", "Check blocked messages.", ""),
    ]:  # fmt: skip
        made[slug] = ArticleFactory.create(
            slug=slug,
            category=withdrawal,
            language=language,
            title=title,
            summary=summary,
            keywords=keywords,
            body="正文。" if language == "zh-hans" else "Body.",
        )
    return made


def slugs(query, language="zh-hans"):
    return [result.slug for result in search(query, language=language)]


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("轉賬記錄", "history"),  # traditional
        ("yinhangka", "bind-card"),  # pinyin
        ("ke fu dian hua", "hotline"),  # pinyin with spaces
        ("客付电话", "hotline"),  # a homophone typo
        ("请问一下麻烦帮我看看我昨天的提现到底要多久才能到账啊", "arrival"),  # filler
    ],
)
def test_customers_find_what_they_typed_their_way(help_centre, query, slug):
    assert slugs(query)[:1] == [slug]


def test_english_misspellings_find_the_article(help_centre):
    assert slugs("didnt recieve", language="en") == ["receive"]
    assert slugs("adress", language="en") == ["address"]


def test_a_long_question_ranks_by_how_much_of_it_an_article_covers(help_centre):
    # Under "half the query must match" the extra bigrams of this sentence hid the article.
    assert slugs("提现以后钱一直不到账户里面多久能到账呢")[:1] == ["arrival"]


def test_the_page_says_what_it_searched_instead_and_offers_the_query_as_typed(client, help_centre):
    response = client.get(zh("faq:search"), {"q": "客付"})
    html = response.content.decode()
    assert "以下是 <strong>客服</strong> 的搜索结果" in html
    assert "客服电话几点有人接" in text_of(html)
    assert f'href="{zh("faq:search")}?q=%E5%AE%A2%E4%BB%98&amp;exact=1"' in html

    exact = client.get(zh("faq:search"), {"q": "客付", "exact": "1"}).content.decode()
    assert "以下是" not in exact
    assert "没有找到与“客付”相关的结果" in text_of(exact)


def test_no_correction_no_message(client, help_centre):
    html = client.get(zh("faq:search"), {"q": "客服电话"}).content.decode()
    assert "以下是" not in html


def test_find_reports_the_correction(help_centre):
    outcome = find("adress", language="en")
    assert outcome.corrected == "address"
    assert [result.slug for result in outcome.results] == ["address"]


# --- Learned synonyms: from the search log to the synonym groups -----------------------------


@pytest.fixture
def withdraw_article(db):
    return ArticleFactory.create(
        slug="how-to-withdraw",
        language="zh-hans",
        title="如何把余额提现到银行卡？",
        summary="在应用里点提现。",
        keywords="提现, 取现",
        body="打开应用，点提现。",
    )


def test_a_search_that_found_nothing_then_an_opened_article_becomes_a_synonym(
    client, lead_client, withdraw_article
):
    assert slugs("把钱弄出来") == []

    # A customer searches in their own words, finds nothing, and opens the article from the
    # list beside the empty result (not from the results: there were none).
    client.get(zh("faq:search"), {"q": "把钱弄出来"})
    client.get(withdraw_article.get_absolute_url())
    suggestion = SynonymSuggestion.objects.get()
    assert (suggestion.phrase, suggestion.article, suggestion.times) == (
        "把钱弄出来",
        withdraw_article,
        1,
    )
    assert suggestion.joins == "提现"  # the synonym the article's title names

    # A second customer does the same: the same suggestion, seen twice.
    other = type(client)()
    other.get(zh("faq:search"), {"q": "把钱弄出来"})
    other.get(withdraw_article.get_absolute_url())
    assert SynonymSuggestion.objects.get().times == 2

    # A lead sees it in the admin and accepts it: the phrase joins the 提现 group at once.
    listing = lead_client.get(reverse("admin:faq_synonymsuggestion_changelist"))
    assert "把钱弄出来" in listing.content.decode()
    response = lead_client.post(
        reverse("admin:faq_synonymsuggestion_changelist"),
        {"action": "accept", "_selected_action": [suggestion.pk]},
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == SynonymSuggestion.Status.ACCEPTED
    assert slugs("把钱弄出来") == ["how-to-withdraw"]

    # An article saved later that uses the phrase is indexed with the group too.
    ArticleFactory.create(
        slug="cash", title="能把钱弄出来吗", summary="可以。", keywords="", body="可以。"
    )
    assert set(slugs("取现")) == {"how-to-withdraw", "cash"}


def test_opening_one_of_the_results_suggests_nothing(client, withdraw_article):
    page = client.get(zh("faq:search"), {"q": "提现"})
    token = SearchQuery.objects.get().token
    assert "how-to-withdraw" in page.content.decode()
    client.get(reverse("faq:search-open", args=["how-to-withdraw"]), {"sl": token})
    client.get(withdraw_article.get_absolute_url())
    assert not SynonymSuggestion.objects.exists()


def test_a_search_in_the_other_language_suggests_nothing(client, withdraw_article):
    client.get(en("faq:search"), {"q": "get money out"})
    client.get(withdraw_article.get_absolute_url())
    assert not SynonymSuggestion.objects.exists()


def test_a_rejected_suggestion_changes_no_search(lead_client, withdraw_article):
    suggestion = SynonymSuggestion.objects.create(
        phrase="把钱弄出来", language="zh-hans", article=withdraw_article, joins="提现"
    )
    lead_client.post(
        reverse("admin:faq_synonymsuggestion_changelist"),
        {"action": "reject", "_selected_action": [suggestion.pk]},
    )
    suggestion.refresh_from_db()
    assert suggestion.status == SynonymSuggestion.Status.REJECTED
    assert slugs("把钱弄出来") == []


def test_agents_cannot_decide_suggestions(agent_client, withdraw_article):
    suggestion = SynonymSuggestion.objects.create(
        phrase="把钱弄出来", language="zh-hans", article=withdraw_article, joins="提现"
    )
    agent_client.post(
        reverse("admin:faq_synonymsuggestion_changelist"),
        {"action": "accept", "_selected_action": [suggestion.pk]},
    )
    suggestion.refresh_from_db()
    assert suggestion.status == SynonymSuggestion.Status.PENDING


def test_what_a_suggestion_means_must_be_a_word_search_can_find(lead_client, withdraw_article):
    suggestion = SynonymSuggestion.objects.create(
        phrase="把钱弄出来", language="zh-hans", article=withdraw_article, joins="提现"
    )
    url = reverse("admin:faq_synonymsuggestion_change", args=[suggestion.pk])
    response = lead_client.post(url, {"joins": "？！"})
    assert response.status_code == 200
    assert "Name a word of the help content." in response.content.decode()

    lead_client.post(url, {"joins": "取现"})
    suggestion.refresh_from_db()
    assert suggestion.joins == "取现"
