"""Recall@3 and MRR of the help-centre search over tests/faq/search_eval.toml.

Shared by tests/faq/test_search_eval.py and the measuring scripts in scripts/.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from faq.search import search

EVAL_FILE = Path(__file__).with_name("search_eval.toml")
DEPTH = 10  # MRR counts a hit down to this rank


@dataclass(frozen=True)
class Case:
    language: str
    q: str
    expect: str
    kind: str = "plain"  # how it was typed: pinyin, traditional, homophone, misspelling, ...


@dataclass
class Report:
    cases: int = 0
    found_in_3: int = 0
    reciprocal_ranks: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def recall_at_3(self) -> float:
        return self.found_in_3 / self.cases if self.cases else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / self.cases if self.cases else 0.0

    by_kind: dict[str, Report] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"recall@3 {self.recall_at_3:.3f}, MRR {self.mrr:.3f} over {self.cases} queries"

    def details(self) -> str:
        lines = [str(self)]
        lines += [f"  {kind:<20} {report}" for kind, report in sorted(self.by_kind.items())]
        return "\n".join(lines)

    def add(self, rank: int | None, miss: str) -> None:
        self.cases += 1
        if rank is not None:
            self.reciprocal_ranks += 1 / rank
        if rank is not None and rank <= 3:
            self.found_in_3 += 1
        else:
            self.misses.append(miss)


def load_cases() -> list[Case]:
    with EVAL_FILE.open("rb") as handle:
        return [Case(**entry) for entry in tomllib.load(handle)["query"]]


def evaluate(cases: list[Case] | None = None) -> Report:
    report = Report()
    for case in cases if cases is not None else load_cases():
        slugs = [result.slug for result in search(case.q, language=case.language, limit=DEPTH)]
        rank = slugs.index(case.expect) + 1 if case.expect in slugs else None
        miss = f"{case.q!r} -> {case.expect} at {rank}; got {slugs[:3]}"
        report.add(rank, miss)
        report.by_kind.setdefault(case.kind, Report()).add(rank, miss)
    return report
