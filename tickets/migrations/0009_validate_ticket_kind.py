# On its own, not in 0008: in one transaction with 0008's ALTER COLUMN, the scan would run while
# that statement's exclusive lock is still held. Alone it takes SHARE UPDATE EXCLUSIVE, under
# which the old and the new release keep reading and writing tickets.

from django.db import migrations

from wallet_support.migration_ops import ValidateConstraint


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_rolling_deploy_defaults"),
    ]

    operations = [
        ValidateConstraint(model_name="ticket", name="ticket_kind_valid"),
    ]
