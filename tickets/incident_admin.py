"""Admin for known incidents: leads post and update them (tickets/roles.py), agents see them
with the tickets filed about each; once resolved, the linked tickets are answered at once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tickets.incident_models import Incident, IncidentSubscription
from tickets.incident_services import incident_answer_tickets, incident_resolve, incident_save
from tickets.models import Message, Ticket, Topic

LINKED_SHOWN = 200  # tickets listed on the incident's page; the count says how many in all


class IncidentForm(forms.ModelForm[Incident]):
    topics = forms.MultipleChoiceField(
        label=gettext_lazy("Affected topics"),
        choices=Topic.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "The banner shows on the ticket form for these topics, on the articles of their "
            "help categories, on the home page and at the chat. Tickets filed on them while "
            "it is open are linked to it."
        ),
        error_messages={"required": gettext_lazy("Choose at least one affected topic.")},
    )

    class Meta:
        model = Incident
        fields = [
            "title_zh_hans", "title_en", "message_zh_hans", "message_en", "topics", "status",
            "starts_at", "ends_at",
        ]  # fmt: skip


# A reply is a ticket message: longer is refused here, once, not by each ticket in turn.
REPLY_MAX_LENGTH = Message._meta.get_field("body").max_length


class AnswerTicketsForm(forms.Form):
    body_zh_hans = forms.CharField(
        label=gettext_lazy("Reply (Chinese)"),
        widget=forms.Textarea,
        required=False,
        max_length=REPLY_MAX_LENGTH,
    )
    body_en = forms.CharField(
        label=gettext_lazy("Reply (English)"),
        widget=forms.Textarea,
        required=False,
        max_length=REPLY_MAX_LENGTH,
    )
    resolve = forms.BooleanField(
        label=gettext_lazy("Resolve each ticket with the reply"), required=False, initial=True
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        too_long = self.has_error("body_zh_hans") or self.has_error("body_en")
        written = cleaned.get("body_zh_hans", "").strip() or cleaned.get("body_en", "").strip()
        if not (too_long or written):
            raise ValidationError(
                _("Write the reply in at least one language: it goes to every customer.")
            )
        return cleaned


def _count_per_incident(model: type[Ticket] | type[IncidentSubscription]) -> Coalesce:
    rows = (
        model._default_manager.filter(incident=OuterRef("pk"))
        .order_by()
        .values("incident")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    form = IncidentForm
    list_display = [
        "__str__", "status", "starts_at", "ends_at", "topic_list", "ticket_count",
        "subscriber_count",
    ]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["reference", "title_zh_hans", "title_en"]
    readonly_fields = [
        "reference", "resolved_at", "created_by", "subscriber_count", "linked_tickets",
    ]  # fmt: skip
    actions = ["resolve"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        # Two subqueries, not two joins: joined, a big outage's tickets × its subscribers
        # would be counted row by row (thousands × thousands) on every list and change page.
        return (
            super()
            .get_queryset(request)
            .annotate(
                linked_count=_count_per_incident(Ticket),
                subscriber_total=_count_per_incident(IncidentSubscription),
            )
        )

    @admin.display(description=gettext_lazy("topics"))
    def topic_list(self, incident: Incident) -> str:
        return ", ".join(str(Topic(topic).label) for topic in incident.topics if topic in Topic)

    @admin.display(description=gettext_lazy("tickets"), ordering="linked_count")
    def ticket_count(self, incident: Incident) -> int:
        return int(getattr(incident, "linked_count", 0))

    @admin.display(description=gettext_lazy("waiting to hear"))
    def subscriber_count(self, incident: Incident) -> int:
        total = getattr(incident, "subscriber_total", None)
        return int(total) if total is not None else incident.subscriptions.count()

    @admin.display(description=gettext_lazy("linked tickets"))
    def linked_tickets(self, incident: Incident) -> SafeString | str:
        if not incident.pk:
            return "—"
        tickets = list(
            incident.tickets.order_by("-created_at").only(
                "pk", "reference", "subject", "status", "created_at"
            )[:LINKED_SHOWN]
        )
        if not tickets:
            return _("No ticket was filed on its topics while it was open.")
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> · {} · {}</li>',
            (
                (
                    reverse("admin:tickets_ticket_change", args=[ticket.pk]),
                    ticket.reference,
                    ticket.subject,
                    ticket.get_status_display(),
                )
                for ticket in tickets
            ),
        )
        answer = ""
        if incident.is_resolved:
            answer = format_html(
                '<p><a class="button" href="{}">{}</a></p>',
                reverse("admin:tickets_incident_answer", args=[incident.pk]),
                _("Answer all these tickets"),
            )
        return format_html("<ul>{}</ul>{}", rows, answer)

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        incident_save(incident=obj, actor=request.user)  # type: ignore[arg-type]

    @admin.action(
        description=gettext_lazy("Resolve (tell everyone waiting to hear)"),
        permissions=["change"],
    )
    def resolve(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        count = 0
        for incident in queryset:
            if not incident.is_resolved:
                incident_resolve(incident=incident, actor=request.user)  # type: ignore[arg-type]
                count += 1
        self.message_user(
            request,
            ngettext("%(count)d incident resolved.", "%(count)d incidents resolved.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    # --- answering every linked ticket at once ----------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        answer = path(
            "<int:pk>/answer-tickets/",
            self.admin_site.admin_view(self.answer_tickets_view),
            name="tickets_incident_answer",
        )
        return [answer, *super().get_urls()]

    def answer_tickets_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not (
            self.has_change_permission(request) and request.user.has_perm("tickets.change_ticket")
        ):
            raise PermissionDenied
        incident = get_object_or_404(Incident, pk=pk)
        change_url = reverse("admin:tickets_incident_change", args=[incident.pk])
        form = AnswerTicketsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = incident_answer_tickets(
                    incident=incident,
                    actor=request.user,  # type: ignore[arg-type]
                    body_zh_hans=form.cleaned_data["body_zh_hans"],
                    body_en=form.cleaned_data["body_en"],
                    resolve=form.cleaned_data["resolve"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d ticket answered.", "%(count)d tickets answered.",
                        len(outcome.answered),
                    ) % {"count": len(outcome.answered)},
                    messages.SUCCESS,
                )  # fmt: skip
                for ticket, reason in outcome.failed:
                    self.message_user(request, f"{ticket.reference}: {reason}", messages.ERROR)
                return HttpResponseRedirect(change_url)
        open_tickets = incident.tickets.active().not_spam()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Answer the tickets of “%(incident)s”") % {"incident": incident},
            "opts": self.opts,
            "incident": incident,
            "form": form,
            "open_count": open_tickets.count(),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/tickets/incident/answer_tickets.html", context)
