import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

# Searches are written in batches (faq.searchlog): each has a random key, carried in its token,
# so it can be found before its row exists. The key is nullable (old rows, and the old code
# still inserting while this release starts, have none); updated_at has a database default for
# the same reason. created_at's change (auto_now_add -> default) is Python-only.


class Migration(migrations.Migration):
    dependencies = [
        ("faq", "0006_historicalarticle"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchquery",
            name="key",
            field=models.CharField(editable=False, max_length=16, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="searchquery",
            name="updated_at",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="last refined",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="searchquery",
                    name="created_at",
                    field=models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="searched at"
                    ),
                ),
            ],
        ),
    ]
