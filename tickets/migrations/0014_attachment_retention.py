# Attachments kept only as long as needed: the row of a file the retention rule removed stays,
# with when the file went; every staff view of a file is recorded.
# Safe while the previous release serves: a nullable column and a new table.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0013_transaction_details"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="file deleted"),
        ),
        migrations.CreateModel(
            name="AttachmentAccess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("username", models.CharField(max_length=150, verbose_name="user name")),
                ("inline", models.BooleanField(default=False, verbose_name="viewed in the page")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="when")),
                (
                    "attachment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="accesses",
                        to="tickets.attachment",
                        verbose_name="attachment",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="staff member",
                    ),
                ),
            ],
            options={
                "verbose_name": "attachment access",
                "verbose_name_plural": "attachment accesses",
                "ordering": ["created_at", "id"],
            },
        ),
    ]
