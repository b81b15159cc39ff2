"""Synonym groups: faq/content/synonyms.toml's, and the suggestions staff accepted.

Wherever a member of a group occurs, the index also holds the group's own token, and a query
that names any member looks for that token (充值 = 入金 = top up).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import connection

from faq.models import Article
from faq.search.text import CJK, TOKEN, fold
from faq.search.vocab import PerContentVersion

SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "content" / "synonyms.toml"


@dataclass(frozen=True)
class _SynonymGroup:
    number: int
    members: tuple[str, ...]  # folded
    pattern: re.Pattern[str]  # any member

    def token(self, language: str) -> str:
        """What the index holds wherever a member occurs: letters and digits, like every token,
        that no customer types. One per language, so that its posting list is no longer than
        the language's articles (the filter on language then has little left to drop)."""
        return f"synonym{self.number}{language.replace('-', '')}"


@dataclass(frozen=True)
class _Synonyms:
    groups: tuple[_SynonymGroup, ...]
    # Every member of every group, longest first; the regex group name says which group.
    query_pattern: re.Pattern[str] | None
    group_of: dict[str, _SynonymGroup]
    accidental: re.Pattern[str] | None

    def mask(self, folded: str) -> str:
        """Blank out the accidental spots, keeping every other character where it was."""
        if self.accidental is None:
            return folded
        return self.accidental.sub(lambda match: " " * len(match.group()), folded)


def _member_pattern(member: str) -> str | None:
    parts = [match.group() for match in TOKEN.finditer(member)]
    if not parts:
        return None
    pattern = r"[\W_]*".join(map(re.escape, parts))
    # An English member is a whole word: "cap" must not match inside "capital".
    if not re.match(rf"[{CJK}]", parts[0]):
        pattern = rf"(?<![^\W_{CJK}]){pattern}"
    if not re.match(rf"[{CJK}]", parts[-1]):
        pattern = rf"{pattern}(?![^\W_{CJK}])"
    return pattern


@cache
def _shipped_synonyms() -> dict[str, Any]:
    with SYNONYMS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def learned_groups(groups: list[list[str]]) -> list[list[str]]:
    """``groups`` with the synonym suggestions staff accepted: a phrase joins the group that
    holds its partner (folded alike), or forms a new group with it. New groups go last, so
    the shipped groups keep their numbers (and their index tokens)."""
    from faq.models import SynonymSuggestion

    if not _learned_table_exists():
        return groups
    result = [list(group) for group in groups]
    where = {fold(member): number for number, group in enumerate(result) for member in group}
    pairs = SynonymSuggestion.objects.accepted().order_by("pk").values_list("phrase", "joins")
    for phrase, partner in pairs:
        number = where.get(fold(partner), where.get(fold(phrase)))
        if number is None:
            number = len(result)
            result.append([partner])
            where[fold(partner)] = number
        if fold(phrase) not in where:
            result[number].append(phrase)
            where[fold(phrase)] = number
    return result


_learned_table: dict[str, bool] = {"exists": False}


def _learned_table_exists() -> bool:
    # While migrating (migration 0002 indexes articles) the table may not exist yet; once it
    # does, it stays: look once per process.
    if not _learned_table["exists"]:
        from faq.models import SynonymSuggestion

        tables = connection.introspection.table_names()
        _learned_table["exists"] = SynonymSuggestion._meta.db_table in tables
    return _learned_table["exists"]


def current_synonyms() -> _Synonyms:
    """The synonym groups as they are now: shipped ones and accepted suggestions, read again
    when the help content changes (as the vocabulary is: faq.search.vocab)."""
    return _current_synonyms.get()


def forget_synonyms() -> None:
    _current_synonyms.forget()


def _build_synonyms(data: dict[str, Any]) -> _Synonyms:
    raw_groups = learned_groups(data.get("groups", []))
    accidental = sorted((fold(phrase) for phrase in data.get("accidental", [])), key=len)
    groups: list[_SynonymGroup] = []
    alternatives: list[tuple[str, str, int]] = []  # (member, pattern, group index)
    for raw_members in raw_groups:
        members = tuple(dict.fromkeys(fold(member) for member in raw_members))
        patterns = [(m, p) for m in members if (p := _member_pattern(m))]
        if not patterns:
            continue
        alternatives += [(member, pattern, len(groups)) for member, pattern in patterns]
        groups.append(
            _SynonymGroup(
                number=len(groups),
                members=members,
                pattern=re.compile("|".join(p for _m, p in patterns)),
            )
        )
    # Longest first, so that 忘记密码 wins over 密码 and 客服电话 over 客服.
    alternatives.sort(key=lambda item: len(item[0]), reverse=True)
    pattern = "|".join(f"(?P<m{i}>{p})" for i, (_member, p, _group) in enumerate(alternatives))
    return _Synonyms(
        groups=tuple(groups),
        query_pattern=re.compile(pattern) if pattern else None,
        group_of={f"m{i}": groups[group] for i, (_m, _p, group) in enumerate(alternatives)},
        accidental=(
            re.compile("|".join(map(re.escape, reversed(accidental)))) if accidental else None
        ),
    )


_current_synonyms = PerContentVersion(lambda: _build_synonyms(_shipped_synonyms()))


def suggested_partner(article: Article) -> str:
    """The word of ``article`` a customer's phrase most likely means: the first synonym its
    title names (in the article's own words), else its first keyword, else its title."""
    title = fold(article.title)
    synonyms = current_synonyms()
    if synonyms.query_pattern is not None and (match := synonyms.query_pattern.search(title)):
        return match.group()
    keywords = [k.strip() for k in re.split(r"[,，、]", article.keywords) if k.strip()]
    return keywords[0] if keywords else article.title
