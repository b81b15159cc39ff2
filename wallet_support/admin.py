from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _


class SupportAdminSite(admin.AdminSite):
    """The admin with the support queue at a glance on its home page."""

    site_header = _("OK Wallet Support")
    site_title = _("OK Wallet Support")
    index_title = _("Support desk")

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        from tickets.stats import queue_summary

        extra_context = extra_context or {}
        if request.user.has_perm("tickets.view_ticket"):
            extra_context["queue"] = queue_summary()
        extra_context["can_chat"] = request.user.has_perm("tickets.change_ticket")
        extra_context["can_see_analytics"] = request.user.has_perm("tickets.view_support_analytics")
        return super().index(request, extra_context)

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from tickets.register_views import register_page
        from tickets.reports_views import reports_page

        reports = path("reports/", self.admin_view(reports_page), name="support_reports")
        # Before the tickets app's URLs, which would read "register" as a ticket's id.
        complaints = path(
            "tickets/register/", self.admin_view(register_page), name="complaint_register"
        )
        return [reports, complaints, *super().get_urls()]


class SupportAdminConfig(AdminConfig):
    default_site = "wallet_support.admin.SupportAdminSite"

    def ready(self) -> None:
        super().ready()
        from wallet_support import checks  # noqa: F401 - registers the deploy checks
