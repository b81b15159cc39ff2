"""Database rules shared by the apps."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def choices_constraint(
    field: str, choices: type[models.Choices], name: str
) -> models.CheckConstraint:
    """The database, not only the form, refuses a value outside the field's choices."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)
