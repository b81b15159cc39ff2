from django.db import migrations, models

# A nullable column without a default: SQLite and PostgreSQL add it in place (no table
# rewrite), and the code still serving before this release simply never reads it.


class Migration(migrations.Migration):
    dependencies = [
        ("faq", "0003_synonym_suggestions"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="translation_outdated_since",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                null=True,
                verbose_name="translation needs update since",
            ),
        ),
    ]
