"""Migration operations that stay safe while the previous release still serves.

`ALTER TABLE ... ADD CONSTRAINT ... CHECK` on PostgreSQL scans the whole table under an ACCESS
EXCLUSIVE lock: every read and write of the table waits for the scan. Adding the constraint
`NOT VALID` takes that lock only for an instant (new rows are checked from then on), and
`VALIDATE CONSTRAINT` in a later migration checks the old rows under a lock that lets reads and
writes go on. Other databases (SQLite rebuilds the table anyway) use the plain operation.
"""

from typing import Any

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState


class AddCheckConstraintNotValid(migrations.AddConstraint):
    """Add a CHECK constraint without scanning the table (PostgreSQL: NOT VALID)."""

    # Set by AddConstraint.__init__; django-stubs does not declare them.
    model_name: str
    constraint: models.BaseConstraint

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        constraint = self.constraint
        assert isinstance(constraint, models.CheckConstraint)
        check_sql = constraint._get_check_sql(model, schema_editor)  # type: ignore[attr-defined]
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} ADD CONSTRAINT "
            f"{quote(constraint.name)} CHECK ({check_sql}) NOT VALID"
        )

    def describe(self) -> str:
        return f"Create constraint {self.constraint.name} on {self.model_name}, old rows unchecked"


class ValidateConstraint(migrations.operations.base.Operation):
    """Check the existing rows against a constraint added NOT VALID (reads and writes go on)."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass  # the constraint is already in the state; only the database learns it holds

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} VALIDATE CONSTRAINT {quote(self.name)}"
        )

    def database_backwards(self, *args: Any, **kwargs: Any) -> None:
        pass  # an unvalidated constraint is weaker, never in the way of going back

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [], {"model_name": self.model_name, "name": self.name})

    def describe(self) -> str:
        return f"Validate constraint {self.name} on model {self.model_name}"
