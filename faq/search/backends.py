"""The databases' full-text indexes: SQLite FTS5 and PostgreSQL tsvector, ranking alike."""

from __future__ import annotations

import itertools
import math
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from faq.models import Article, ArticleQuerySet, ArticleSearchDocument
from faq.search.query import Concept, ParsedQuery

# An article must cover this share of the query's weight: enough to keep an article that
# shares one common word with a long question off the list, not a hard "half of the words".
MIN_COVERAGE_PERCENT = 25
# Past this many candidates tied for the page, they are cut again before ranking (see rank()).
MAX_RANKED = 200
# SQLite: coverage levels tried before bm25 runs on every match (see rank()), and the most
# groups of concepts one level may AND.
MAX_LEVELS = 8  # every level a query of MAX_CONCEPTS has: the groups are the limit
MAX_GROUPS = 20
# SQLite: what a row of rank()'s statement is (a coverage level is the kind of its articles).
PRESENT = -1
LEVEL_END = -2
EVERY_HIT = -3


def _may_occur(concept: Concept) -> bool:
    """False if the index's vocabulary (as this worker last read it) holds none of the
    concept's alternatives; True when it may."""
    from faq.search.index import vocabulary  # the index reads the backends

    words = vocabulary()
    for tokens in concept.alternatives:
        if len(tokens) != 1:
            return True
        token = tokens[0]
        if words.frequency(token):
            return True
        if concept.prefix and (not token.isascii() or not token.isalpha()):
            return True
        if concept.prefix and words.prefix_frequency(token):
            return True
    return False


def searchable(language: str) -> ArticleQuerySet:
    """The articles a customer searching in ``language`` may find: the one rule both backends
    rank within (as a subquery) and the results are read through."""
    return Article.objects.published().in_language(language).order_by()


def _searchable_ids_sql(language: str) -> tuple[str, tuple[Any, ...]]:
    """``searchable(language)``'s ids as SQL and its parameters, to embed as a subquery."""
    sql, params = searchable(language).values("id").query.sql_with_params()
    return sql, tuple(params)


class SearchBackend(Protocol):
    def rank(self, query: ParsedQuery, *, language: str, limit: int) -> list[int]:
        """Ids of the published articles in ``language`` that match, best first: the more of
        the query's concepts an article covers, the higher."""
        ...

    def vocabulary(self) -> tuple[list[tuple[str, int]], int]:
        """Every indexed token with the number of articles holding it; and the articles."""
        ...

    def repair(self) -> None:
        """Make the database's index agree with the ArticleSearchDocument rows."""
        ...

    def optimize(self) -> None: ...


