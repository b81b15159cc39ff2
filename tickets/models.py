"""Complaints and suggestions: tickets, their conversation and attachments.

Nothing here changes a ticket: every write goes through tickets/services.py, which the public
views, the admin and the chat all call. The models hold only rules about themselves.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from wallet_support.db import choices_constraint

# Letters and digits that cannot be mistaken for each other when read aloud or copied by hand
# (no 0/O, 1/I/L, U/V).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"


def new_reference(prefix: str = "OK") -> str:
    """OK-7KQ2-M9XD: 29^8 ≈ 5·10^11 possibilities, from a cryptographic source. The e-mail
    authenticity codes (tickets/channels.py) are the same shape with their own prefix."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Files with no public URL, under PRIVATE_MEDIA_ROOT (read at use, so tests can move it)."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return str(PurePath(settings.PRIVATE_MEDIA_ROOT))

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL: use the staff download view.")


private_storage = PrivateStorage()


def attachment_path(instance: Attachment, filename: str) -> str:
    # The customer's file name is kept in the database only; on disk the name is random.
    extension = PurePath(filename).suffix.lower()
    return f"attachments/{uuid.uuid4().hex}{extension}"


class Kind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    QUESTION = "question", _("Question")  # what a chat starts as


class Topic(models.TextChoices):
    ACCOUNT = "account", _("Registration & account")
    TOP_UP = "top-up", _("Top-up")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    PAYMENT = "payment", _("Payment & refund")
    SECURITY = "security", _("Security")
    OTHER = "other", _("Other")


# Topics about money movements: the transaction reference field is shown for these.
MONEY_TOPICS = frozenset({Topic.TOP_UP, Topic.WITHDRAWAL, Topic.PAYMENT})

# Help categories (faq/content/categories.toml) and ticket topics are two lists: a customer
# reads the help by category and files a ticket by topic. This is the one map between them,
# so a page, a suggestion or a report can go from one to the other.
TOPIC_OF_CATEGORY: dict[str, Topic] = {
    "registration": Topic.ACCOUNT,
    "account": Topic.ACCOUNT,
    "top-up": Topic.TOP_UP,
    "withdrawal": Topic.WITHDRAWAL,
    "payments": Topic.PAYMENT,
    "security": Topic.SECURITY,
    "technical": Topic.OTHER,
    "contact": Topic.OTHER,
}


def topic_for_category(category_slug: str) -> Topic:
    return TOPIC_OF_CATEGORY.get(category_slug, Topic.OTHER)


def categories_for_topic(topic: str) -> list[str]:
    return [slug for slug, mapped in TOPIC_OF_CATEGORY.items() if mapped == topic]


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# A finished ticket needs nobody's action: resolved (the customer may still reopen it) or closed.
FINISHED = frozenset({Status.RESOLVED, Status.CLOSED})


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    CHAT = "chat", _("Online chat")


# Priority by rank, not by its name (alphabetically "High, Normal, Urgent").
PRIORITY_RANK = models.Case(
    models.When(priority=Priority.URGENT, then=0),
    models.When(priority=Priority.HIGH, then=1),
    models.When(priority=Priority.NORMAL, then=2),
    default=3,
    output_field=models.IntegerField(),
)
# The queue: most urgent first; then those still owed a first reply (the first-response clock
# is the same length for all, so the oldest unanswered is the closest to breach or the most
# overdue); then the oldest.
QUEUE_ORDER = (
    PRIORITY_RANK.asc(),
    models.Case(
        models.When(first_response_at__isnull=True, then=0),
        default=1,
        output_field=models.IntegerField(),
    ).asc(),
    models.F("created_at").asc(),
)


