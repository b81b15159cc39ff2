"""The registry behind "Is this really OK Wallet?" (tickets/channels.py): our official channels,
and the contacts customers reported as impostors.

In a module of its own, imported at the end of tickets/models.py so that Django registers it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    PHONE = "phone", _("Phone number")
    WEB = "web", _("Web address")
    EMAIL = "email", _("E-mail sender")
    HANDLE = "handle", _("WeChat, Weibo or app name")


class OfficialChannel(models.Model):
    """One of our channels, kept by staff. The ones in the settings (hotline, support e-mail,
    WeChat, Weibo, the site's domain) are official without a row: see channels.official_channels."""

    kind = models.CharField(_("kind"), max_length=8, choices=ChannelKind)
    value = models.CharField(
        _("value"),
        max_length=200,
        help_text=_("As customers see it: 400-000-0000, okwallet.example, @OKWallet."),
    )
    normalised = models.CharField(max_length=200, editable=False, db_index=True)
    description_zh_hans = models.CharField(_("what it is (Chinese)"), max_length=200)
    description_en = models.CharField(_("what it is (English)"), max_length=200)
    check_count = models.PositiveIntegerField(_("checked"), default=0, editable=False)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("official channel")
        verbose_name_plural = _("official channels")
        constraints = [
            models.UniqueConstraint(fields=["kind", "normalised"], name="official_channel_once")
        ]

    def __str__(self) -> str:
        return self.value


class ReportedContact(models.Model):
    """A contact customers reported. Staff confirm it, and from then on everyone who checks it
    is told it is a known scam."""

    kind = models.CharField(_("kind"), max_length=8, choices=ChannelKind)
    normalised = models.CharField(_("contact"), max_length=200)
    example = models.CharField(
        _("as reported"), max_length=200, help_text=_("The first report's text, masked.")
    )
    confirmed_scam = models.BooleanField(
        _("confirmed scam"),
        default=False,
        help_text=_("Confirmed: everyone who checks this contact is told it is a known scam."),
    )
    check_count = models.PositiveIntegerField(_("checked"), default=0, editable=False)
    report_count = models.PositiveIntegerField(_("reported"), default=0, editable=False)
    first_reported_at = models.DateTimeField(_("first reported"), auto_now_add=True)
    last_reported_at = models.DateTimeField(_("last reported"), auto_now=True)

    class Meta:
        ordering = ["-confirmed_scam", "-report_count", "-last_reported_at"]
        verbose_name = _("reported contact")
        verbose_name_plural = _("reported contacts")
        constraints = [
            models.UniqueConstraint(fields=["kind", "normalised"], name="reported_contact_once")
        ]

    def __str__(self) -> str:
        return self.example or self.normalised


class EmailCode(models.Model):
    """The authenticity code an e-mail of ours carries (OKV-7KQ2-M9XD). Entered in the
    checker, it says when we sent that e-mail, to whom (masked) and about which ticket: a
    phishing copy cannot carry a code we issued for that customer."""

    code = models.CharField(_("code"), max_length=13, unique=True)
    # The e-mail's key across its retries (tickets.tasks): one code per e-mail, not per attempt.
    key = models.CharField(max_length=64, unique=True)
    reference = models.CharField(_("ticket"), max_length=12)
    sent_to = models.CharField(_("sent to"), max_length=254, help_text=_("Masked."))
    template = models.CharField(_("e-mail"), max_length=40)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("e-mail authenticity code")
        verbose_name_plural = _("e-mail authenticity codes")

    def __str__(self) -> str:
        return self.code
