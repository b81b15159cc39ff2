from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Complaints and suggestions")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_sync_support_groups, sender=self)


def _sync_support_groups(sender: AppConfig, apps: Any = None, **kwargs: Any) -> None:
    # After every migrate: permissions of models added since the data migration are granted.
    from django.apps import apps as installed_apps

    from tickets.roles import sync_groups

    sync_groups(apps or installed_apps)
