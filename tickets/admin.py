"""The staff side of tickets. Every change goes through tickets/services.py."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from tickets.models import Deflection, Message, Ticket, TicketEvent


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["created_at", "author_type", "author", "is_internal", "body"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["created_at", "actor_label", "actor", "field", "old_value", "new_value"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "kind",
        "topic",
        "priority",
        "status",
        "created_at",
        "messages_count",
    ]
    list_filter = ["status", "kind", "topic", "priority", "channel"]
    search_fields = ["reference", "email", "subject", "description", "transaction_reference"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, TicketEventInline]
    # What the customer wrote is their words: staff answer it, they do not edit it.
    readonly_fields = [
        "reference", "kind", "topic", "channel", "status", "subject", "description", "email",
        "name", "phone", "transaction_reference", "language", "masked_secrets", "satisfaction",
        "satisfaction_comment", "created_at", "updated_at", "first_response_at", "resolved_at",
        "attachment_links",
    ]  # fmt: skip
    exclude = ["assignee", "priority"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).annotate(message_total=Count("messages"))

    @admin.display(description=_("messages"), ordering="message_total")
    def messages_count(self, ticket: Ticket) -> int:
        return ticket.message_total

    @admin.display(description=_("attachments"))
    def attachment_links(self, ticket: Ticket) -> SafeString | str:
        attachments = ticket.attachments.all()
        if not attachments:
            return "—"
        return format_html_join(
            format_html("<br>"),
            '<a href="{}">{}</a> ({} KB)',
            ((a.get_absolute_url(), a.original_name, a.size // 1024 + 1) for a in attachments),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from customers, through tickets.services.ticket_create


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ["article", "created_at"]
    list_select_related = ["article"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
