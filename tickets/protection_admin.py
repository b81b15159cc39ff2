"""Admin for the official-channel registry and the reported contacts (tickets/channels.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tickets.channels import official_channel_problem, official_channel_save
from tickets.protection_models import OfficialChannel, ReportedContact


class OfficialChannelForm(forms.ModelForm[OfficialChannel]):
    class Meta:
        model = OfficialChannel
        # No kind to choose: it is read from the value (channels.official_channel_save).
        fields = ["value", "description_zh_hans", "description_en"]

    def clean_value(self) -> str:
        value: str = self.cleaned_data["value"]
        if problem := official_channel_problem(value, exclude_pk=self.instance.pk):
            raise forms.ValidationError(problem)
        return value


@admin.register(OfficialChannel)
class OfficialChannelAdmin(admin.ModelAdmin[OfficialChannel]):
    form = OfficialChannelForm
    list_display = ["value", "kind", "description_en", "check_count"]
    list_filter = ["kind"]
    search_fields = ["value", "normalised", "description_zh_hans", "description_en"]
    readonly_fields = ["kind", "check_count"]

    def save_model(
        self, request: HttpRequest, obj: OfficialChannel, form: object, change: bool
    ) -> None:
        official_channel_save(obj)


@admin.register(ReportedContact)
class ReportedContactAdmin(admin.ModelAdmin[ReportedContact]):
    list_display = [
        "example", "kind", "confirmed_scam", "report_count", "check_count", "last_reported_at",
    ]  # fmt: skip
    list_filter = ["confirmed_scam", "kind"]
    search_fields = ["normalised", "example"]
    readonly_fields = [
        "kind", "normalised", "example", "report_count", "check_count", "first_reported_at",
        "last_reported_at",
    ]  # fmt: skip
    actions = ["confirm_scam"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers report; staff confirm

    @admin.action(description=_("Confirm as a scam (everyone who checks it is warned)"))
    def confirm_scam(self, request: HttpRequest, queryset: QuerySet[ReportedContact]) -> None:
        count = queryset.update(confirmed_scam=True)
        self.message_user(
            request,
            ngettext(
                "%(count)d contact confirmed as a scam.",
                "%(count)d contacts confirmed as scams.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
