"""Compare the two ways of tokenizing Chinese for search: CJK bigrams and jieba (search mode).

Loads the shipped help content into a throwaway SQLite database (never the dev database),
rebuilds the search index with each segmenter and prints, for each: recall@3 and MRR over
tests/faq/search_eval.toml, the index size, and the resident memory the segmenter adds to a
fresh worker process. Bigrams are what faq/search/ ships; jieba is not a dependency of the
project, so install it to run this:

    .venv/bin/pip install jieba
    .venv/bin/python scripts/compare_segmenters.py
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEGMENTERS = ["bigram", "jieba"]


def setup_django(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "measurement-only")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wallet_support.settings")
    import django

    django.setup()


def use_segmenter(name: str) -> None:
    from faq.search import synonyms, text

    if name == "bigram":
        text.cjk_segmenter = text.cjk_bigrams
        return
    # Not a dependency of the project (nor typed): imported by name, so mypy need not find it.
    jieba = importlib.import_module("jieba")

    jieba.setLogLevel(60)
    jieba.initialize()
    # Teach jieba the help centre's own words, as one would in production: its dictionary
    # does not know 到账, 提现 or 验证码 the way customers use them.
    for group in synonyms.current_synonyms().groups:
        for member in group.members:
            if text.TOKEN.fullmatch(member) and not member.isascii():
                jieba.add_word(member)
    stop_words = set(text.CHINESE_STOP_WORDS)

    def jieba_search_mode(run: str) -> list[str]:
        return [word for word in jieba.cut_for_search(run) if word not in stop_words]

    text.cjk_segmenter = jieba_search_mode


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def index_size_kib() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'faq_article_fts%' "
            "OR name LIKE 'faq_articlesearchdocument%'"
        )
        return (cursor.fetchone()[0] or 0) // 1024


def measure_memory(database: Path, segmenter: str) -> None:
    """In a fresh process: the worker's RSS after a first search with ``segmenter``."""
    setup_django(database)
    from faq.search import search

    use_segmenter(segmenter)
    search("提现多久到账", language="zh-hans")
    print(rss_kib())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", choices=SEGMENTERS, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        measure_memory(args.database, args.memory)
        return

    with tempfile.TemporaryDirectory() as directory:
        database = Path(directory) / "compare.sqlite3"
        setup_django(database)
        from django.core.management import call_command

        from faq.search import rebuild_index
        from tests.faq.search_metrics import evaluate

        call_command("migrate", verbosity=0)
        call_command("load_help_content", stdout=open(os.devnull, "w"))  # noqa: SIM115
        baseline = None
        print(f"{'segmenter':10} {'recall@3':>8} {'MRR':>6} {'index KiB':>9} {'worker RSS':>10}")
        for name in SEGMENTERS:
            use_segmenter(name)
            rebuild_index()
            report = evaluate()
            rss = int(
                subprocess.run(
                    [sys.executable, __file__, "--memory", name, "--database", str(database)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()[-1]
            )
            baseline = baseline or rss
            print(
                f"{name:10} {report.recall_at_3:8.3f} {report.mrr:6.3f} {index_size_kib():9d} "
                f"{rss / 1024:7.1f} MB (+{(rss - baseline) / 1024:.1f} MB)"
            )
            for miss in report.misses:
                print(f"    miss: {miss}")


if __name__ == "__main__":
    main()