class SQLiteBackend:
    """FTS5 table ``faq_article_fts``, filled from ArticleSearchDocument by triggers."""

    table = "faq_article_fts"
    # bm25 column weights: title, keywords, summary, body.
    weights = (10.0, 5.0, 3.0, 1.0)

    @staticmethod
    def expression(concept: Concept) -> str:
        # Tokens hold letters and digits only, so quoting them leaves no FTS5 syntax to inject.
        star = "*" if concept.prefix else ""
        phrases = [f'"{" ".join(tokens)}"{star}' for tokens in concept.alternatives]
        return f"({' OR '.join(phrases)})"

    def rank(self, query: ParsedQuery, *, language: str, limit: int) -> list[int]:
        # bm25() is the costly part: it reads a row's sizes and positions, and a common word
        # matches thousands of rows (of both languages). So it runs only for the articles that
        # can reach the page, best covered first: per coverage level, from all the concepts
        # down, one MATCH that only the articles covering that many satisfy (every group of
        # that many concepts, ANDed). An article is first found at the level it covers
        # exactly; there its bm25 is its concepts' sum times a factor the same for every
        # article of the level, so the order within a level is bm25's. The levels are
        # branches of one UNION ALL that SQLite runs as it is read: reading stops at the
        # marker after the level that fills the page, and the levels below never run. Past
        # MAX_LEVELS levels (or MAX_GROUPS groups) the last branch scores every match, as a
        # single query would; the tests check that both give the same order.
        expressions = [self.expression(concept) for concept in query.concepts]
        bm25 = ", ".join(map(str, self.weights))
        searchable_sql, searchable_params = _searchable_ids_sql(language)
        if len(expressions) == 1:  # one level, and the database can sort it
            sql = f"""
                SELECT rowid FROM {self.table}
                WHERE {self.table} MATCH %s AND +rowid IN ({searchable_sql})
                ORDER BY bm25({self.table}, {bm25}), rowid LIMIT %s
            """
            with connection.cursor() as cursor:
                cursor.execute(sql, [expressions[0], *searchable_params, limit])
                return [row[0] for row in cursor.fetchall()]
        # "+rowid": a filter on FTS5's rows; as a constraint, FTS5 would be asked once per
        # searchable article.
        scored = (
            f"SELECT %s, rowid, bm25({self.table}, {bm25}) FROM {self.table} "
            f"WHERE {self.table} MATCH %s AND +rowid IN ({searchable_sql})"
        )
        # Which concepts occur at all (a bigram across two words, such as 号被 in 账号被冻结,
        # occurs nowhere and does not count): the database answers, the vocabulary only
        # leaves out of the groups those it knows are absent.
        branches = [
            f"SELECT {PRESENT}, {number}, NULL WHERE EXISTS "
            f"(SELECT 1 FROM {self.table} WHERE {self.table} MATCH %s)"
            for number in range(len(expressions))
        ]
        params: list[Any] = list(expressions)
        known = [n for n, concept in enumerate(query.concepts) if _may_occur(concept)]
        for level in range(len(known), 0, -1):
            groups = list(itertools.combinations(known, level))
            if len(groups) > MAX_GROUPS or len(known) - level >= MAX_LEVELS:
                break
            matched = " OR ".join(
                "(" + " AND ".join(expressions[number] for number in group) + ")"
                for group in groups
            )
            branches += [scored, f"SELECT {LEVEL_END}, %s, NULL"]
            params += [level, matched, *searchable_params, level]
        else:
            level = 0
        if level:  # levels left that would take too many groups: bm25 for every match
            every_hit, every_hit_params = self._every_hit(query, language=language, limit=limit)
            branches.append(f"SELECT {EVERY_HIT}, * FROM ({every_hit})")
            params += every_hit_params
        by_position: list[tuple[int, int]] = []
        coverage: dict[int, int] = {}
        scores: dict[int, float] = {}
        present: set[int] = set()
        complete = False
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(branches), params)
            for kind, value, score in iter(cursor.fetchone, None):
                if kind == PRESENT:
                    present.add(value)
                elif not present or not present <= set(known):
                    break  # nothing matches, or the vocabulary is behind the index
                elif kind == EVERY_HIT:
                    by_position.append((score, value))
                    complete = True
                elif kind == LEVEL_END:
                    fewest = math.ceil(len(present) * MIN_COVERAGE_PERCENT / 100)
                    if len(coverage) >= limit or value <= fewest:
                        complete = True
                        break
                elif value not in coverage:
                    coverage[value], scores[value] = kind, score
        if not present:
            return []
        if by_position:
            return [id_ for _position, id_ in sorted(by_position)]
        if not complete:  # the vocabulary is behind the index: it cannot choose the groups
            sql, every_hit_params = self._every_hit(query, language=language, limit=limit)
            with connection.cursor() as cursor:
                cursor.execute(sql, every_hit_params)
                return [id_ for id_, _position in cursor.fetchall()]
        fewest = math.ceil(len(present) * MIN_COVERAGE_PERCENT / 100)
        found = [id_ for id_ in coverage if coverage[id_] >= fewest]
        found.sort(key=lambda id_: (-coverage[id_], scores[id_], id_))
        return found[:limit]

    def _every_hit(self, query: ParsedQuery, *, language: str, limit: int) -> tuple[str, list[Any]]:
        """SQL for (id, position) of the page's articles, with bm25 for every article that
        matches a concept: what rank() falls back to where there are too many groups."""
        table = self.table
        bm25 = ", ".join(map(str, self.weights))
        searchable_sql, searchable_params = _searchable_ids_sql(language)
        # One SELECT per concept: the articles that match it, and its share of their bm25
        # (bm25 of an OR query is the sum of its parts, so the sum below equals it).
        # Concept numbers are ours: no user input in the SQL text.
        hits = " UNION ALL ".join(
            f"SELECT rowid AS id, {number} AS concept, bm25({table}, {bm25}) AS score "
            f"FROM {table} WHERE {table} MATCH %s"
            for number in range(len(query.concepts))
        )
        # Coverage: how many of the concepts some article holds (a bigram across two words,
        # such as 号被 in 账号被冻结, occurs nowhere and does not count) this one matches. The
        # language and status filter reads the (language, status, ...) index, not the wide
        # article rows: joining those for thousands of hits was the slowest part.
        sql = f"""
            WITH hits AS ({hits}),
            present AS (SELECT COUNT(DISTINCT concept) AS concepts FROM hits),
            ranked AS (
                SELECT id, COUNT(*) AS covered, SUM(score) AS score FROM hits GROUP BY id
            )
            SELECT ranked.id,
                   row_number() OVER (ORDER BY ranked.covered DESC, ranked.score, ranked.id)
            FROM ranked, present
            WHERE ranked.covered * 100 >= present.concepts * %s
              AND ranked.id IN ({searchable_sql})
            ORDER BY ranked.covered DESC, ranked.score, ranked.id
            LIMIT %s
        """
        params: list[Any] = [
            *(self.expression(concept) for concept in query.concepts),
            MIN_COVERAGE_PERCENT,
            *searchable_params,
            limit,
        ]
        return sql, params

    def vocabulary(self) -> tuple[list[tuple[str, int]], int]:
        # faq_article_vocab: an fts5vocab table over the index (migration 0003).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term, doc, (SELECT COUNT(*) FROM faq_articlesearchdocument) "
                "FROM faq_article_vocab"
            )
            rows = cursor.fetchall()
        return [(term, doc) for term, doc, _total in rows], (rows[0][2] if rows else 0)

    def repair(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.table}({self.table}) VALUES ('rebuild')")

    def optimize(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.table}({self.table}) VALUES ('optimize')")


