"""The request as the middleware leaves it, and the one rule for answering with a partial."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """For type checkers: django-htmx adds `htmx`, django-csp adds `csp_nonce`."""

    htmx: HtmxDetails
    csp_nonce: str


def wants_partial(request: HtmxHttpRequest) -> bool:
    """Answer with the template's partial: an htmx swap, but never a history restore (that
    needs the whole page, or Back shows a fragment)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def staff_user(request: HttpRequest) -> User:
    """The signed-in staff member behind an admin request (the admin lets nobody else in)."""
    user = request.user
    if not isinstance(user, User) or not user.is_staff:
        raise PermissionDenied
    return user
