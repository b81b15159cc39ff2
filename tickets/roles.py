"""The two support roles and what each may do. One definition, used by the data migration
and re-applied after every migrate (so permissions of models added later are granted too)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet

AGENT = "Support agent"
LEAD = "Support lead"

AGENT_PERMISSIONS = [
    ("tickets", "view_ticket"),
    ("tickets", "change_ticket"),
    ("tickets", "view_message"),
    ("tickets", "add_message"),
    ("tickets", "view_attachment"),
    ("tickets", "view_ticketevent"),
    ("tickets", "view_cannedreply"),
    # Personal macros: the admin lets an agent change only her own (tickets/admin.py).
    *[("tickets", f"{action}_macro") for action in ("view", "add", "change", "delete")],
    ("tickets", "view_tag"),
    # Known incidents: agents see them (and the tickets linked to each); leads post them.
    ("tickets", "view_incident"),
    ("faq", "view_category"),
    ("faq", "view_article"),
    ("faq", "view_securitynotice"),
]

LEAD_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    ("tickets", "assign_ticket"),
    ("tickets", "delete_ticket"),
    ("tickets", "view_support_analytics"),
    ("tickets", "view_deflection"),
    ("tickets", "add_cannedreply"),
    ("tickets", "change_cannedreply"),
    ("tickets", "delete_cannedreply"),
    ("tickets", "manage_shared_macros"),
    ("tickets", "add_tag"),
    ("tickets", "change_tag"),
    ("tickets", "delete_tag"),
    *[
        ("faq", f"{action}_{model}")
        for model in ("category", "article", "securitynotice")
        for action in ("add", "change", "delete")
    ],
    ("faq", "view_articlefeedback"),
    ("tickets", "add_incident"),
    ("tickets", "change_incident"),
    # "Is this really OK Wallet?": the registry of our channels, and reported impostors.
    ("tickets", "add_officialchannel"),
    ("tickets", "change_officialchannel"),
    ("tickets", "delete_officialchannel"),
    ("tickets", "view_officialchannel"),
    ("tickets", "view_reportedcontact"),
    ("tickets", "change_reportedcontact"),
    # Unlocking an agent locked out by wrong passwords (django-axes): delete the attempts.
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("axes", "view_accessfailurelog"),
    ("faq", "view_searchquery"),
    # Learned synonyms: a lead accepts or rejects what the search log suggests.
    ("faq", "view_synonymsuggestion"),
    ("faq", "change_synonymsuggestion"),
]

ROLES = {AGENT: AGENT_PERMISSIONS, LEAD: LEAD_PERMISSIONS}
ROLE_BY_NAME = {"agent": AGENT, "lead": LEAD}


def sync_groups(apps: Any) -> None:
    """Create both groups and give each exactly its permissions (those that exist yet)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, wanted in ROLES.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        permissions = [
            permission
            for app_label, codename in wanted
            for permission in Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        ]
        group.permissions.set(permissions)


def chat_agents() -> QuerySet[Any]:
    """Active staff who may answer chats (tickets.change_ticket): whom a chat can go to."""
    permission = Permission.objects.filter(
        content_type__app_label="tickets", codename="change_ticket"
    )
    return (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=permission)
            | Q(user_permissions__in=permission)
        )
        .distinct()
        .order_by("first_name", "username")
    )
