"""/admin/reports/: the leads' reports, each a chart drawn on the server with its table, and
each table as CSV."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from tickets import reports
from tickets.history import csv_cell


def reports_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("tickets.view_support_analytics"):
        raise PermissionDenied
    raw_days = request.GET.get("days", "")
    days = int(raw_days) if raw_days.isdecimal() and int(raw_days) in reports.PERIODS else 30
    all_reports = reports.cached_reports(days)
    wanted = request.GET.get("csv")
    if wanted:
        report = next((r for r in all_reports if r.key == wanted), None)
        if report is None:
            raise Http404
        return _as_csv(report, days)
    context = {
        **admin.site.each_context(request),
        "title": _("Support reports"),
        "reports": all_reports,
        "days": days,
        "periods": reports.PERIODS,
    }
    return TemplateResponse(request, "admin/reports.html", context)


def _as_csv(report: reports.Report, days: int) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report.key}-{days}d.csv"'
    response.write("\ufeff")  # spreadsheet programs then read the Chinese as UTF-8
    writer = csv.writer(response)
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response
