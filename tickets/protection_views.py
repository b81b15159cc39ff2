"""Pages that protect a wallet's customers: "Is this really OK Wallet?" (the official-channel
checker, tickets/channels.py) and the emergency lane for a stolen account."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from faq.models import current_language
from faq.pagecache import cached_page, hotline_state
from tickets.access import grant_access
from tickets.availability import chat_is_open, next_opening
from tickets.channels import check
from tickets.forms import EmergencyForm, ScamReportForm, VerifyForm
from tickets.ratelimit import TICKET_PER_EMAIL, TICKET_PER_IP, Limit, take_all
from tickets.services import emergency_report_create, scam_report_create
from tickets.views import SUBMITTED_SESSION_KEY
from wallet_support.clients import client_ip
from wallet_support.htmx import HtmxHttpRequest

REPORTED_SESSION_KEY = "protection_reported"


def _limits(request: HtmxHttpRequest, email: str) -> list[tuple[Limit, str]]:
    hits = [(TICKET_PER_IP, client_ip(request))]
    if email:
        hits.append((TICKET_PER_EMAIL, email))
    return hits


def _verify_page(
    request: HtmxHttpRequest,
    query: dict[str, str] | None,
    report_form: ScamReportForm | None = None,
    status: int = 200,
) -> TemplateResponse:
    form = VerifyForm(query)
    result = check(form.cleaned_data["q"], current_language()) if form.is_valid() else None
    if result is not None and report_form is None:
        report_form = ScamReportForm(initial={"reported": form.cleaned_data["q"]})
    context = {
        "form": form,
        "result": result,
        "report_form": report_form,
        "reported": request.session.pop(REPORTED_SESSION_KEY, None),
        "refused": status == 429,
    }
    return TemplateResponse(request, "tickets/verify.html", context, status=status)


@require_safe
@cached_page()
def verify(request: HtmxHttpRequest) -> HttpResponse:
    return _verify_page(request, request.GET if "q" in request.GET else None)


@require_POST
def verify_report(request: HtmxHttpRequest) -> HttpResponse:
    form = ScamReportForm(request.POST)
    # The page is shown again for the value reported, with what was typed.
    query = {"q": request.POST.get("reported", "")}
    if not form.is_valid():
        return _verify_page(request, query, form)
    data = form.cleaned_data
    if not take_all(*_limits(request, data["email"])):
        return _verify_page(request, query, form, status=429)
    ticket = scam_report_create(
        reported=data["reported"],
        what_happened=data["what_happened"],
        email=data["email"],
        language=current_language(),
    )
    request.session[REPORTED_SESSION_KEY] = ticket.reference
    if data["email"]:
        grant_access(request, ticket)
    return redirect(f"{reverse('protection:verify')}?{urlencode({'q': data['reported']})}")


@require_http_methods(["GET", "HEAD", "POST"])
@cached_page(variant=hotline_state)
def emergency(request: HtmxHttpRequest) -> HttpResponse:
    form = EmergencyForm(request.POST or None)
    refused = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if take_all(*_limits(request, data["email"])):
            ticket = emergency_report_create(
                phone=data["phone"],
                email=data["email"],
                what_happened=data["what_happened"],
                when=data["when"],
                language=current_language(),
            )
            request.session[SUBMITTED_SESSION_KEY] = ticket.reference
            grant_access(request, ticket)
            return redirect("tickets:submitted")
        refused = True
    context = {
        "form": form,
        "refused": refused,
        "hotline_open": chat_is_open(),
        "opens_at": next_opening(),
        "hotline": settings.SUPPORT_HOTLINE,
    }
    return TemplateResponse(
        request, "tickets/emergency.html", context, status=429 if refused else 200
    )
