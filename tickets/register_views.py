"""/admin/tickets/register/: the complaints received in a date range, for a regulator or an
auditor, as a printable page and as CSV. Leads only (view_support_analytics)."""

from __future__ import annotations

import csv
from datetime import date

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets import register
from tickets.history import csv_cell
from tickets.models import Ticket


class RangeForm(forms.Form):
    # "from" is a Python keyword, so the fields are named for the query string in the view.
    first = forms.DateField(label=gettext_lazy("From"))
    last = forms.DateField(label=gettext_lazy("To"))

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("first"), cleaned.get("last")
        if isinstance(first, date) and isinstance(last, date) and first > last:
            self.add_error("last", _("The end date is before the start date."))
        return cleaned


def _form(request: HttpRequest) -> RangeForm:
    today = register.beijing_date(timezone.now())
    if "from" not in request.GET and "to" not in request.GET:
        return RangeForm({"first": today.replace(day=1).isoformat(), "last": today.isoformat()})
    return RangeForm({"first": request.GET.get("from", ""), "last": request.GET.get("to", "")})


def register_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("tickets.view_support_analytics"):
        raise PermissionDenied
    form = _form(request)
    rows: list[list[str]] = []
    if form.is_valid():
        first, last = form.cleaned_data["first"], form.cleaned_data["last"]
        rows = register.rows(Ticket.objects.complaints_received_between(first, last))
        if request.GET.get("format") == "csv":
            return _as_csv(rows, first, last)
    context = {
        **admin.site.each_context(request),
        "title": _("Complaint register"),
        "form": form,
        "columns": register.column_labels(),
        "rows": rows,
    }
    return TemplateResponse(request, "admin/tickets/register.html", context)


def _as_csv(rows: list[list[str]], first: date, last: date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"complaints-{first.isoformat()}-{last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # spreadsheet programs then read the Chinese as UTF-8
    writer = csv.writer(response)
    writer.writerow(register.column_labels())
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response