class TicketQuerySet(models.QuerySet["Ticket"]):
    def by_reference(self, reference: str) -> TicketQuerySet:
        return self.filter(reference=reference.strip().upper())

    def active(self) -> TicketQuerySet:
        """Tickets someone still has to act on."""
        return self.exclude(status__in=FINISHED)

    def not_spam(self) -> TicketQuerySet:
        return self.filter(is_spam=False)

    def of_customer(self, email: str) -> TicketQuerySet:
        """Every ticket and chat filed with this e-mail address, whatever its case."""
        return self.filter(email__iexact=email.strip())

    def overdue(self, now: datetime | None = None) -> TicketQuerySet:
        due_before = (now or timezone.now()) - timedelta(
            hours=settings.TICKETS_FIRST_RESPONSE_HOURS
        )
        return self.active().filter(first_response_at__isnull=True, created_at__lt=due_before)

    def complaints(self) -> TicketQuerySet:
        return self.filter(kind=Kind.COMPLAINT)

    def complaint_ack_overdue(self, now: datetime | None = None) -> TicketQuerySet:
        """Complaints still unacknowledged past their working-day deadline (tickets/register.py)."""
        from tickets.register import ack_overdue_cutoff

        return (
            self.complaints()
            .not_spam()
            .active()
            .filter(first_response_at__isnull=True, created_at__lt=ack_overdue_cutoff(now))
        )

    def complaint_final_overdue(self, now: datetime | None = None) -> TicketQuerySet:
        """Complaints still without a final response past their deadline."""
        from tickets.register import final_overdue_cutoff

        return (
            self.complaints().not_spam().active().filter(created_at__lt=final_overdue_cutoff(now))
        )

    def complaints_received_between(self, first: date, last: date) -> TicketQuerySet:
        """Complaints received from `first` to `last` inclusive, Beijing dates."""
        from tickets.register import start_of

        return (
            self.complaints()
            .not_spam()
            .filter(created_at__gte=start_of(first), created_at__lt=start_of(last + timedelta(1)))
            .order_by("created_at", "pk")
        )

    def waiting_since(self, cutoff: datetime) -> TicketQuerySet:
        return self.filter(status=Status.WAITING, status_changed_at__lte=cutoff)

    def live_chats(self) -> TicketQuerySet:
        """Chats a customer may still be typing in."""
        return self.filter(channel=Channel.CHAT).active()

    def most_urgent_first(self) -> TicketQuerySet:
        return self.order_by(*QUEUE_ORDER)

    def for_queue_of(self, user: models.Model) -> TicketQuerySet:
        """The team's to-do list as one agent sees it: every active ticket nobody holds, and
        the agent's own active ones."""
        return self.active().filter(Q(assignee__isnull=True) | Q(assignee=user))

    def with_last_public_author(self) -> TicketQuerySet:
        """`last_public_author`: who wrote last in the conversation the customer sees (None
        while only the customer's opening words exist)."""
        last = (
            Message.objects.filter(ticket=models.OuterRef("pk"), is_internal=False)
            .order_by("-created_at", "-pk")
            .values("author_type")[:1]
        )
        return self.annotate(last_public_author=models.Subquery(last))


