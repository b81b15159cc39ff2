"""Known incidents (an outage, a delay at a bank, planned maintenance) and the customers who
asked to hear when one is fixed.

Leads post them in the admin; the status page, the banners (templates/includes/
incident_banner.html) and the ticket form read them through tickets/incidents.py; every write
goes through tickets/incident_services.py. In a module of its own, imported at the end of
tickets/models.py so that Django registers it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wallet_support.db import choices_constraint


def new_incident_reference() -> str:
    """IN-7KQ2-M9XD: the shape of a ticket's reference, so an e-mail about an incident carries
    one the checker can name (tickets/channels.py)."""
    from tickets.models import new_reference

    return new_reference("IN")


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Cause identified")
    MONITORING = "monitoring", _("Fix applied, monitoring")
    RESOLVED = "resolved", _("Resolved")


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open_at(self, now: datetime) -> IncidentQuerySet:
        """Not resolved, begun, and its planned end (if any) not passed."""
        return (
            self.exclude(status=IncidentStatus.RESOLVED)
            .filter(starts_at__lte=now)
            .filter(models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now))
        )

    def still_relevant(self, now: datetime) -> IncidentQuerySet:
        """What pages may show: open, planned, or finished in the last
        TICKETS_INCIDENT_RECENT_DAYS."""
        cutoff = now - timedelta(days=settings.TICKETS_INCIDENT_RECENT_DAYS)
        unresolved = ~models.Q(status=IncidentStatus.RESOLVED) & (
            models.Q(ends_at__isnull=True) | models.Q(ends_at__gte=cutoff)
        )
        return self.filter(
            unresolved | models.Q(status=IncidentStatus.RESOLVED, resolved_at__gte=cutoff)
        )


class Incident(models.Model):
    Status = IncidentStatus

    reference = models.CharField(
        _("incident reference"),
        max_length=12,
        unique=True,
        default=new_incident_reference,
        editable=False,
    )
    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    message_zh_hans = models.TextField(
        _("message (Chinese)"),
        max_length=1000,
        help_text=_("What customers notice, what to do meanwhile. No internal details."),
    )
    message_en = models.TextField(_("message (English)"), max_length=1000)
    # Ticket topics (tickets.models.Topic); the help categories follow from them
    # (tickets.models.TOPIC_OF_CATEGORY).
    topics = models.JSONField(_("affected topics"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=IncidentStatus, default=IncidentStatus.INVESTIGATING
    )
    starts_at = models.DateTimeField(
        _("start"),
        default=timezone.now,
        help_text=_("In the future for planned maintenance: the banner shows from then on."),
    )
    ends_at = models.DateTimeField(
        _("planned end"),
        null=True,
        blank=True,
        help_text=_(
            "Optional. The banner goes at this time by itself; resolve the incident to tell "
            "the customers who asked."
        ),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("posted by"),
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            choices_constraint("status", IncidentStatus, "incident_status_valid"),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="incident_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title_en or self.title_zh_hans

    @property
    def is_resolved(self) -> bool:
        return self.status == IncidentStatus.RESOLVED

    def is_open_at(self, now: datetime) -> bool:
        return (
            not self.is_resolved
            and self.starts_at <= now
            and (self.ends_at is None or now < self.ends_at)
        )


class IncidentSubscription(models.Model):
    """ "Tell me when it's fixed": one address, e-mailed once when the incident is resolved
    (notified_at is set in the same statement that claims it: incident_services)."""

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("incident"),
    )
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8, default=settings.LANGUAGE_CODE)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    notified_at = models.DateTimeField(_("told it is fixed"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("incident subscription")
        verbose_name_plural = _("incident subscriptions")
        constraints = [
            models.UniqueConstraint(
                "incident", Lower("email"), name="incident_subscription_once_per_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.email}"
