# Known incidents, and the customers waiting to hear when each is fixed; a ticket filed during
# one is linked to it. Safe while the previous release serves: new tables and a nullable column.

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import tickets.incident_models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0014_attachment_retention"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Incident",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        default=tickets.incident_models.new_incident_reference,
                        editable=False,
                        max_length=12,
                        unique=True,
                        verbose_name="incident reference",
                    ),
                ),
                ("title_zh_hans", models.CharField(max_length=120, verbose_name="title (Chinese)")),
                ("title_en", models.CharField(max_length=120, verbose_name="title (English)")),
                (
                    "message_zh_hans",
                    models.TextField(
                        help_text="What customers notice, what to do meanwhile. No internal details.",
                        max_length=1000,
                        verbose_name="message (Chinese)",
                    ),
                ),
                ("message_en", models.TextField(max_length=1000, verbose_name="message (English)")),
                ("topics", models.JSONField(default=list, verbose_name="affected topics")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("investigating", "Investigating"),
                            ("identified", "Cause identified"),
                            ("monitoring", "Fix applied, monitoring"),
                            ("resolved", "Resolved"),
                        ],
                        default="investigating",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                (
                    "starts_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now,
                        help_text="In the future for planned maintenance: the banner shows from then on.",
                        verbose_name="start",
                    ),
                ),
                (
                    "ends_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Optional. The banner goes at this time by itself; resolve the incident to tell the customers who asked.",
                        null=True,
                        verbose_name="planned end",
                    ),
                ),
                (
                    "resolved_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="resolved"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="last changed")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="posted by",
                    ),
                ),
            ],
            options={
                "verbose_name": "incident",
                "verbose_name_plural": "incidents",
                "ordering": ["-starts_at", "-pk"],
            },
        ),
        migrations.AddField(
            model_name="ticket",
            name="incident",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tickets",
                to="tickets.incident",
                verbose_name="incident",
            ),
        ),
        migrations.CreateModel(
            name="IncidentSubscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email", models.EmailField(max_length=254, verbose_name="email")),
                (
                    "language",
                    models.CharField(default="zh-hans", max_length=8, verbose_name="language"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="asked")),
                (
                    "notified_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="told it is fixed"),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="subscriptions",
                        to="tickets.incident",
                        verbose_name="incident",
                    ),
                ),
            ],
            options={
                "verbose_name": "incident subscription",
                "verbose_name_plural": "incident subscriptions",
                "ordering": ["created_at", "pk"],
            },
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["investigating", "identified", "monitoring", "resolved"])
                ),
                name="incident_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ends_at__isnull", True),
                    ("ends_at__gt", models.F("starts_at")),
                    _connector="OR",
                ),
                name="incident_ends_after_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentsubscription",
            constraint=models.UniqueConstraint(
                models.F("incident"),
                django.db.models.functions.text.Lower("email"),
                name="incident_subscription_once_per_address",
            ),
        ),
    ]
