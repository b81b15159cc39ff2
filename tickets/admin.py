"""The support queue in the Django admin. Every change goes through tickets/services.py."""

from __future__ import annotations

import csv
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from tickets import console, services
from tickets.models import (
    CannedReply,
    Deflection,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketQuerySet,
)
from wallet_support.admin_filters import YesNoFilter
from wallet_support.htmx import HtmxHttpRequest, staff_user


def staff_users() -> QuerySet[User]:
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")


class TicketActionForm(ActionForm):
    """Extra choices shown beside the action menu, read by the actions that need them."""

    assignee = forms.ModelChoiceField(
        queryset=staff_users(), required=False, label=_("Assign to"), empty_label=_("(nobody)")
    )
    priority = forms.ChoiceField(
        choices=[("", "—"), *Priority.choices], required=False, label=_("Priority")
    )
    status = forms.ChoiceField(
        choices=[("", "—"), *Status.choices], required=False, label=_("Status")
    )


class QueueFilter(admin.SimpleListFilter):
    """Whose tickets: by default the agent's own open ones and the unassigned new ones."""

    title = _("assignee")
    parameter_name = "queue"
    DEFAULT = "my-queue"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [
            (self.DEFAULT, _("My queue: mine open + unassigned new")),
            ("me", _("Assigned to me")),
            ("unassigned", _("Unassigned")),
            ("anyone", _("Anyone")),
        ]

    def value(self) -> str:
        return super().value() or self.DEFAULT

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=staff_user(request))
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value == "anyone":
            return queryset
        mine_open = Q(assignee=staff_user(request)) & ~Q(status__in=Ticket.FINISHED)
        unassigned_new = Q(assignee__isnull=True, status=Status.NEW)
        return queryset.filter(mine_open | unassigned_new)


class OverdueFilter(YesNoFilter):
    title = _("first response")
    parameter_name = "overdue"
    options = {"yes": (_("Overdue"), None), "no": (_("Not overdue"), None)}

    def keep(self, queryset: QuerySet[Any], yes: bool) -> QuerySet[Any]:
        overdue = Ticket.objects.overdue().values("pk")
        return queryset.filter(pk__in=overdue) if yes else queryset.exclude(pk__in=overdue)


