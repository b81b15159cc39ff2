"""The support queue in the Django admin. Every change goes through tickets/services.py."""

from __future__ import annotations

import csv
import re
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from tickets import console, history, macros, presence, register, retention, services
from tickets.models import (
    FINISHED,
    PRIORITY_RANK,
    QUEUE_ORDER,
    Deflection,
    Kind,
    Macro,
    MacroQuerySet,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketQuerySet,
    Topic,
)
from tickets.roles import chat_agents
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
    # The tags the queue's filter has already read (one query for both): see _queue_tags.
    tag = forms.TypedChoiceField(
        choices=lambda: [("", "—"), *((tag.pk, tag.name) for tag in _queue_tags())],
        coerce=int,
        empty_value=None,
        required=False,
        label=_("Tag"),
    )
    into = forms.CharField(
        required=False,
        max_length=20,
        label=_("Merge into (reference)"),
        widget=forms.TextInput(attrs={"placeholder": "OK-XXXX-XXXX", "size": 14}),
    )


# The staff-defined tags, read once per queue page by TagFilter and shared with the action
# form's tag menu (the ModelAdmin is shared by every thread: a ContextVar, not an attribute).
_tags_of_request: ContextVar[list[Tag] | None] = ContextVar("tags_of_request", default=None)


def _queue_tags() -> list[Tag]:
    tags = _tags_of_request.get()
    if tags is None:
        tags = list(Tag.objects.all())
        _tags_of_request.set(tags)
    return tags


