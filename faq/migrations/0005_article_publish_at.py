from django.db import migrations, models

# Nullable, no default: added in place, no table rewrite; the old code never reads it.


class Migration(migrations.Migration):
    dependencies = [
        ("faq", "0004_article_translation_outdated_since"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="publish_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "To publish later, keep the status Draft and set the time: the article "
                    "goes live then. Leave empty and choose Published to publish now."
                ),
                null=True,
                verbose_name="publish at",
            ),
        ),
    ]
