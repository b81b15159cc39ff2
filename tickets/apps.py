from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Complaints and suggestions")

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        # After the last app's post_migrate: by then every app's permissions exist (axes'
        # come after ours), so the roles get all of theirs on the first migrate too.
        last_app = list(apps.get_app_configs())[-1]
        post_migrate.connect(_sync_support_groups, sender=last_app)

        from django.db.models.signals import post_delete

        from tickets.files import attachment_deleted

        # A signal, not a service: the admin, a ticket's cascade and QuerySet.delete() all
        # delete attachments without tickets/services.py.
        post_delete.connect(attachment_deleted, sender="tickets.Attachment", dispatch_uid="files")

        from django.db.models.signals import post_save

        # Incidents show on cached pages (tickets/incidents.py): every worker must drop its
        # copies, at once and again on commit (as faq's content does, faq/apps.py). A signal,
        # so that the admin's delete and a test's factory count too.
        for signal in (post_save, post_delete):
            signal.connect(_incident_changed, sender="tickets.Incident", dispatch_uid="incidents")


def _incident_changed(**kwargs: Any) -> None:
    from django.db import transaction

    from faq import pagecache

    pagecache.bump_version()
    transaction.on_commit(pagecache.bump_version)


def _sync_support_groups(sender: AppConfig, apps: Any = None, **kwargs: Any) -> None:
    # After every migrate: permissions of models added since the data migration are granted.
    from django.apps import apps as installed_apps

    from tickets.roles import sync_groups

    sync_groups(apps or installed_apps)
