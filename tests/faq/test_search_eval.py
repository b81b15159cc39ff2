"""Search quality over the shipped help content: recall@3 and MRR on realistic queries."""

import pytest

from faq.models import Article
from tests.faq.search_metrics import evaluate, load_cases

pytestmark = pytest.mark.django_db

MIN_RECALL_AT_3 = 0.95
MIN_MRR = 0.85


def test_the_evaluation_set_is_large_and_in_both_languages():
    cases = load_cases()
    assert len(cases) >= 40
    assert {case.language for case in cases} == {"zh-hans", "en"}
    assert len({case.q for case in cases}) == len(cases)


def test_customers_find_the_right_article_in_the_top_three(help_content):
    published = set(Article.objects.published().values_list("language", "slug"))
    assert {(case.language, case.expect) for case in load_cases()} <= published
    report = evaluate()
    print(report.details())  # pytest -s shows the figures, by the way the queries were typed
    assert report.recall_at_3 >= MIN_RECALL_AT_3, "\n".join([report.details(), *report.misses])
    assert report.mrr >= MIN_MRR, "\n".join([report.details(), *report.misses])


def test_the_evaluation_set_has_every_way_customers_type():
    kinds = {case.kind for case in load_cases()}
    typed = {"pinyin", "traditional", "homophone", "misspelling", "long-colloquial"}
    assert typed | {"english-colloquial"} <= kinds
