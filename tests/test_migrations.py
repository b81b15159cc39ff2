"""Migrations stay safe while the previous release still serves (README: "Migrations while the
old version still serves"): the old code keeps inserting rows, and nobody waits on a lock."""

from collections.abc import Sequence

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations import AddConstraint, AddField, CreateModel
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.models.fields import NOT_PROVIDED

from wallet_support.migration_ops import AddCheckConstraintNotValid

OUR_APPS = {"faq", "tickets"}
# Written before the rule, and fixed forward: tickets/0008 gives 0002's columns their database
# defaults; 0004's constraint is added NOT VALID (same state, so applied databases are unchanged)
# and validated by 0009.
FIXED_FORWARD = {("tickets", "0002_staff_triage")}


def unsafe_operations(app_label: str, name: str, operations: Sequence[Operation]) -> list[str]:
    created = {op.name.lower() for op in operations if isinstance(op, CreateModel)}
    problems = []
    for op in operations:
        if isinstance(op, AddField) and op.model_name.lower() not in created:
            field = op.field
            # A many-to-many field adds a table of its own, not a column the old code misses.
            if field.many_to_many:
                continue
            if not field.null and field.db_default is NOT_PROVIDED:
                problems.append(f"{app_label}.{name}: {op.model_name}.{op.name} has no db_default")
        if isinstance(op, AddConstraint) and not isinstance(op, AddCheckConstraintNotValid):
            constraint = vars(op)["constraint"]  # django-stubs does not declare the attribute
            if (
                isinstance(constraint, models.CheckConstraint)
                and vars(op)["model_name"].lower() not in created
            ):
                problems.append(
                    f"{app_label}.{name}: {constraint.name} scans the table under an exclusive lock"
                )
    return problems


def test_no_migration_breaks_the_release_that_is_still_serving():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    problems = []
    for (app_label, name), migration in loader.disk_migrations.items():
        if app_label in OUR_APPS and (app_label, name) not in FIXED_FORWARD:
            problems += unsafe_operations(app_label, name, migration.operations)
    assert problems == []


def test_the_rule_catches_a_new_not_null_column_and_a_scanning_constraint():
    operations = [
        AddField("ticket", "escalated", models.BooleanField(default=False)),
        AddField("ticket", "note", models.TextField(null=True)),
        AddField("ticket", "tier", models.IntegerField(default=0, db_default=0)),
        AddConstraint(
            "ticket", models.CheckConstraint(condition=models.Q(tier__gte=0), name="tier_ok")
        ),
        AddCheckConstraintNotValid(
            "ticket", models.CheckConstraint(condition=models.Q(tier__lte=9), name="tier_max")
        ),
    ]
    assert unsafe_operations("tickets", "9999_example", operations) == [
        "tickets.9999_example: ticket.escalated has no db_default",
        "tickets.9999_example: tier_ok scans the table under an exclusive lock",
    ]


@pytest.mark.django_db
def test_the_previous_release_can_still_insert_a_ticket():
    # The INSERT of the release before tickets/0005: it knows neither is_spam,
    # status_changed_at nor version.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticket (reference, kind, topic, channel, status, priority,"
            " subject, description, email, name, phone, transaction_reference, language,"
            " masked_secrets, satisfaction_comment, created_at, updated_at)"
            " VALUES ('OK-OLD1-CODE', 'complaint', 'other', 'web', 'new', 'normal', 's', 'd',"
            " 'a@example.com', '', '', '', 'en', '[]', '', %s, %s)",
            ["2026-12-01 10:00:00+00:00", "2026-12-01 10:00:00+00:00"],
        )
    from tickets.models import Ticket

    ticket = Ticket.objects.get(reference="OK-OLD1-CODE")
    assert (ticket.is_spam, ticket.version) == (False, 1)
    assert ticket.status_changed_at is not None


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor refuses to run inside atomic
def test_the_kind_constraint_is_added_without_a_table_scan_on_postgresql(capsys):
    call_command("sqlmigrate", "tickets", "0004")
    sql = capsys.readouterr().out
    if connection.vendor == "postgresql":
        assert 'ADD CONSTRAINT "ticket_kind_valid" CHECK' in sql and "NOT VALID" in sql
        call_command("sqlmigrate", "tickets", "0009")
        assert 'VALIDATE CONSTRAINT "ticket_kind_valid"' in capsys.readouterr().out
    else:
        # SQLite has no NOT VALID and rebuilds the table either way (one server, no rolling deploy)
        assert 'CONSTRAINT "ticket_kind_valid" CHECK' in sql and "NOT VALID" not in sql
