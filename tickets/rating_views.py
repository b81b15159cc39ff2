"""Satisfaction from the resolving e-mail: a click on a score opens the rating page with that
score chosen, with no login (the signed link is the proof); sending it records the rating, with
a comment if the customer likes. The click itself records nothing: mail scanners (Safe Links,
Mimecast) open every link of an e-mail, and would rate first, with the first link."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST, require_safe

from tickets.emails import RATINGS, read_rating_token
from tickets.forms import RatingForm
from tickets.models import Ticket
from tickets.services import ticket_rate


def _ticket_of(token: str) -> Ticket | None:
    reference = read_rating_token(token)
    return Ticket.objects.filter(reference=reference).first() if reference else None


def _render(request: HttpRequest, status: int = 200, **context: object) -> TemplateResponse:
    return TemplateResponse(request, "tickets/rate.html", context, status=status)


def _form_for(ticket: Ticket) -> RatingForm:
    return RatingForm(
        initial={"rating": ticket.satisfaction, "comment": ticket.satisfaction_comment}
    )


@require_safe
def rate_click(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """The click in the e-mail. The first click counts; a second one (or another score)
    changes nothing by itself: the page shows what counts and offers to change it."""
    ticket = _ticket_of(token)
    if ticket is None or score not in RATINGS:
        return _render(request, status=400, invalid=True)
    if not ticket.is_finished:
        return _render(request, ticket=ticket, reopened=True)
    first = ticket.satisfaction is None
    form = RatingForm(initial={"rating": score}) if first else _form_for(ticket)
    return _render(request, ticket=ticket, token=token, form=form, first=first, chosen=score)


@require_POST
def rate_comment(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_of(token)
    if ticket is None:
        return _render(request, status=400, invalid=True)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            ticket_rate(
                ticket=ticket,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("tickets:rate-thanks", token)
    # An invalid form comes back with its errors (200, so htmx would swap it too).
    return _render(request, ticket=ticket, token=token, form=form)


@require_safe
def rate_thanks(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_of(token)
    if ticket is None:
        return _render(request, status=400, invalid=True)
    return _render(request, ticket=ticket, thanks=True)
