"""The backends rank only the articles that can reach the page; the order must stay the one
of scoring every match."""

import pytest
from django.db import connection

from faq import search as search_module
from faq.search import backend, parse_query, vocabulary
from faq.search import backends as backends_module
from tests.faq.search_metrics import load_cases

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    search_module.forget_synonyms()
    search_module.forget_vocabulary()
    yield
    search_module.forget_synonyms()
    search_module.forget_vocabulary()


def parsed_cases():
    words = vocabulary()
    for case in load_cases():
        parsed = parse_query(case.q, language=case.language, vocabulary=words)
        if parsed.concepts:
            yield case, parsed


def test_sqlite_ranks_by_coverage_levels_as_it_would_scoring_every_match(help_content):
    if connection.vendor != "sqlite":
        pytest.skip("the coverage levels are SQLite's")
    search_backend = backends_module.SQLiteBackend()
    several = 0
    for case, parsed in parsed_cases():
        sql, params = search_backend._every_hit(parsed, language=case.language, limit=10)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            every_match = [id_ for id_, _position in cursor.fetchall()]
        assert search_backend.rank(parsed, language=case.language, limit=10) == every_match, case
        several += len(parsed.concepts) > 1
    assert several > 50  # the levels were used, not only the one-concept shortcut


def test_sqlite_falls_back_to_scoring_every_match_past_the_groups_limit(help_content, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("the coverage levels are SQLite's")
    search_backend = backends_module.SQLiteBackend()
    parsed = parse_query("提现到银行卡要多久才到账", language="zh-hans", vocabulary=vocabulary())
    assert len(parsed.concepts) >= 4
    expected = search_backend.rank(parsed, language="zh-hans", limit=10)
    monkeypatch.setattr(backends_module, "MAX_GROUPS", 1)
    monkeypatch.setattr(backends_module, "MAX_LEVELS", 1)
    assert search_backend.rank(parsed, language="zh-hans", limit=10) == expected


def test_sqlite_trusts_the_database_over_a_vocabulary_that_is_behind(help_content, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("the coverage levels are SQLite's")
    parsed = parse_query("提现到账", language="zh-hans", vocabulary=vocabulary())
    expected = backend().rank(parsed, language="zh-hans", limit=10)
    assert expected
    # Another worker added the words: this one's vocabulary does not know them yet.
    monkeypatch.setattr(backends_module, "_may_occur", lambda concept: False)
    assert backend().rank(parsed, language="zh-hans", limit=10) == expected


def test_postgresql_cuts_a_large_tie_by_where_a_word_occurs_without_changing_the_order(
    help_content, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the tie cut is PostgreSQL's")
    one_word = [
        (case, parsed)
        for case, parsed in parsed_cases()
        if len(parsed.concepts) == 1 and len(parsed.concepts[0].alternatives) == 1
    ]
    assert len(one_word) > 20
    exact = {
        case.q: backend().rank(parsed, language=case.language, limit=5) for case, parsed in one_word
    }
    monkeypatch.setattr(backends_module, "MAX_RANKED", 0)  # cut every tie
    for case, parsed in one_word:
        assert backend().rank(parsed, language=case.language, limit=5) == exact[case.q], case


def test_a_repeated_query_is_corrected_once_per_vocabulary(help_content, monkeypatch):
    calls = []
    correct = search_module.query.correct

    def counting_correct(text, **kwargs):
        calls.append(text)
        return correct(text, **kwargs)

    monkeypatch.setattr(search_module.query, "correct", counting_correct)
    for _ in range(3):
        assert search_module.find("recieve money", language="en").corrected == "receive money"
    assert len(calls) == 1
    search_module.forget_vocabulary()  # the help content changed
    search_module.find("recieve money", language="en")
    assert len(calls) == 2