class CannedReplySelect(forms.Select):
    """Each option carries its text, filled in for this ticket, for the insert script."""

    def __init__(self, *args: Any, texts: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.texts = texts or {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        text = self.texts.get(str(value))
        if text is not None:
            option["attrs"]["data-text"] = text
        return option


class TicketAdminForm(forms.ModelForm[Ticket]):
    reply = forms.CharField(
        label=_("Reply"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_("A public reply is e-mailed to the customer; an internal note is not."),
    )
    reply_kind = forms.ChoiceField(
        label=_("Send as"),
        choices=[("public", _("Public reply (e-mailed)")), ("internal", _("Internal note"))],
        initial="public",
        widget=forms.RadioSelect,
    )
    status_after_reply = forms.ChoiceField(
        label=_("Status after the reply"),
        required=False,
        choices=[("", _("Public reply: waiting on customer; note: unchanged")), *Status.choices],
    )
    canned_reply = forms.ModelChoiceField(
        queryset=CannedReply.objects.all(),
        required=False,
        label=_("Insert a canned reply"),
    )

    class Meta:
        model = Ticket
        fields = ["status", "priority", "assignee"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk and "status" in self.changed_data:
            old, new = self.initial["status"], cleaned.get("status")
            if new and not services.can_change_status(old, new):
                self.add_error("status", _("A ticket cannot go from this status to that one."))
        return cleaned


class TicketEventInline(admin.TabularInline[TicketEvent, Ticket]):
    model = TicketEvent
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "actor_label",
        "actor",
        "field",
        "old_value",
        "new_value",
    )
    can_delete = False
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin[Ticket]):
    form = TicketAdminForm
    action_form = TicketActionForm
    list_display = [
        "reference",
        "subject",
        "kind",
        "topic",
        "priority_badge",
        "status_badge",
        "assignee",
        "age",
        "first_response_due_display",
        "updated_at",
        "message_total_display",
    ]
    list_display_links = ["reference", "subject"]
    list_filter = [QueueFilter, "status", "kind", "topic", "priority", OverdueFilter, "channel"]
    list_select_related = ["assignee"]
    list_per_page = 100
    show_full_result_count = False
    view_on_site = False  # the customer's page opens only with their reference and e-mail
    search_fields = ["=reference", "email", "subject", "description", "transaction_reference"]
    actions = [
        "assign_to_me",
        "assign_to_someone",
        "set_priority",
        "set_status",
        "mark_as_spam",
        "export_csv",
    ]
    inlines = [TicketEventInline]
    # What the customer wrote is their words: staff answer it, they do not edit it.
    customer_fields = [
        "reference", "kind", "topic", "channel", "subject", "email", "name", "phone",
        "transaction_reference", "language", "masked_secrets", "satisfaction",
        "satisfaction_comment", "created_at", "updated_at", "first_response_at",
        "first_response_due_display", "resolved_at", "is_spam",
    ]  # fmt: skip
    readonly_fields = [*customer_fields, "conversation"]
    fieldsets = [
        (None, {"fields": ["conversation"]}),
        (
            _("Reply"),
            {"fields": ["canned_reply", "reply", "reply_kind", "status_after_reply"]},
        ),
        (_("Triage"), {"fields": ["status", "priority", "assignee"]}),
        (_("Customer and ticket"), {"fields": tuple(customer_fields), "classes": ["collapse"]}),
    ]

    class Media:
        js = ["js/admin-canned-replies.js"]
        css = {"all": ["css/admin-support.css"]}

    # --- the chat console ------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def staff_only(view: Any) -> Any:
            return self.admin_site.admin_view(view)

        console_views = [
            ("", self.chat_console_view, "chat_console"),
            ("updates/", console.console_updates, "chat_console_updates"),
            ("<int:pk>/take/", console.console_take, "chat_take"),
            ("<int:pk>/send/", console.console_send, "chat_send"),
            ("<int:pk>/hand-over/", console.console_hand_over, "chat_hand_over"),
            ("<int:pk>/end/", console.console_end, "chat_end"),
        ]
        console_urls = [
            path(f"chat-console/{route}", staff_only(view), name=f"tickets_ticket_{name}")
            for route, view, name in console_views
        ]
        return console_urls + super().get_urls()

    def chat_console_view(self, request: HttpRequest) -> HttpResponse:
        admin_context = {
            **self.admin_site.each_context(request),
            "title": _("Chat console"),
            "opts": self.opts,
        }
        return console.console_page(cast(HtmxHttpRequest, request), admin_context)

    # --- queries ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        queryset = cast(TicketQuerySet, super().get_queryset(request))
        return queryset.annotate(message_total=Count("messages")).most_urgent_first()

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return []  # most_urgent_first() orders; a clicked column overrides it

    # --- permissions -----------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from customers, through services.ticket_create

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.assign_ticket")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assignee":
            # Agents take tickets; only leads hand them to someone else.
            users = staff_users()
            kwargs["queryset"] = (
                users
                if self.has_assign_permission(request)
                else users.filter(pk=staff_user(request).pk)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(
        self, request: HttpRequest, obj: Ticket | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Ticket]]:
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "canned_reply" in form.base_fields:
            replies = CannedReply.objects.filter(language=obj.language) or CannedReply.objects.all()
            field = cast(forms.ModelChoiceField[CannedReply], form.base_fields["canned_reply"])
            field.queryset = replies
            field.widget = CannedReplySelect(
                texts={str(reply.pk): reply.render_for(obj) for reply in replies}
            )
        return form

    # --- list columns ----------------------------------------------------------------------

    @admin.display(description=_("priority"), ordering="priority")
    def priority_badge(self, ticket: Ticket) -> SafeString:
        return format_html(
            '<span class="badge priority-{}">{}</span>',
            ticket.priority,
            ticket.get_priority_display(),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, ticket: Ticket) -> SafeString:
        return format_html(
            '<span class="badge status-{}">{}</span>', ticket.status, ticket.get_status_display()
        )

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, ticket: Ticket) -> str:
        return timesince(ticket.created_at, depth=1)

    @admin.display(description=_("first response due"), ordering="created_at")
    def first_response_due_display(self, ticket: Ticket) -> SafeString | str:
        if ticket.first_response_at:
            return format_html('<span class="sla-met">✓ {}</span>', _("answered"))
        due = timezone.localtime(ticket.first_response_due).strftime("%m-%d %H:%M")
        if ticket.is_overdue:
            return format_html('<span class="sla-overdue">{} {}</span>', _("overdue since"), due)
        return due

    @admin.display(description=_("messages"), ordering="message_total")
    def message_total_display(self, ticket: Ticket) -> int:
        return int(getattr(ticket, "message_total", 0))

    @admin.display(description=_("conversation"))
    def conversation(self, ticket: Ticket) -> SafeString:
        messages = list(ticket.messages.select_related("author").prefetch_related("attachments"))
        opening_attachments = [a for a in ticket.attachments.all() if a.message_id is None]
        return render_to_string(
            "admin/tickets/ticket/conversation.html",
            {"ticket": ticket, "messages": messages, "opening_attachments": opening_attachments},
        )

    # --- saving through the services ---------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        ticket = Ticket.objects.get(pk=obj.pk)
        data = form.cleaned_data
        try:
            if "assignee" in form.changed_data:
                services.ticket_assign(
                    ticket=ticket, assignee=data["assignee"], actor=staff_user(request)
                )
            if "priority" in form.changed_data:
                services.ticket_set_priority(
                    ticket=ticket, priority=data["priority"], actor=staff_user(request)
                )
            if "status" in form.changed_data:
                services.ticket_change_status(
                    ticket=ticket, status=data["status"], actor=staff_user(request)
                )
            if data.get("reply", "").strip():
                services.ticket_reply(
                    ticket=ticket,
                    author=staff_user(request),
                    body=data["reply"],
                    internal=data["reply_kind"] == "internal",
                    status_after=data.get("status_after_reply") or None,
                )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)

    # --- actions ---------------------------------------------------------------------------

    def _apply(self, request: HttpRequest, queryset: QuerySet[Ticket], change: Any) -> int:
        done = 0
        for ticket in queryset:
            try:
                change(ticket)
                done += 1
            except ValidationError as error:
                self.message_user(
                    request, f"{ticket.reference}: {' '.join(error.messages)}", messages.WARNING
                )
        return done

    @admin.action(description=_("Assign to me"))
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        done = self._apply(
            request,
            queryset,
            lambda t: services.ticket_assign(
                ticket=t, assignee=staff_user(request), actor=staff_user(request)
            ),
        )
        self.message_user(request, _("%(count)d ticket(s) assigned to you.") % {"count": done})

    @admin.action(
        description=_("Assign to the person chosen beside the action"), permissions=["assign"]
    )
    def assign_to_someone(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        form = TicketActionForm(request.POST)
        form.is_valid()
        assignee = form.cleaned_data.get("assignee")
        done = self._apply(
            request,
            queryset,
            lambda t: services.ticket_assign(
                ticket=t, assignee=assignee, actor=staff_user(request)
            ),
        )
        self.message_user(request, _("%(count)d ticket(s) reassigned.") % {"count": done})

    def _set_choice(
        self, request: HttpRequest, queryset: QuerySet[Ticket], field: str, choices: Any
    ) -> None:
        """Apply the priority or status chosen beside the action menu, through the services."""
        value = request.POST.get(field, "")
        if value not in choices.values:
            self.message_user(
                request, _("Choose a value beside the action first."), messages.WARNING
            )
            return
        change = {
            "priority": lambda t: services.ticket_set_priority(
                ticket=t, priority=value, actor=staff_user(request)
            ),
            "status": lambda t: services.ticket_change_status(
                ticket=t, status=value, actor=staff_user(request)
            ),
        }[field]
        done = self._apply(request, queryset, change)
        self.message_user(request, _("%(count)d ticket(s) changed.") % {"count": done})

    @admin.action(description=_("Set the priority chosen beside the action"))
    def set_priority(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_choice(request, queryset, "priority", Priority)

    @admin.action(description=_("Set the status chosen beside the action"))
    def set_status(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_choice(request, queryset, "status", Status)

    @admin.action(description=_("Mark as spam (closes them)"))
    def mark_as_spam(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        done = self._apply(
            request,
            queryset,
            lambda t: services.ticket_mark_spam(ticket=t, actor=staff_user(request)),
        )
        self.message_user(request, _("%(count)d ticket(s) marked as spam.") % {"count": done})

    @admin.action(description=_("Export to CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="tickets.csv"'
        response.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
        writer = csv.writer(response)
        columns = ["reference", "created_at", "kind", "topic", "priority", "status", "channel",
                   "subject", "email", "transaction_reference", "first_response_at",
                   "resolved_at", "satisfaction"]  # fmt: skip
        writer.writerow([*columns, "assignee", "messages"])
        for ticket in queryset:
            row = [getattr(ticket, column) for column in columns]
            # A cell starting with = + - @ would run as a formula in a spreadsheet.
            row = [f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row]
            writer.writerow([*row, ticket.assignee or "", getattr(ticket, "message_total", 0)])
        return response


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin[CannedReply]):
    list_display = ["title", "language"]
    list_filter = ["language"]
    search_fields = ["title", "body"]


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin[Deflection]):
    list_display = ["article", "created_at"]
    list_select_related = ["article"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
