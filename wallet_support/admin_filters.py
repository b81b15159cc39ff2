"""List filters the admin pages share."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django_stubs_ext import StrOrPromise


class YesNoFilter(admin.SimpleListFilter):
    """A filter with two choices. `options` names each and says which rows it keeps: a Q, or
    None where the subclass overrides `keep` (a rule a Q cannot hold, like "overdue now")."""

    options: dict[str, tuple[StrOrPromise, Q | None]]

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        return [(value, label) for value, (label, _condition) in self.options.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value not in self.options:
            return queryset
        return self.keep(queryset, value == "yes")

    def keep(self, queryset: QuerySet[Any], yes: bool) -> QuerySet[Any]:
        condition = self.options["yes" if yes else "no"][1]
        return queryset if condition is None else queryset.filter(condition)
