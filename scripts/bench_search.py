"""Benchmark help-centre search on 10,000 articles (5,000 in each language).

Generates the articles into a throwaway SQLite database (never the dev database), builds the
index, then, in a fresh process that plays a worker, times searches and prints p50 and p95:
``search()`` with the snippets a page shows, and the whole search page through Django's test
client (view, template, analytics INSERT). Also prints the index size and the worker's
resident memory, and what the index's vocabulary and the correction dictionaries add to
it. Goals: search() p95 under 20 ms on SQLite (30 ms on PostgreSQL), the page under 30 ms;
under 150 MB per worker, the dictionaries under 40 MB.

    .venv/bin/python scripts/bench_search.py
    .venv/bin/python scripts/bench_search.py --articles 2000
    .venv/bin/python scripts/bench_search.py --database-url postgres://.../empty_scratch_db
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERNAL_LINK = re.compile(r"\]\((?:page|article):[a-z0-9-]+\)")
LANGUAGES = ["zh-hans", "en"]
EXTRA_QUERIES = {
    "zh-hans": ["提现", "充值", "密码", "退款", "验证码", "OK钱包", "手续费", "客服", "诈骗"],
    "en": ["withdraw", "top up", "password", "refund", "verification code", "fees", "chat"],
}


def setup_django(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wallet_support.settings")
    import django

    django.setup()
    from django.test.utils import override_settings

    # The manifest needs collectstatic; the benchmark renders pages without it.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()


def shipped_texts() -> dict[str, list[dict[str, str]]]:
    texts: dict[str, list[dict[str, str]]] = {language: [] for language in LANGUAGES}
    for path in sorted((ROOT / "faq" / "content" / "articles").glob("*.toml")):
        data = tomllib.loads(path.read_text())
        for language in LANGUAGES:
            texts[language].append(data[language])
    return texts


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。！？.!?])\s*|\n+", text) if s.strip()]


def generate(count: int, seed: int = 7) -> None:
    """``count`` articles per language, remixed from the shipped ones so that the words, their
    frequencies and the article lengths look like a real help centre's."""
    from django.core.management import call_command

    from faq.models import Article, Category

    rng = random.Random(seed)
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the content version lives there
    call_command("load_help_content", stdout=open(os.devnull, "w"))  # noqa: SIM115
    categories = list(Category.objects.all())
    texts = shipped_texts()
    pool = {
        language: {
            "titles": [t["title"] for t in items],
            "summaries": [t["summary"] for t in items],
            # Internal link targets ("(article:slug)") never reach the rendered HTML.
            "sentences": [s for t in items for s in sentences(INTERNAL_LINK.sub("]", t["body"]))],
            "keywords": [k.strip() for t in items for k in t.get("keywords", "").split(",")],
        }
        for language, items in texts.items()
    }
    existing = Article.objects.count() // 2
    for language in LANGUAGES:
        words = pool[language]
        batch = []
        for number in range(existing, count):
            body_sentences = rng.sample(words["sentences"], rng.randint(6, 18))
            title = rng.choice(words["titles"])
            if rng.random() < 0.6:  # titles repeat in real help centres less than this
                title = f"{title} ({rng.choice(words['keywords'])})"
            article = Article(
                language=language,
                slug=f"generated-{number}",
                category=rng.choice(categories),
                title=title[:200],
                summary=rng.choice(words["summaries"]),
                body="\n\n".join(body_sentences),
                keywords=", ".join(rng.sample(words["keywords"], 6)),
                status=Article.Status.PUBLISHED,
            )
            article.body_html = f"<p>{'</p><p>'.join(body_sentences)}</p>"
            batch.append(article)
        Article.objects.bulk_create(batch, batch_size=500)  # no signals: indexed below


def index_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'faq_article_fts%' "
                "OR name LIKE 'faq_articlesearchdocument%'"
            )
            fts = cursor.fetchone()[0]
            cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'faq_article_fts%'")
            return f"{fts / 2**20:.1f} MiB (FTS5 index alone {cursor.fetchone()[0] / 2**20:.1f})"
        cursor.execute(
            "SELECT pg_total_relation_size('faq_articlesearchdocument'), "
            "pg_relation_size('faq_articlesearchdocument_vector')"
        )
        total, gin = cursor.fetchone()
        return f"{total / 2**20:.1f} MiB (GIN index alone {gin / 2**20:.1f})"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms, max {max(samples):.1f} ms"


def worker(rounds: int) -> None:
    """A fresh process, like one gunicorn worker: time searches, then report its memory."""
    from django.test import Client

    from faq.search import search
    from tests.faq.search_metrics import load_cases

    queries = [(case.language, case.q) for case in load_cases()]
    queries += [(lang, q) for lang, words in EXTRA_QUERIES.items() for q in words]
    client = Client()
    # Memory: plain searches first (the index's vocabulary is read by the first one), then
    # what the corrections load on first use (OpenCC, pypinyin's table, the sound indexes).
    started_rss = rss_mib()
    for language, words in EXTRA_QUERIES.items():
        for query in words:
            search(query, language=language)
    plain_rss = rss_mib()
    for language, query in queries:  # warm up: imports, caches, SQLite pages
        search(query, language=language)
    corrections_rss = rss_mib()
    in_search, in_page, counts = [], [], []
    for _ in range(rounds):
        for language, query in queries:
            started = time.perf_counter()
            results = search(query, language=language)
            for result in results:
                str(result.title_html), str(result.snippet)
            in_search.append((time.perf_counter() - started) * 1000)
            counts.append(len(results))
            started = time.perf_counter()
            response = client.get(f"/{language}/search/", {"q": query})
            in_page.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
    print(
        json.dumps(
            {
                "queries": len(in_search),
                "search": percentiles(in_search),
                "page": percentiles(in_page),
                "mean_results": statistics.mean(counts),
                "rss": rss_mib(),
                "rss_vocabulary": plain_rss - started_rss,
                "rss_dictionaries": corrections_rss - plain_rss,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000, help="per language (5000)")
    parser.add_argument("--rounds", type=int, default=5, help="times each query runs (5)")
    parser.add_argument("--database-url", help="an EMPTY scratch database instead of SQLite")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        setup_django(args.database_url)
        worker(args.rounds)
        return

    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        setup_django(url)
        from faq.models import Article
        from faq.search import rebuild_index

        started = time.perf_counter()
        generate(args.articles)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        indexed = rebuild_index()
        built = time.perf_counter() - started
        print(f"database: {url.split('@')[-1]}")
        print(
            f"articles: {Article.objects.count()} ({indexed} indexed in {built:.1f} s; "
            f"generated in {generated:.1f} s)"
        )
        print(f"index size: {index_size()}")
        command = [sys.executable, __file__, "--worker", "--database-url", url]
        command += ["--rounds", str(args.rounds)]
        result = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout
        )
        print(f"search() with snippets, {result['queries']} searches: {result['search']}")
        print(f"search page through Django (view, template, log): {result['page']}")
        print(f"mean results per query: {result['mean_results']:.1f}")
        print(f"worker resident memory after the searches: {result['rss']:.0f} MiB")
        print(
            f"  of which the index's vocabulary: {result['rss_vocabulary']:.1f} MiB; "
            "the correction dictionaries (OpenCC, pypinyin, sound indexes): "
            f"{result['rss_dictionaries']:.1f} MiB"
        )


if __name__ == "__main__":
    main()
