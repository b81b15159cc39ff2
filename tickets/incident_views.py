"""Known incidents for customers: the status page, the banner the ticket form asks for when the
topic changes, and "Tell me when it's fixed" (tickets/incident_services.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from faq.models import current_language
from faq.pagecache import cached_page, status_page_state
from tickets.forms import IncidentSubscribeForm
from tickets.incident_models import Incident
from tickets.incident_services import IncidentFixedError, incident_subscribe
from tickets.incidents import IncidentView, open_incidents, status_board
from tickets.models import Topic
from tickets.ratelimit import INCIDENT_PER_EMAIL, INCIDENT_PER_IP, take_all
from wallet_support.clients import client_ip
from wallet_support.htmx import HtmxHttpRequest, wants_partial

BANNER = "includes/incident_banner.html"


@require_safe
@cached_page(variant=status_page_state)
def status_page(request: HtmxHttpRequest) -> HttpResponse:
    """Current, planned and recent incidents. `?subscribed=<reference>` after a sign-up
    without JavaScript says it worked (a query string: never the cached copy)."""
    context = {
        "board": status_board(),
        "subscribed": request.GET.get("subscribed", ""),
        "recent_days": settings.TICKETS_INCIDENT_RECENT_DAYS,
    }
    return TemplateResponse(request, "tickets/status.html", context)


@require_safe
def banner(request: HtmxHttpRequest) -> HttpResponse:
    """The banners of the topic chosen in the ticket form (htmx, when the topic changes)."""
    topic = request.GET.get("topic", "")
    incidents = open_incidents([topic]) if topic in Topic.values else []
    response = TemplateResponse(request, BANNER, {"incidents": incidents, "level": 2})
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_POST
@vary_on_headers("HX-Request")
def subscribe(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    incident = get_object_or_404(Incident, reference=reference)
    form = IncidentSubscribeForm(request.POST)
    refused = False
    if form.is_valid():
        email = form.cleaned_data["email"]
        if take_all((INCIDENT_PER_IP, client_ip(request)), (INCIDENT_PER_EMAIL, email.lower())):
            try:
                incident_subscribe(incident=incident, email=email, language=current_language())
            except IncidentFixedError as error:
                form.add_error("email", error)
            else:
                return _subscribed(request, incident)
        else:
            refused = True
            form.add_error(
                "email", _("Too many attempts. Please wait a few minutes and try again.")
            )
    view = IncidentView.of(incident)
    if wants_partial(request):
        # htmx swaps only a 2xx answer: the errors come back as the form, next to the field.
        return TemplateResponse(request, f"{BANNER}#subscribe", {"incident": view, "form": form})
    board = status_board()
    context = {
        "board": board,
        "subscribe_form": form,
        "subscribe_for": incident.reference,
        # A resolved or ended incident is no longer on the board: its form is shown alone.
        # By reference: this worker's copy of an incident may be older than the database's.
        "subscribe_incident": None
        if any(shown.reference == incident.reference for shown in board.current)
        else view,
        "subscribed": "",
        "recent_days": settings.TICKETS_INCIDENT_RECENT_DAYS,
    }
    return TemplateResponse(request, "tickets/status.html", context, status=429 if refused else 200)


def _subscribed(request: HtmxHttpRequest, incident: Incident) -> HttpResponse:
    if wants_partial(request):
        return TemplateResponse(
            request,
            f"{BANNER}#subscribe",
            {"incident": IncidentView.of(incident), "subscribed": incident.reference},
        )
    query = urlencode({"subscribed": incident.reference})
    return redirect(f"{reverse('incidents:status')}?{query}#incident-{incident.reference}")