class PostgreSQLBackend:
    """A generated tsvector column ``vector`` on ArticleSearchDocument, with a GIN index."""

    # ts_rank weights for D, C, B, A: body, summary, keywords, title. No length normalization:
    # it ranked worse on the evaluation set (MRR 0.93 with 1, 0.87 with 2, 0.945 without).
    weights = "{0.1, 0.3, 0.5, 1.0}"

    @staticmethod
    def expression(concept: Concept) -> str:
        star = ":*" if concept.prefix else ""
        phrases = [
            " <-> ".join(f"'{token}'{star}" for token in tokens) for tokens in concept.alternatives
        ]
        return f"({' | '.join(phrases)})"

    @staticmethod
    def _occurs(query: ParsedQuery) -> tuple[str, str, list[str]]:
        """SQL conditions "some concept occurs in the title" and "... in the keywords", read
        from the search document's token columns (short: no vector to decompress)."""
        needles = [
            f" {' '.join(tokens)}" + ("" if concept.prefix else " ")
            for concept in query.concepts
            for tokens in concept.alternatives
        ]

        def occurs(column: str) -> str:
            return " OR ".join([f"position(%s in ' ' || doc.{column} || ' ') > 0"] * len(needles))

        return f"({occurs('title')})", f"({occurs('keywords')})", needles + needles

    def rank(self, query: ParsedQuery, *, language: str, limit: int) -> list[int]:
        documents = ArticleSearchDocument._meta.db_table
        expressions = [self.expression(concept) for concept in query.concepts]
        # Coverage first, from one GIN index scan per concept. ts_rank() reads (and
        # decompresses) a whole vector, so it runs only for the candidates that can still reach
        # the page: every article at least as well covered as the limit-th best one (all of a
        # tie, so the order is exact). A one-word query ties thousands of articles, so past
        # MAX_RANKED of them the candidates are cut again by where the words occur (title,
        # keywords, elsewhere: ts_rank's weights make that its order for a one-word query).
        # faq_article_matches() (migration 0002) makes sure the GIN index is used. Concept
        # numbers are ours, and the words are parameters: no user input in the SQL text.
        hits = " UNION ALL ".join(
            f"SELECT id, {number} AS concept "
            "FROM faq_article_matches(to_tsquery('simple', %s)) AS id"
            for number in range(len(expressions))
        )
        in_title, in_keywords, where_params = self._occurs(query)
        searchable_sql, searchable_params = _searchable_ids_sql(language)
        sql = f"""
            WITH hits AS MATERIALIZED ({hits}),
            present AS (SELECT COUNT(DISTINCT concept) AS concepts FROM hits),
            eligible AS MATERIALIZED (
                SELECT hits.id, COUNT(*) AS covered
                FROM hits WHERE hits.id IN ({searchable_sql})
                GROUP BY hits.id
                HAVING COUNT(*) * 100 >= (SELECT concepts FROM present) * %s
            ),
            cutoff AS (
                SELECT COALESCE(
                    (SELECT covered FROM eligible ORDER BY covered DESC OFFSET %s LIMIT 1), 0
                ) AS covered
            ),
            tied AS MATERIALIZED (
                SELECT eligible.id, eligible.covered,
                       CASE WHEN {in_title} THEN 2 WHEN {in_keywords} THEN 1 ELSE 0 END AS tier
                FROM eligible JOIN {documents} doc ON doc.article_id = eligible.id
                WHERE eligible.covered >= (SELECT covered FROM cutoff)
            ),
            tier_cutoff AS (
                SELECT CASE WHEN (SELECT COUNT(*) FROM tied) > %s THEN COALESCE(
                    (SELECT tier FROM tied ORDER BY covered DESC, tier DESC OFFSET %s LIMIT 1), 0
                ) ELSE 0 END AS tier
            )
            SELECT tied.id
            FROM tied JOIN {documents} doc ON doc.article_id = tied.id
            WHERE tied.covered > (SELECT covered FROM cutoff)
               OR tied.tier >= (SELECT tier FROM tier_cutoff)
            ORDER BY tied.covered DESC,
                     ts_rank(%s::float4[], doc.vector, to_tsquery('simple', %s)) DESC,
                     tied.id
            LIMIT %s
        """
        params: list[Any] = [
            *expressions,
            *searchable_params,
            MIN_COVERAGE_PERCENT,
            limit - 1,
            *where_params,
            MAX_RANKED,
            limit - 1,
            self.weights,
            " | ".join(expressions),
            limit,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def vocabulary(self) -> tuple[list[tuple[str, int]], int]:
        table = ArticleSearchDocument._meta.db_table
        with connection.cursor() as cursor:
            # ts_stat reads every vector once: this runs once per worker and content change.
            cursor.execute(
                f"SELECT word, ndoc, (SELECT COUNT(*) FROM {table}) "
                f"FROM ts_stat('SELECT vector FROM {table}')"
            )
            rows = cursor.fetchall()
        return [(word, ndoc) for word, ndoc, _total in rows], (rows[0][2] if rows else 0)

    def repair(self) -> None:
        pass  # the column is generated from the row: it cannot disagree with it

    def optimize(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ArticleSearchDocument._meta.db_table}")


BACKENDS: dict[str, type[SQLiteBackend] | type[PostgreSQLBackend]] = {
    "sqlite": SQLiteBackend,
    "postgresql": PostgreSQLBackend,
}


def backend() -> SearchBackend:
    try:
        return BACKENDS[connection.vendor]()
    except KeyError:
        raise ImproperlyConfigured(
            f"Help-centre search supports SQLite and PostgreSQL, not {connection.vendor}."
        ) from None