class Ticket(models.Model):
    Kind = Kind
    Topic = Topic
    Status = Status
    Priority = Priority
    Channel = Channel
    FINISHED = FINISHED

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind)
    topic = models.CharField(_("topic"), max_length=12, choices=Topic)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel, default=Channel.WEB)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.NEW)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority, default=Priority.NORMAL
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    email = models.EmailField(_("email"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    transaction_reference = models.CharField(_("transaction reference"), max_length=64, blank=True)
    # Asked for money topics (tickets/settlement.py says when such money normally arrives).
    transaction_amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    transaction_date = models.DateField(_("transaction date"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, default=settings.LANGUAGE_CODE)
    masked_secrets = models.JSONField(
        _("masked secrets"),
        default=list,
        blank=True,
        help_text=_("Kinds of secrets removed from what the customer wrote."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    satisfaction_comment = models.TextField(_("satisfaction comment"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("last activity"), auto_now=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # Database defaults too: the release before these columns inserts rows without them.
    status_changed_at = models.DateTimeField(
        _("status since"), default=timezone.now, db_default=Now()
    )
    is_spam = models.BooleanField(_("spam"), default=False, db_default=False)
    # Raised by every change (tickets/services.py): a page knows which version it showed.
    # db_default: rows the previous release inserts while this one migrates still get one.
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)
    tags: models.ManyToManyField[Tag, Any] = models.ManyToManyField(
        "Tag", blank=True, related_name="tickets", verbose_name=_("tags")
    )
    # A duplicate merged into another ticket (services.ticket_merge): its reference and its
    # signed links lead to the ticket it was merged into.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
    )
    # Filed while a known incident on its topic was open (services.ticket_submit): staff
    # answer them all at once when it is resolved (tickets/incident_services.py).
    incident = models.ForeignKey(
        "tickets.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("incident"),
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("assign_ticket", _("Can assign tickets to other agents")),
            ("view_support_analytics", _("Can see support analytics")),
        ]
        constraints = [
            choices_constraint("kind", Kind, "ticket_kind_valid"),
            choices_constraint("topic", Topic, "ticket_topic_valid"),
            choices_constraint("status", Status, "ticket_status_valid"),
            choices_constraint("priority", Priority, "ticket_priority_valid"),
            choices_constraint("channel", Channel, "ticket_channel_valid"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__range=(1, 5)),
                name="ticket_satisfaction_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["status", "priority", "created_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:detail", args=[self.reference])

    @property
    def first_response_due(self) -> datetime:
        return self.created_at + timedelta(hours=settings.TICKETS_FIRST_RESPONSE_HOURS)

    @property
    def is_overdue(self) -> bool:
        """No public staff reply yet, and the promised first-response time has passed."""
        return (
            self.first_response_at is None
            and not self.is_finished
            and timezone.now() > self.first_response_due
        )

    def opening_message(self) -> Message:
        """What the customer first wrote, shown as the conversation's first message (not saved:
        it is the ticket's description)."""
        return Message(
            ticket=self,
            author_type=Message.Author.CUSTOMER,
            body=self.description,
            created_at=self.created_at,
        )

    @property
    def awaits_us(self) -> bool:
        """The customer wrote last (or only the opening exists): the next move is ours.
        Needs with_last_public_author()."""
        last = getattr(self, "last_public_author", None)
        return not self.is_finished and last in {None, Message.Author.CUSTOMER}

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_resolved(self) -> bool:
        return self.status == Status.RESOLVED

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    @property
    def waited_too_long(self) -> bool:
        """A live chat nobody has taken within TICKETS_CHAT_WAIT_MINUTES: the customer is told,
        and offered the ticket form instead."""
        waited = timedelta(minutes=settings.TICKETS_CHAT_WAIT_MINUTES)
        return (
            self.is_live_chat
            and self.assignee_id is None
            and timezone.now() - self.created_at >= waited
        )

    @property
    def is_live_chat(self) -> bool:
        return self.channel == Channel.CHAT and not self.is_finished


class MessageQuerySet(models.QuerySet["Message"]):
    def public(self) -> MessageQuerySet:
        """What the customer sees: everything but the staff's internal notes."""
        return self.filter(is_internal=False)


class Message(models.Model):
    class Author(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    author_type = models.CharField(_("from"), max_length=10, choices=Author)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    body = models.TextField(_("message"), max_length=5000)
    is_internal = models.BooleanField(
        _("internal note"),
        default=False,
        help_text=_("Internal notes are never shown or sent to the customer."),
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(
                condition=Q(author_type__in=["customer", "staff", "system"]),
                name="message_author_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(author_type="customer", is_internal=True),
                name="customer_messages_are_public",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.reference} · {self.get_author_type_display()}"


# When a finished ticket's files start counting down (tickets/retention.py): the moment it was
# resolved, or, for a ticket closed without being resolved (spam, closed straight away), closed.
# Reopening clears resolved_at (services._change_status), so a ticket resolved again restarts.
RETENTION_CLOCK = Coalesce("ticket__resolved_at", "ticket__status_changed_at")


class AttachmentQuerySet(models.QuerySet["Attachment"]):
    def kept(self) -> AttachmentQuerySet:
        """Attachments whose file is still stored (not yet removed by the retention rule)."""
        return self.filter(deleted_at__isnull=True)

    def past_retention(self, cutoff: datetime) -> AttachmentQuerySet:
        """Files of finished tickets whose retention clock (RETENTION_CLOCK) started at or
        before `cutoff`. A reopened ticket is active again, so its files stay."""
        return (
            self.kept()
            .filter(ticket__status__in=FINISHED)
            .alias(retention_start=RETENTION_CLOCK)
            .filter(retention_start__lte=cutoff)
        )


class Attachment(models.Model):
    class FileType(models.TextChoices):
        PNG = "image/png", "PNG"
        JPEG = "image/jpeg", "JPEG"
        PDF = "application/pdf", "PDF"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("ticket")
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("message"),
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=40, choices=FileType)
    size = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    # Set when the retention rule removed the file (services.attachments_delete_expired): the
    # row stays, with its name, so the ticket still says what was sent and when it went.
    deleted_at = models.DateTimeField(_("file deleted"), null=True, blank=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("tickets:attachment-download", args=[self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class AttachmentAccess(models.Model):
    """A staff member opened an attachment (tickets.views.attachment_download): the audit of
    who has seen a customer's files. Never edited; kept as long as the attachment's row."""

    attachment = models.ForeignKey(
        Attachment, on_delete=models.CASCADE, related_name="accesses", verbose_name=_("attachment")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    # The name as it was: the audit still says who if the account is renamed or deleted.
    username = models.CharField(_("user name"), max_length=150)
    inline = models.BooleanField(_("viewed in the page"), default=False)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment access")
        verbose_name_plural = _("attachment accesses")

    def __str__(self) -> str:
        return f"{self.username} · {self.attachment_id}"


class Deflection(models.Model):
    """A help article suggested beside the ticket form that the customer opened."""

    article = models.ForeignKey(
        "faq.Article",
        on_delete=models.CASCADE,
        related_name="deflections",
        verbose_name=_("article"),
    )
    created_at = models.DateTimeField(_("opened"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("deflection")
        verbose_name_plural = _("deflections")

    def __str__(self) -> str:
        return f"{self.article} @ {self.created_at:%Y-%m-%d %H:%M}"


class TicketEvent(models.Model):
    """One change to a ticket: who, when, which field, from what, to what."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(
        _("by (role)"), max_length=20, help_text=_("customer, staff or system")
    )
    field = models.CharField(_("field"), max_length=40)
    old_value = models.CharField(_("from"), max_length=200, blank=True)
    new_value = models.CharField(_("to"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket change")
        verbose_name_plural = _("ticket changes")

    def __str__(self) -> str:
        return f"{self.ticket.reference}: {self.field} {self.old_value} → {self.new_value}"


class CannedReply(models.Model):
    """Superseded by Macro (migration 0010 copied every row into a macro). The table stays a
    release longer, while the previous release still reads it."""

    title = models.CharField(_("title"), max_length=100)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    body = models.TextField(
        _("text"), help_text=_("Placeholders: {name} (the customer's name) and {reference}.")
    )

    class Meta:
        ordering = ["language", "title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title

    def render_for(self, ticket: Ticket) -> str:
        values = {"name": ticket.name or ticket.email, "reference": ticket.reference}
        # format_map with a plain dict would fail on a stray "{": replace only what we know.
        text = self.body
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text


class SentEmail(models.Model):
    """An e-mail the worker has handed to the mail server, by the key it was queued with:
    a retry, or a task given back after its worker died, finds it here and sends nothing."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("sent e-mail")
        verbose_name_plural = _("sent e-mails")

    def __str__(self) -> str:
        return self.key


class RateLimitCounter(models.Model):
    """How often one client did one thing in one window of a rate limit (tickets/ratelimit.py).

    Not in the cache: a cache may evict or expire a counter early, and a client whose counter
    vanished starts again from nothing. A row lives until its window has ended.
    """

    # "<scope>:<keyed hash of the client>:<window number>": no address in clear.
    key = models.CharField(_("key"), max_length=120, unique=True)
    window_end = models.DateTimeField(_("window ends"), db_index=True)
    hits = models.PositiveIntegerField(_("hits"), default=0)

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"


class Tag(models.Model):
    """A label staff put on tickets to find them again (leads define the list)."""

    name = models.CharField(_("tag name"), max_length=40, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class MacroQuerySet(models.QuerySet["Macro"]):
    def shared(self) -> MacroQuerySet:
        return self.filter(owner__isnull=True)

    def visible_to(self, user: models.Model) -> MacroQuerySet:
        """The team's shared macros and this agent's own; a colleague's stay theirs."""
        return self.filter(Q(owner__isnull=True) | Q(owner=user))


class Macro(models.Model):
    """A reply in both languages and what it does to the ticket (tickets/macros.py renders it,
    services.ticket_apply_macro applies it). Shared when it has no owner: leads manage those;
    every agent keeps personal ones."""

    # Set on the starter set (load_macros), so loading it again finds the same rows.
    key = models.SlugField(_("key"), max_length=60, unique=True, null=True, blank=True)
    title = models.CharField(_("title"), max_length=100)
    body_zh_hans = models.TextField(_("text (Chinese)"), blank=True, max_length=5000)
    body_en = models.TextField(_("text (English)"), blank=True, max_length=5000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="macros",
        verbose_name=_("owner"),
        help_text=_("Empty: shared with the whole team."),
    )
    set_status = models.CharField(_("set status"), max_length=10, choices=Status, blank=True)
    set_priority = models.CharField(_("set priority"), max_length=8, choices=Priority, blank=True)
    set_topic = models.CharField(_("set topic"), max_length=12, choices=Topic, blank=True)
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("add tags"))
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    objects = MacroQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        permissions = [("manage_shared_macros", _("Can manage the team's shared macros"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(body_zh_hans="", body_en=""), name="macro_has_a_text"
            ),
            models.CheckConstraint(
                condition=Q(set_status="") | Q(set_status__in=Status.values),
                name="macro_set_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(set_priority="") | Q(set_priority__in=Priority.values),
                name="macro_set_priority_valid",
            ),
            models.CheckConstraint(
                condition=Q(set_topic="") | Q(set_topic__in=Topic.values),
                name="macro_set_topic_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    def body_for(self, language: str) -> str:
        """The text in the customer's language, else the one it has."""
        own = self.body_en if language.startswith("en") else self.body_zh_hans
        return own or self.body_zh_hans or self.body_en


from tickets.incident_models import (  # noqa: E402, F401
    Incident,
    IncidentStatus,
    IncidentSubscription,
)
from tickets.protection_models import (  # noqa: E402, F401
    ChannelKind,
    EmailCode,
    OfficialChannel,
    ReportedContact,
)
