"""Deploy checks for what would fail quietly in production: links to localhost in every
e-mail, and e-mail that goes to the console instead of the customer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

NOT_DELIVERED = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


@register(Tags.security, deploy=True)
def check_site_url_and_email(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    site = urlsplit(settings.SITE_URL)
    if site.scheme not in {"http", "https"} or not site.netloc:
        errors.append(
            Error(
                "DJANGO_SITE_URL is not set to the site's public address.",
                hint="e.g. DJANGO_SITE_URL=https://help.example.com: e-mailed links and the "
                "canonical links are built from it, never from the request's Host.",
                id="wallet_support.E001",
            )
        )
    elif site.hostname in {"127.0.0.1", "localhost", "::1"}:
        errors.append(
            Error(
                f"DJANGO_SITE_URL points at this machine ({settings.SITE_URL}).",
                hint="Customers would get links to localhost in every e-mail.",
                id="wallet_support.E002",
            )
        )
    if settings.EMAIL_BACKEND in NOT_DELIVERED:
        errors.append(
            Error(
                f"E-mail is not delivered: EMAIL_BACKEND is {settings.EMAIL_BACKEND}.",
                hint="Set DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
                "the DJANGO_EMAIL_* variables.",
                id="wallet_support.E003",
            )
        )
    return errors