class TagFilter(admin.SimpleListFilter):
    title = _("tag")
    parameter_name = "tag"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [(str(tag.pk), tag.name) for tag in _queue_tags()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value and value.isdecimal():
            return queryset.filter(tags__pk=int(value))
        return queryset


class QueueFilter(admin.SimpleListFilter):
    """Whose tickets. By default the team's to-do list: every active ticket nobody holds, and
    the agent's own active ones (TicketQuerySet.for_queue_of)."""

    title = _("queue")
    parameter_name = "queue"
    DEFAULT = "my-queue"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [
            (self.DEFAULT, _("To do: unassigned + mine, active")),
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
        user = staff_user(request)
        if value == "me":
            return queryset.filter(assignee=user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value == "anyone":
            return queryset
        return cast(TicketQuerySet, queryset).for_queue_of(user)


class OverdueFilter(YesNoFilter):
    title = _("first response")
    parameter_name = "overdue"
    options = {"yes": (_("Overdue"), None), "no": (_("Not overdue"), None)}

    def keep(self, queryset: QuerySet[Any], yes: bool) -> QuerySet[Any]:
        overdue = Ticket.objects.overdue().values("pk")
        return queryset.filter(pk__in=overdue) if yes else queryset.exclude(pk__in=overdue)


def _day(deadline: datetime) -> str:
    """The last Beijing day before a register deadline (which is the start of the next)."""
    return (deadline.astimezone(register.BEIJING) - timedelta(seconds=1)).strftime("%m-%d")


class RegisterFilter(admin.SimpleListFilter):
    """The complaint register's clocks (tickets/register.py)."""

    title = _("register")
    parameter_name = "register"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [
            ("ack", _("Acknowledgement overdue")),
            ("final", _("Final response overdue")),
            ("on-time", _("On time")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        ack = Ticket.objects.complaint_ack_overdue().values("pk")
        final = Ticket.objects.complaint_final_overdue().values("pk")
        value = self.value()
        if value == "ack":
            return queryset.filter(pk__in=ack)
        if value == "final":
            return queryset.filter(pk__in=final)
        if value == "on-time":
            return (
                cast(TicketQuerySet, queryset)
                .complaints()
                .exclude(pk__in=ack)
                .exclude(pk__in=final)
            )
        return queryset


class MacroSelect(forms.Select):
    """Each option carries its text, filled in for this ticket, and what it does, for the
    script that inserts it and finds it as the agent types "/" in the reply box."""

    def __init__(
        self, *args: Any, data: dict[str, dict[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.data = data or {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        for key, item in self.data.get(str(value), {}).items():
            option["attrs"][f"data-{key}"] = item
        return option


def _seen_token(seen: services.TicketSeen) -> str:
    return f"{seen.version}:{seen.status}:{seen.priority}:{seen.assignee_id or ''}"


def _read_seen(token: str) -> services.TicketSeen | None:
    parts = token.split(":")
    number = re.compile(r"[0-9]{1,12}")  # not str.isdigit: "²" is a digit int() refuses
    if len(parts) != 4 or not number.fullmatch(parts[0]):
        return None
    if parts[3] and not number.fullmatch(parts[3]):
        return None
    if parts[1] not in Status.values or parts[2] not in Priority.values:
        return None
    return services.TicketSeen(
        int(parts[0]), parts[1], parts[2], int(parts[3]) if parts[3] else None
    )


# Where a refusal of the services is shown on the page.
_FIELD_OF_SERVICE_ERROR = {
    "status": "status",
    "priority": "priority",
    "assignee": "assignee",
    "reply": "reply",
    "status_after": "status_after_reply",
    "kind": "kind",
    "topic": "topic",
    "rating": None,
}


def _class_token(ticket: Ticket, tag_ids: list[int]) -> str:
    """The kind, topic and tags the page showed: a change is what differs from these."""
    return f"{ticket.kind}:{ticket.topic}:{','.join(str(pk) for pk in sorted(tag_ids))}"


def _read_class(token: str) -> tuple[str, str, set[int]] | None:
    parts = token.split(":")
    if len(parts) != 3 or parts[0] not in Kind.values or parts[1] not in Topic.values:
        return None
    ids = parts[2].split(",") if parts[2] else []
    if not all(re.fullmatch(r"[0-9]{1,12}", pk) for pk in ids):
        return None
    return parts[0], parts[1], {int(pk) for pk in ids}


class TicketAdminForm(forms.ModelForm[Ticket]):
    """The ticket page's one form: triage and a reply or note, saved together by
    services.ticket_update, judged against what the page showed when it was loaded (`seen`)."""

    # Set by TicketAdmin.get_form for the request (the form class is made per request).
    actor: User | None = None

    seen = forms.CharField(widget=forms.HiddenInput, required=False)
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
    status_after_reply = forms.ChoiceField(label=_("Status after the reply"), required=False)
    macro = forms.ModelChoiceField(
        queryset=Macro.objects.none(),
        required=False,
        label=_("Macro"),
        help_text=_("Or type / and a word in the reply box. A macro's actions apply on save."),
    )
    seen_class = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Ticket
        fields = ["status", "priority", "assignee", "kind", "topic", "tags"]
        widgets = {"tags": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        loaded = services.TicketSeen.of(self.instance)
        if self.is_bound:
            # What the page showed, not what the ticket is now: a colleague may have moved it.
            self.page_seen = _read_seen(str(self.data.get(self.add_prefix("seen"), "")))
        else:
            self.page_seen = loaded
        self.fields["seen"].initial = _seen_token(loaded)
        self._offer_choices(self.page_seen or loaded)
        for field in ("kind", "topic"):
            if field in self.fields:
                # A post without them (an older page) keeps the ticket's own: see clean().
                self.fields[field].required = False
        self.page_class: tuple[str, str, set[int]] | None = None
        self.class_posted = False
        if self.instance.pk and "seen_class" in self.fields:
            # The form's initial holds the ticket's tags already (model_to_dict read them): not
            # a second query on a page with a query budget.
            tag_ids = [tag.pk for tag in self.initial.get("tags", self.instance.tags.all())]
            self.fields["seen_class"].initial = _class_token(self.instance, tag_ids)
            if not self.is_bound:
                self.page_class = (self.instance.kind, self.instance.topic, set(tag_ids))
            else:
                token = str(self.data.get(self.add_prefix("seen_class"), ""))
                self.class_posted = bool(token)
                self.page_class = _read_class(token) if token else None

    def _offer_choices(self, seen: services.TicketSeen) -> None:
        """Statuses the page offers are those allowed from the status it shows; the assignee
        menu holds the real assignee, and whom this agent may give the ticket to."""
        allowed = services.statuses_after(seen.status)
        if "status" in self.fields:
            cast(forms.ChoiceField, self.fields["status"]).choices = [
                (value, label) for value, label in Status.choices if value in allowed
            ]
        automatic = services.default_status_after_reply(
            seen.status, internal=False, live_chat=self.instance.is_live_chat
        )
        cast(forms.ChoiceField, self.fields["status_after_reply"]).choices = [
            ("", _("Automatic: %(status)s after a public reply; a note changes nothing")
             % {"status": Status(automatic).label}),
            *((value, label) for value, label in Status.choices if value in allowed),
        ]  # fmt: skip
        if "assignee" not in self.fields or self.actor is None:
            return
        field = cast(forms.ModelChoiceField[User], self.fields["assignee"])
        workers = chat_agents()
        is_lead = self.actor.has_perm("tickets.assign_ticket")
        holder = seen.assignee_id
        # The real holders (the page's and the current one) are always in the menu, even if
        # they have left the team since: otherwise the menu would show, and save, nobody.
        holders = [pk for pk in (holder, self.instance.assignee_id) if pk is not None]
        users = get_user_model().objects
        if is_lead or holder == self.actor.pk:
            field.queryset = users.filter(
                Q(pk__in=workers.values("pk")) | Q(pk__in=holders)
            ).order_by("first_name", "username")
        elif holder is None:
            field.queryset = users.filter(pk__in=[self.actor.pk, *holders])
        else:
            # A colleague's ticket: shown as theirs, and only they or a lead move it.
            field.queryset = users.filter(pk__in=holders)
            field.disabled = True
            field.help_text = _("Only the assignee or a lead can reassign this ticket.")
        if self.instance.is_live_chat:
            field.disabled = True
            field.help_text = _("A live chat is taken or handed over in the chat console.")

    def clean(self) -> dict[str, Any]:
        """Apply the save through the services here, where the admin can still show a refusal
        next to its field: the services run inside the admin's own transaction, and a refusal
        rolls back everything this save did (nothing typed is lost: the page comes back)."""
        cleaned = super().clean() or {}
        for field in ("kind", "topic"):
            if field in self.fields and not cleaned.get(field):
                # Not sent: the ticket keeps what it is (the model form must not see a blank).
                cleaned[field] = getattr(self.instance, field)
        if self.errors or self.actor is None or not self.instance.pk:
            return cleaned
        seen = self.page_seen
        if seen is None:
            raise ValidationError(_("This page is too old to save. Reload it, then save again."))
        assignee_field = self.fields["assignee"]
        assignee = cleaned.get("assignee")
        if assignee_field.disabled:
            assignee = (
                User.objects.filter(pk=seen.assignee_id).first() if seen.assignee_id else None
            )
        page_class = self.page_class
        if self.class_posted and page_class is None:
            raise ValidationError(_("This page is too old to save. Reload it, then save again."))
        status = cleaned.get("status") or seen.status
        reply = cleaned.get("reply", "")
        status_after = cleaned.get("status_after_reply") or None
        macro: Macro | None = cleaned.get("macro")
        # A macro's status follows its reply, unless the agent chose a status on the page.
        macro_sets_status = bool(macro and macro.set_status and status == seen.status)
        if macro_sets_status and macro and reply.strip() and not status_after:
            status_after = macro.set_status
        try:
            # One save: the triage and reply, the classification, the tags and the macro's
            # actions all happen, or (a refusal anywhere) none of them.
            with transaction.atomic():
                ticket = services.ticket_update(
                    ticket=self.instance,
                    actor=self.actor,
                    seen=seen,
                    status=status,
                    priority=cleaned.get("priority") or seen.priority,
                    assignee=assignee,
                    reply=reply,
                    internal=cleaned.get("reply_kind") == "internal",
                    status_after=status_after,
                )
                if page_class is not None:
                    ticket = self._save_classification(ticket, cleaned, page_class)
                if macro is not None:
                    services.ticket_apply_macro(
                        ticket=ticket,
                        macro=macro,
                        actor=self.actor,
                        apply_status=macro_sets_status and not reply.strip(),
                    )
        except services.TicketConflictError as conflict:
            self._show_current(list(conflict.error_dict))
            self._add_service_errors(conflict)
        except ValidationError as error:
            self._add_service_errors(error)
        return cleaned

    def _save_classification(
        self, ticket: Ticket, cleaned: dict[str, Any], page_class: tuple[str, str, set[int]]
    ) -> Ticket:
        assert self.actor is not None
        seen_kind, seen_topic, seen_tags = page_class
        kind = cleaned.get("kind") or seen_kind
        topic = cleaned.get("topic") or seen_topic
        if (kind, topic) != (seen_kind, seen_topic):
            ticket = services.ticket_classify(
                ticket=ticket,
                actor=self.actor,
                kind=kind,
                topic=topic,
                seen_kind=seen_kind,
                seen_topic=seen_topic,
            )
        if "tags" in self.fields and not self.fields["tags"].disabled:
            posted = {tag.pk: tag for tag in cleaned.get("tags") or []}
            add = [tag for pk, tag in posted.items() if pk not in seen_tags]
            gone = seen_tags - set(posted)
            remove = list(Tag.objects.filter(pk__in=gone)) if gone else []
            if add or remove:
                ticket = services.ticket_tag(
                    ticket=ticket, actor=self.actor, add=add, remove=remove
                )
        return ticket

    def _add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            field = _FIELD_OF_SERVICE_ERROR.get(key)
            for item in errors:
                self.add_error(field if field in self.fields else None, item.messages)

    def _show_current(self, fields: list[str]) -> None:
        """After a conflict the page is brought up to date: every triage field shows the
        ticket's current value, except where this agent changed it and nobody clashed. Saving
        again then applies only this agent's own changes on top of the colleague's."""
        current = Ticket.objects.get(pk=self.instance.pk)
        old = self.page_seen
        data = QueryDict(mutable=True)
        data.update(self.data)
        shown_then = {
            "status": old.status if old else None,
            "priority": old.priority if old else None,
            "assignee": str(old.assignee_id or "") if old else None,
        }
        current_values = {
            "status": current.status,
            "priority": current.priority,
            "assignee": str(current.assignee_id or ""),
        }
        for field, value in current_values.items():
            posted = data.get(self.add_prefix(field))
            if field in fields or posted == shown_then[field]:
                data[self.add_prefix(field)] = value
        page_class = self.page_class
        if "seen_class" in self.fields and page_class is not None:
            # The same for the classification: what this agent changed stays, the rest
            # follows the ticket as it is now.
            for field, shown in (("kind", page_class[0]), ("topic", page_class[1])):
                posted = data.get(self.add_prefix(field))
                if field in fields or posted == shown:
                    data[self.add_prefix(field)] = getattr(current, field)
            current_tags = set(current.tags.values_list("pk", flat=True))
            posted_tags = {
                int(pk) for pk in data.getlist(self.add_prefix("tags")) if pk.isdecimal()
            }
            kept = (current_tags | (posted_tags - page_class[2])) - (page_class[2] - posted_tags)
            data.setlist(self.add_prefix("tags"), [str(pk) for pk in sorted(kept)])
            data[self.add_prefix("seen_class")] = _class_token(current, sorted(current_tags))
        if "status_after" in fields:
            data[self.add_prefix("status_after_reply")] = ""
        now = services.TicketSeen.of(current)
        data[self.add_prefix("seen")] = _seen_token(now)
        self.data = data
        self._offer_choices(now)


# Whose presence the queue shows, per request (the ModelAdmin is shared by every thread).
_queue_viewers: ContextVar[dict[int, list[presence.Viewer]] | None] = ContextVar(
    "queue_viewers", default=None
)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin[Ticket]):
    form = TicketAdminForm
    action_form = TicketActionForm
    change_form_template = "admin/tickets/ticket/change_form.html"
    list_display = [
        "reference",
        "subject",
        "customer",
        "topic",
        "priority_badge",
        "status_badge",
        "assignee",
        "first_response_due_display",
        "register_state",
        "age",
        "others_here",
    ]
    list_display_links = ["reference", "subject"]
    list_filter = [
        QueueFilter, "status", "kind", "topic", "priority", OverdueFilter, RegisterFilter,
        "channel", TagFilter,
    ]  # fmt: skip
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
        "add_tag",
        "remove_tag",
        "merge_into",
        "mark_as_spam",
        "export_csv",
    ]
    # What the customer wrote is their words: staff answer it, they do not edit it.
    customer_fields = [
        "reference", "channel", "subject", "email", "name", "phone",
        "transaction_reference", "language", "masked_secrets", "satisfaction",
        "satisfaction_comment", "created_at", "updated_at", "first_response_at",
        "first_response_due_display", "resolved_at", "is_spam",
    ]  # fmt: skip
    readonly_fields = [*customer_fields, "conversation", "files", "history"]
    fieldsets = [
        (None, {"fields": ["conversation", "files"]}),
        (
            _("Reply"),
            {"fields": ["macro", "reply", "reply_kind", "status_after_reply"]},
        ),
        (
            _("Triage"),
            {
                "fields": [
                    "status",
                    "priority",
                    "assignee",
                    "kind",
                    "topic",
                    "tags",
                    "seen",
                    "seen_class",
                ]
            },
        ),  # fmt: skip
        (_("History"), {"fields": ["history"], "classes": ["collapse"]}),
        (_("Customer and ticket"), {"fields": tuple(customer_fields), "classes": ["collapse"]}),
    ]

    class Media:
        js = ["js/admin-macros.js", "js/admin-ticket-presence.js", "js/admin-shortcuts.js"]
        css = {"all": ["css/admin-support.css"]}

    # --- the chat console and the ticket page's presence ------------------------------------

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
        presence_url = path(
            "<int:pk>/presence/",
            staff_only(self.presence_view),
            name="tickets_ticket_presence",
        )
        return [*console_urls, presence_url, *super().get_urls()]

    def chat_console_view(self, request: HttpRequest) -> HttpResponse:
        admin_context = {
            **self.admin_site.each_context(request),
            "title": _("Chat console"),
            "opts": self.opts,
        }
        return console.console_page(cast(HtmxHttpRequest, request), admin_context)

    def presence_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Polled by the ticket page: marks this agent as here (and typing), answers who else
        is. A POST with `leaving` removes the mark at once."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = get_object_or_404(Ticket.objects.only("pk"), pk=pk)
        if not self.has_view_permission(request, ticket):
            raise PermissionDenied
        user = staff_user(request)
        if request.POST.get("leaving"):
            presence.stop_viewing(ticket.pk, user)
            return HttpResponse(status=204)
        presence.mark_viewing(ticket.pk, user, typing=request.POST.get("typing") == "1")
        others = presence.viewers_of([ticket.pk], besides=user).get(ticket.pk, [])
        return TemplateResponse(
            request, "admin/tickets/ticket/change_form.html#presence", {"others": others}
        )

    # --- queries ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return cast(TicketQuerySet, super().get_queryset(request)).with_last_public_author()

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # The queue's order (models.QUEUE_ORDER); a clicked column overrides it. Returning
        # nothing here would let the model's newest-first ordering win.
        return list(QUEUE_ORDER)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        _tags_of_request.set(None)  # read afresh for this request, then shared
        changelist = super().get_changelist_instance(request)
        ticket_ids = [ticket.pk for ticket in changelist.result_list]
        _queue_viewers.set(presence.viewers_of(ticket_ids, besides=staff_user(request)))
        return changelist

    # --- permissions -----------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from customers, through services.ticket_create

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.assign_ticket")

    def get_form(
        self, request: HttpRequest, obj: Ticket | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Ticket]]:
        form = cast(type[TicketAdminForm], super().get_form(request, obj, change, **kwargs))
        user = staff_user(request)
        form.actor = user  # a class made for this request (modelform_factory)
        if obj is not None and "macro" in form.base_fields:
            visible = Macro.objects.visible_to(user).prefetch_related("add_tags")
            field = cast(forms.ModelChoiceField[Macro], form.base_fields["macro"])
            field.queryset = visible
            choices = list(visible)
            field.widget = MacroSelect(
                data={
                    str(macro.pk): {
                        "text": macros.render(macro, obj, user),
                        "actions": macros.actions_summary(macro),
                        "status": macro.set_status,
                        "mine": "1" if macro.owner_id else "",
                    }
                    for macro in choices
                }
            )
            # The menu reuses the list read above instead of querying again.
            field.choices = [("", "---------"), *((m.pk, str(m)) for m in choices)]
        return form

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing here either: the tags were saved by services.ticket_tag in the form's clean
        (the admin would otherwise write them straight to the table, with no history)."""

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        """Nothing left to do: TicketAdminForm.clean saved through services.ticket_update, so a
        refusal could still come back as a form error. The form's instance holds the page's
        values, not the ticket's, and must not be written."""

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Ticket | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["others"] = presence.viewers_of([obj.pk], besides=staff_user(request)).get(
                obj.pk, []
            )
            context["presence_poll_seconds"] = presence.VIEWING_POLL_SECONDS
            context["customer"] = customer_panel(obj)
            following = (
                Ticket.objects.for_queue_of(staff_user(request))
                .not_spam()
                .exclude(pk=obj.pk)
                .most_urgent_first()
                .values_list("pk", flat=True)
                .first()
            )
            if following is not None:
                context["next_url"] = reverse("admin:tickets_ticket_change", args=[following])
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- list columns ----------------------------------------------------------------------

    @admin.display(description=_("customer"), ordering="email")
    def customer(self, ticket: Ticket) -> str:
        return ticket.name or ticket.email

    @admin.display(description=_("priority"), ordering=PRIORITY_RANK)
    def priority_badge(self, ticket: Ticket) -> SafeString:
        return format_html(
            '<span class="badge priority-{}">{}</span>',
            ticket.priority,
            ticket.get_priority_display(),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, ticket: Ticket) -> SafeString:
        badge = format_html(
            '<span class="badge status-{}">{}</span>', ticket.status, ticket.get_status_display()
        )
        if ticket.awaits_us:
            # The customer wrote last: whatever the status says, the next move is ours.
            return format_html('{} <span class="flag flag-us">{}</span>', badge, _("awaiting us"))
        return badge

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

    @admin.display(description=_("register"))
    def register_state(self, ticket: Ticket) -> SafeString | str:
        """A complaint's regulator clocks: the next deadline, or the one it missed."""
        if ticket.kind != Kind.COMPLAINT:
            return "—"
        clocks = register.clocks(ticket)
        if ticket.status in FINISHED:
            if clocks.breaches:
                return format_html('<span class="sla-overdue">{}</span>', clocks.breaches_text)
            return format_html('<span class="sla-met">✓ {}</span>', _("on time"))
        if ticket.first_response_at is None:
            if clocks.ack_late:
                return format_html(
                    '<span class="sla-overdue">{}</span>', _("acknowledgement overdue")
                )
            return _("acknowledge by %(day)s") % {"day": _day(clocks.ack_deadline)}
        if clocks.final_late:
            return format_html('<span class="sla-overdue">{}</span>', _("final response overdue"))
        return _("final response by %(day)s") % {"day": _day(clocks.final_deadline)}

    @admin.display(description=_("also here"))
    def others_here(self, ticket: Ticket) -> SafeString | str:
        viewers = (_queue_viewers.get() or {}).get(ticket.pk, [])
        return render_to_string(
            "admin/tickets/ticket/change_form.html#presence", {"others": viewers, "compact": True}
        )

    @admin.display(description=_("conversation"))
    def conversation(self, ticket: Ticket) -> SafeString:
        messages = list(ticket.messages.select_related("author").prefetch_related("attachments"))
        opening_attachments = [a for a in ticket.attachments.all() if a.message_id is None]
        return render_to_string(
            "admin/tickets/ticket/conversation.html",
            {"ticket": ticket, "messages": messages, "opening_attachments": opening_attachments},
        )

    @admin.display(description=_("files"))
    def files(self, ticket: Ticket) -> SafeString:
        """Who opened each file, and when it goes (the retention rule), in one query."""
        return render_to_string(
            "admin/tickets/ticket/files.html",
            {
                "files": retention.files_of(ticket),
                "deletion_date": retention.deletion_date(ticket),
                "retention_days": settings.TICKETS_ATTACHMENT_RETENTION_DAYS,
            },
        )

    @admin.display(description=_("history"))
    def history(self, ticket: Ticket) -> SafeString:
        return render_to_string(
            "admin/tickets/ticket/history.html", {"entries": history.timeline(ticket)}
        )

    # --- actions ---------------------------------------------------------------------------

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Ticket],
        change: Any,
        done_message: StrOrPromise,
    ) -> None:
        """Apply a change to each ticket through the services; a refusal is named per ticket,
        and success is reported only for what was done."""
        done = 0
        for ticket in queryset:
            try:
                change(ticket)
                done += 1
            except ValidationError as error:
                self.message_user(
                    request, f"{ticket.reference}: {' '.join(error.messages)}", messages.WARNING
                )
        if done:
            self.message_user(request, done_message % {"count": done})

    @admin.action(description=_("Assign to me"))
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        user = staff_user(request)
        self._apply(
            request,
            queryset,
            lambda t: services.ticket_assign(ticket=t, assignee=user, actor=user),
            _("%(count)d ticket(s) assigned to you."),
        )

    @admin.action(
        description=_("Assign to the person chosen beside the action"), permissions=["assign"]
    )
    def assign_to_someone(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        form = TicketActionForm(request.POST)
        form.is_valid()
        assignee = form.cleaned_data.get("assignee")
        user = staff_user(request)
        self._apply(
            request,
            queryset,
            lambda t: services.ticket_assign(ticket=t, assignee=assignee, actor=user),
            _("%(count)d ticket(s) reassigned."),
        )

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
        user = staff_user(request)
        change = {
            "priority": lambda t: services.ticket_set_priority(
                ticket=t, priority=value, actor=user
            ),
            "status": lambda t: services.ticket_change_status(ticket=t, status=value, actor=user),
        }[field]
        self._apply(request, queryset, change, _("%(count)d ticket(s) changed."))

    @admin.action(description=_("Set the priority chosen beside the action"))
    def set_priority(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_choice(request, queryset, "priority", Priority)

    @admin.action(description=_("Set the status chosen beside the action"))
    def set_status(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_choice(request, queryset, "status", Status)

    def _chosen_tag(self, request: HttpRequest) -> Tag | None:
        form = TicketActionForm(request.POST)
        form.is_valid()  # the action menu's own field is the admin's: read only this one
        pk = form.cleaned_data.get("tag")
        tag = Tag.objects.filter(pk=pk).first() if pk else None
        if tag is None:
            self.message_user(request, _("Choose a tag beside the action first."), messages.WARNING)
        return tag

    @admin.action(description=_("Add the tag chosen beside the action"))
    def add_tag(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        if (tag := self._chosen_tag(request)) is None:
            return
        user = staff_user(request)
        self._apply(
            request,
            queryset,
            lambda t: services.ticket_tag(ticket=t, actor=user, add=[tag]),
            _("%(count)d ticket(s) tagged."),
        )

    @admin.action(description=_("Remove the tag chosen beside the action"))
    def remove_tag(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        if (tag := self._chosen_tag(request)) is None:
            return
        user = staff_user(request)
        self._apply(
            request,
            queryset,
            lambda t: services.ticket_tag(ticket=t, actor=user, remove=[tag]),
            _("%(count)d ticket(s) changed."),
        )

    @admin.action(description=_("Merge into the ticket whose reference is given beside the action"))
    def merge_into(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        form = TicketActionForm(request.POST)
        form.is_valid()  # as in _chosen_tag
        reference = form.cleaned_data.get("into", "")
        target = Ticket.objects.by_reference(reference).first() if reference else None
        if target is None:
            self.message_user(
                request,
                _("Type the reference of the ticket to merge into beside the action."),
                messages.WARNING,
            )
            return
        user = staff_user(request)
        self._apply(
            request,
            queryset.exclude(pk=target.pk),
            lambda t: services.ticket_merge(duplicate=t, into=target, actor=user),
            # %(count)d is filled in by _apply; the reference now.
            str(_("%(count)d ticket(s) merged into {reference}.")).replace(
                "{reference}", target.reference
            ),
        )

    @admin.action(description=_("Mark as spam (closes them)"))
    def mark_as_spam(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        user = staff_user(request)
        self._apply(
            request,
            queryset,
            lambda t: services.ticket_mark_spam(ticket=t, actor=user),
            _("%(count)d ticket(s) marked as spam."),
        )

    @admin.action(description=_("Export to CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="tickets.csv"'
        response.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
        writer = csv.writer(response)
        writer.writerow(history.csv_header())
        rows = queryset.annotate(message_total=Count("messages")).prefetch_related("tags")
        for ticket in rows:
            writer.writerow(history.csv_row(ticket, getattr(ticket, "message_total", 0)))
        return response


CUSTOMER_HISTORY_LIMIT = 20


def customer_panel(ticket: Ticket) -> dict[str, Any]:
    """Who wrote, beside the ticket: their details and their other tickets and chats (same
    e-mail), newest first. One query for the list, whatever its length."""
    # Without an address (an emergency report may have none) nothing ties tickets together.
    others = (
        list(
            Ticket.objects.of_customer(ticket.email)
            .exclude(pk=ticket.pk)
            .only("pk", "reference", "subject", "status", "channel", "created_at")
            .order_by("-created_at")[: CUSTOMER_HISTORY_LIMIT + 1]
        )
        if ticket.email
        else []
    )
    query = "?" + urlencode({"queue": "anyone", "email__iexact": ticket.email})
    return {
        "ticket": ticket,
        "others": others[:CUSTOMER_HISTORY_LIMIT],
        "more": len(others) > CUSTOMER_HISTORY_LIMIT,
        "queue_query": query,
    }


class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ["name", "ticket_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(ticket_total=Count("tickets"))

    @admin.display(description=_("tickets"), ordering="ticket_total")
    def ticket_count(self, tag: Tag) -> int:
        return int(getattr(tag, "ticket_total", 0))


admin.site.register(Tag, TagAdmin)


class MacroForm(forms.ModelForm[Macro]):
    class Meta:
        model = Macro
        fields = [
            "title", "body_zh_hans", "body_en", "owner", "set_status", "set_priority",
            "set_topic", "add_tags",
        ]  # fmt: skip
        widgets = {"add_tags": forms.CheckboxSelectMultiple}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("body_zh_hans", "").strip() and not cleaned.get("body_en", "").strip():
            self.add_error("body_zh_hans", _("Write the text in at least one language."))
        return cleaned


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin[Macro]):
    """Shared macros are the leads'; every agent keeps personal ones, which only she sees."""

    form = MacroForm
    list_display = ["title", "shared", "set_status", "set_priority", "set_topic"]
    list_filter = ["set_status", "set_topic"]
    search_fields = ["title", "body_zh_hans", "body_en"]

    def _manages_shared(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.manage_shared_macros")

    @admin.display(description=_("shared"), boolean=True)
    def shared(self, macro: Macro) -> bool:
        return macro.is_shared

    def get_queryset(self, request: HttpRequest) -> QuerySet[Macro]:
        queryset = cast(MacroQuerySet, super().get_queryset(request).select_related("owner"))
        return queryset.visible_to(staff_user(request))

    def get_exclude(self, request: HttpRequest, obj: Macro | None = None) -> list[str]:
        # An agent's macros are her own: she does not choose an owner.
        return [] if self._manages_shared(request) else ["owner"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            kwargs["queryset"] = staff_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _may_edit(self, request: HttpRequest, obj: Macro | None) -> bool:
        if obj is None:
            return True
        if obj.is_shared:
            return self._manages_shared(request)
        return obj.owner_id == request.user.pk or self._manages_shared(request)

    def has_change_permission(self, request: HttpRequest, obj: Macro | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Macro | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def save_model(self, request: HttpRequest, obj: Macro, form: Any, change: bool) -> None:
        if not self._manages_shared(request):
            obj.owner = staff_user(request)
        super().save_model(request, obj, form, change)


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin[Deflection]):
    list_display = ["article", "created_at"]
    list_select_related = ["article"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Register the admins of the registry (official channels) and of the known incidents.
from tickets import incident_admin, protection_admin  # noqa: E402, F401
