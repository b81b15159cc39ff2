"""Help-centre search: ``search(query, language=...)`` and ``normalize_query(raw)``.

The text is tokenized here, in Python, and not by the database: SQLite's trigram tokenizer
cannot match a two-character Chinese word (提现), and neither SQLite's unicode61 tokenizer nor
PostgreSQL's 'simple' configuration segments Chinese. ``tokenize()`` turns an article's fields
and a customer's query into the same search tokens, and the database only stores and ranks
them:

* folding: NFKC (full-width ＯＫ and ２ＦＡ become ok and 2fa), case folding, accents off Latin
  letters (tí xiàn -> ti xian) and traditional Chinese to simplified with OpenCC (轉賬 -> 转账;
  faq/search/textfold.py);
* Chinese runs: overlapping character bigrams, as Lucene's CJKAnalyzer does
  (提现多久 -> 提现 现多 多久), after cutting out stop words and filler (如何, 麻烦帮我看看,
  的 ...: faq/content/stopwords.toml). On the
  evaluation set bigrams found more (recall@3 1.00, MRR 0.94) than jieba's search mode with the
  synonyms in its dictionary (0.985, 0.92), and add no memory to a worker, where jieba adds about
  70 MB; scripts/compare_segmenters.py measures both. Their weakness, a bigram that straddles
  two words (开发票 holds 开发), is why articles rank by how much of a query they cover;
* other words: a plural "s" removed (fees -> fee), stop words (how, to, the, i want ...)
  dropped;
* synonyms (faq/content/synonyms.toml, and the suggestions staff accepted): wherever a member
  of a group occurs, the index also holds the group's own token, and a query that names any
  member looks for that token (充值 = 入金 = top up). Editing the file therefore needs a
  re-index (load_help_content and rebuild_search_index do it); accepting a suggestion
  re-indexes the articles it concerns at once.

Each article's tokens live in ``ArticleSearchDocument``, rewritten whenever the article is
saved; the database indexes those rows itself (migration 0002): SQLite in an FTS5 table ranked
with bm25(), PostgreSQL in a tsvector column with a GIN index ranked with ts_rank(). Both weigh
the title above the keywords, the keywords above the summary and the summary above the body.

Before it is parsed, a query is corrected against the index's own vocabulary (``correct``,
faq/search/vocab.py): pinyin to the Chinese it reads as, a Chinese bigram no article holds to
one that sounds the same, a misspelt English word to the closest indexed one. What the index
holds is never changed, so exact matches keep their place; the page says what was searched
instead and offers the query as typed (``find(..., exact=True)``).

A query is then a list of concepts: a synonym group it mentions, or one of its other tokens.
Articles rank by how many of the concepts that occur anywhere in the index they match (a
bigram across two words, such as 号被 in 账号被冻结, occurs nowhere and does not count), then
by bm25 / ts_rank; one that covers less than a quarter of them is left out. A hard "half of
the query" rule hid the answer to long questions: each extra bigram of filler raised the bar.

The package, one subject a module:

* ``text``: folding, tokenizing, the query as typed made safe (stop words in
  faq/content/stopwords.toml); ``textfold``: OpenCC and pinyin;
* ``synonyms``: the shipped and the learned synonym groups;
* ``vocab``: the index's vocabulary, and the spelling and sound corrections checked against it;
* ``query``: parsing and correcting a query into concepts;
* ``backends``: SQLite FTS5 and PostgreSQL, ranking alike over the articles ``searchable()``
  allows;
* ``index``: the search documents, kept in step with the articles;
* ``results``: ``find()``/``search()``, highlighted titles and snippets.
"""

from faq.search.backends import SearchBackend, backend, searchable
from faq.search.index import (
    document_fields,
    document_tokens,
    forget_vocabulary,
    index_article,
    index_saved_article,
    rebuild_index,
    synonyms_changed,
    vocabulary,
)
from faq.search.query import Concept, ParsedQuery, correct, parse_query
from faq.search.results import SearchOutcome, SearchResult, find, highlight, search
from faq.search.synonyms import forget_synonyms, learned_groups, suggested_partner
from faq.search.text import fold, is_too_short, normalize_query, stem, tokenize

__all__ = [
    "Concept",
    "ParsedQuery",
    "SearchBackend",
    "SearchOutcome",
    "SearchResult",
    "backend",
    "correct",
    "document_fields",
    "document_tokens",
    "find",
    "fold",
    "forget_synonyms",
    "forget_vocabulary",
    "highlight",
    "index_article",
    "index_saved_article",
    "is_too_short",
    "learned_groups",
    "normalize_query",
    "parse_query",
    "rebuild_index",
    "search",
    "searchable",
    "stem",
    "suggested_partner",
    "synonyms_changed",
    "tokenize",
    "vocabulary",
]
