from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from tickets.access import normalize_reference
from tickets.emails import RATINGS
from tickets.masking import CARD, mask_secrets
from tickets.models import MONEY_TOPICS, Kind, Topic
from tickets.roles import chat_agents
from tickets.services import MAX_ATTACHMENTS, too_many_files_message
from tickets.settlement import Settlement, settlement
from tickets.uploads import MAX_UPLOAD_MB, PDF_CPU_SECONDS, CleanUpload, clean_upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to MAX_ATTACHMENTS files. Only counted here: their content is judged (decoded,
    re-encoded, parsed: tickets/uploads.py) by FilesCheckedLast.check_files, which the views
    call once every other field has passed and the request is within its limits."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_ATTACHMENTS:
            raise ValidationError(too_many_files_message(), code="too_many")
        return files


class FilesCheckedLast(forms.Form):
    """Reading a file's pixels costs a hundred times what the rest of the form does, so a
    request with a bad e-mail address or over its limits never pays for it."""

    def file_sizes(self) -> list[int]:
        return [upload.size or 0 for upload in self.cleaned_data.get("attachments") or []]

    def check_files(self) -> bool:
        """Replace the uploads by their safe copies; False (and the field's errors) if any
        file is refused."""
        cleaned: list[CleanUpload] = []
        errors: list[str] = []
        # One CPU budget for the request's files together, not one per file.
        budget_left = PDF_CPU_SECONDS
        for upload in self.cleaned_data.get("attachments") or []:
            started = time.thread_time()
            try:
                cleaned.append(clean_upload(upload, pdf_seconds=budget_left))
            except ValidationError as error:
                errors.extend(error.messages)
            budget_left -= time.thread_time() - started
        if errors:
            self.add_error("attachments", errors)
            return False
        self.cleaned_data["attachments"] = cleaned
        return True


def _with_limits(text: str) -> str:
    return gettext(text) % {"count": MAX_ATTACHMENTS, "size": MAX_UPLOAD_MB}


# Translated when shown, in the visitor's language, with the limits filled in.
_lazy_with_limits = lazy(_with_limits, str)


def _attachments_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Screenshots or documents"),
        required=False,
        help_text=_lazy_with_limits(
            gettext_noop(
                "Up to %(count)d files: PNG, JPEG or PDF, %(size)d MB each. "
                "Cover card numbers first."
            )
        ),
        widget=MultipleFileInput(
            attrs={
                "accept": ".png,.jpg,.jpeg,.pdf,image/png,image/jpeg,application/pdf",
                # static/js/files.js lists the chosen files, each with this button.
                "data-file-list": "",
                "data-remove-label": _("Remove"),
                "data-remove-file": _("Remove “%(name)s”"),
            }
        ),
    )


phone_validator = RegexValidator(
    r"^\+?[\d\s()-]{6,20}$", _("Enter a phone number with digits only, e.g. 138 0000 0000.")
)
reference_validator = RegexValidator(
    r"^[A-Za-z0-9-]{4,64}$",
    _("Enter the reference exactly as the app shows it: letters, digits and dashes."),
)


# Short fields stored as typed: a card number there is refused, not masked (masking a name or a
# phone number would leave it wrong). Free text (subject, description, messages) is masked.
CARD_FREE_FIELDS = frozenset({"name", "phone", "transaction_reference"})
# A transaction reference may be 16-19 digits that pass the card checksum by chance (about one
# in ten): there, only a number grouped as cards are written (6222 0212 ...) is refused.
_GROUPED_LIKE_A_CARD = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}")


def refuse_card_number(value: str) -> None:
    if CARD in mask_secrets(value).found:
        raise ValidationError(_card_message(), code="card_number")


def refuse_grouped_card_number(value: str) -> None:
    if _GROUPED_LIKE_A_CARD.search(value):
        refuse_card_number(value)


def _card_message() -> StrOrPromise:
    return _(
        "This looks like a bank card number. We never need your full card number: "
        "leave it out, or give only its last 4 digits in the description."
    )


class HoneypotForm(forms.Form):
    """A field people never see (hidden by CSS, skipped by keyboard and screen readers): bots
    that fill every input give themselves away. Rendered by includes/form_fields.html and the
    ticket form as .hp-field."""

    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        for name in CARD_FREE_FIELDS.intersection(self.fields):
            check = (
                refuse_grouped_card_number
                if name == "transaction_reference"
                else refuse_card_number
            )
            self.fields[name].validators.append(check)

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise ValidationError(
                _("We could not accept this submission. Please try again without autofill."),
                code="honeypot",
            )
        return ""


# The topics as customers see them: the help centre's own category names (one vocabulary,
# issue 15), not the staff labels of tickets.models.Topic.
CUSTOMER_TOPICS: dict[str, StrOrPromise] = {
    Topic.ACCOUNT: pgettext_lazy("ticket topic", "Registration, account & password"),
    Topic.TOP_UP: pgettext_lazy("ticket topic", "Top-up"),
    Topic.WITHDRAWAL: pgettext_lazy("ticket topic", "Withdrawals"),
    Topic.PAYMENT: pgettext_lazy("ticket topic", "Payments & refunds"),
    Topic.SECURITY: pgettext_lazy("ticket topic", "Account security"),
    Topic.OTHER: pgettext_lazy("ticket topic", "Technical problems & other"),
}


def customer_topic_label(topic: str) -> StrOrPromise:
    return CUSTOMER_TOPICS.get(topic, topic)


class TicketForm(HoneypotForm, FilesCheckedLast):
    """The complaint and suggestion form. Field names match tickets.services.ticket_create."""

    kind = forms.ChoiceField(
        label=_("What would you like to send?"),
        choices=Kind.choices,
        widget=forms.RadioSelect,
        initial=Kind.COMPLAINT,
        error_messages={"required": _("Choose what you would like to send.")},
    )
    topic = forms.ChoiceField(
        label=_("Topic"),
        choices=[("", _("Choose a topic")), *CUSTOMER_TOPICS.items()],
        error_messages={"required": _("Choose the topic closest to your problem.")},
    )
    subject = forms.CharField(
        label=_("Subject"),
        min_length=4,
        max_length=200,
        help_text=_("A few words, e.g. “Withdrawal not received after 3 days”."),
        error_messages={
            "required": _("Give your message a short subject."),
            "min_length": _("Use at least %(limit_value)d characters."),
        },
    )
    description = forms.CharField(
        label=_("Description"),
        min_length=10,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_(
            "What happened, when, what you expected, and what you have tried. "
            "Never write passwords or verification codes."
        ),
        error_messages={
            "required": _("Describe the problem or your suggestion."),
            "min_length": _("Please tell us a little more (at least %(limit_value)d characters)."),
        },
    )
    transaction_reference = forms.CharField(
        label=_("Transaction reference"),
        required=False,
        max_length=64,
        validators=[reference_validator],
        help_text=_(
            "For top-up, withdrawal and payment problems: "
            "the number shown in your transaction history."
        ),
    )
    transaction_amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
        error_messages={"invalid": _("Enter the amount in digits, e.g. 500 or 99.50.")},
    )
    transaction_date = forms.DateField(
        label=_("Date of the transaction"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date as year-month-day, e.g. 2026-11-20.")},
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send the reference number and our replies here."),
        error_messages={
            "required": _("Enter your email so we can reply."),
            "invalid": _("Enter a valid email address, e.g. name@example.com."),
        },
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=100)
    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=32, validators=[phone_validator]
    )
    attachments = _attachments_field()

    # Fields checked one by one by htmx when they lose focus.
    LIVE_FIELDS = (
        "topic",
        "subject",
        "description",
        "transaction_reference",
        "transaction_date",
        "email",
        "name",
        "phone",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.LIVE_FIELDS:
            field = self.fields[name]
            field.widget.attrs.update(
                {
                    "data-hx-post": reverse("tickets:field-check", args=[name]),
                    "data-hx-trigger": "change, blur changed delay:200ms",
                    "data-hx-target": f"#{name}-feedback",
                    "data-hx-swap": "outerHTML",
                    "data-hx-include": "closest form",
                    "aria-describedby": f"{name}-help {name}-feedback"
                    if field.help_text
                    else f"{name}-feedback",
                }
            )
        # Warn about secrets while the customer is still typing.
        self.fields["description"].widget.attrs["data-hx-trigger"] = (
            "keyup changed delay:700ms, blur"
        )
        self.fields["subject"].widget.attrs.update(
            {"autocomplete": "off", "data-hx-trigger": "keyup changed delay:700ms, blur"}
        )
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["phone"].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})

    def clean_transaction_date(self) -> date | None:
        made_on: date | None = self.cleaned_data.get("transaction_date")
        if made_on is not None and made_on > timezone.localdate():
            raise ValidationError(_("The date cannot be in the future."), code="future")
        return made_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("topic") not in MONEY_TOPICS:
            cleaned["transaction_reference"] = ""
            cleaned["transaction_amount"] = None
            cleaned["transaction_date"] = None
        return cleaned

    def settlement(self) -> Settlement | None:
        """When money of this topic normally arrives, against the date typed (or None)."""
        topic = self.data.get("topic", "")
        field = self.fields["transaction_date"]
        try:
            made_on = field.clean(self.data.get("transaction_date", ""))
        except ValidationError:
            return None
        if topic not in MONEY_TOPICS or made_on is None:
            return None
        return settlement(topic, made_on, timezone.localdate())


class MessageForm(FilesCheckedLast):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a message before sending.")},
    )
    attachments = _attachments_field()


class TrackForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference number"),
        max_length=30,
        help_text=_("As in your confirmation email, e.g. OK-7KQ2-M9XD."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={"required": _("Enter your reference number.")},
    )
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter the email you used."),
            "invalid": _("Enter a valid email address, e.g. name@example.com."),
        },
    )

    def clean_reference(self) -> str:
        # Typed from an e-mail on a phone: small letters, spaces, no dashes are all fine.
        return normalize_reference(self.cleaned_data["reference"])


def _rating_field(*, required: bool) -> forms.TypedChoiceField:
    """1-5, as on the ticket page and the page the resolving e-mail's links open
    (templates/includes/rating_fieldset.html)."""
    return forms.TypedChoiceField(
        label=_("How would you rate our help?"),
        choices=[(str(n), str(n)) for n in RATINGS],
        coerce=int,
        required=required,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating from 1 to 5.")},
    )


class RatingForm(forms.Form):
    """The page a rating link opens: the score (chosen by the click) and a comment."""

    rating = _rating_field(required=True)
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ResolutionForm(forms.Form):
    action = forms.ChoiceField(choices=[("confirm", "confirm"), ("reopen", "reopen")])
    rating = _rating_field(required=False)  # required to confirm only (clean)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == "confirm" and not cleaned.get("rating"):
            self.add_error("rating", _("Choose a rating from 1 to 5."))
        if cleaned.get("action") == "reopen" and not cleaned.get("comment", "").strip():
            self.add_error("comment", _("Tell us what is still not working."))
        return cleaned


CHAT_MESSAGE_MAX_LENGTH = 2000


def _chat_text_field(
    label: StrOrPromise, *, rows: int, required_message: StrOrPromise
) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=CHAT_MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": required_message},
    )


class ChatStartForm(HoneypotForm):
    name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Tell us what to call you.")},
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We e-mail you the conversation when the chat ends."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your email so we can reply."),
            "invalid": _("Enter a valid email address, e.g. name@example.com."),
        },
    )
    message = _chat_text_field(
        _("Your question"), rows=3, required_message=_("Write your question first.")
    )


class ChatMessageForm(forms.Form):
    body = _chat_text_field(
        _("Message"), rows=2, required_message=_("Write a message before sending.")
    )


class ChatHandOverForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=chat_agents(),
        label=_("Hand over to"),
        error_messages={
            "required": _("Choose the agent to hand the chat to."),
            "invalid_choice": _("That agent cannot answer chats."),
        },
    )


# --- "Is this really OK Wallet?" and the emergency lane (tickets/protection_views.py) -------


class VerifyForm(forms.Form):
    q = forms.CharField(
        label=_("What contacted you?"),
        max_length=300,
        help_text=_(
            "Paste a phone number, a web address, an e-mail sender, a WeChat or Weibo account, "
            "an app name, or the authenticity code at the end of our e-mails (OKV-…)."
        ),
        error_messages={"required": _("Paste what contacted you, then check it.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _what_happened_field(help_text: StrOrPromise) -> forms.CharField:
    return forms.CharField(
        label=_("What happened?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=help_text,
        error_messages={"required": _("Tell us in a few words what happened.")},
    )


class ScamReportForm(HoneypotForm):
    reported = forms.CharField(max_length=300, widget=forms.HiddenInput)
    what_happened = _what_happened_field(
        _("What they said or asked for. Never write your password or a code.")
    )
    email = forms.EmailField(
        label=_("Your e-mail"),
        required=False,
        max_length=254,
        help_text=_("Only if you would like us to reply."),
    )


class EmergencyForm(HoneypotForm):
    what_happened = _what_happened_field(
        _("For example: a payment you did not make, or you can no longer log in.")
    )
    when = forms.CharField(
        label=_("When did it happen?"),
        required=False,
        max_length=100,
        help_text=_("For example: today around 14:00."),
    )
    phone = forms.CharField(
        label=_("Phone number we can call"),
        required=False,
        max_length=32,
        validators=[phone_validator],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=_("Your e-mail"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        given = cleaned.get("phone") or cleaned.get("email")
        if not given and not self.has_error("phone") and not self.has_error("email"):
            self.add_error(
                "phone", _("Give a phone number or an e-mail address, so that we can reach you.")
            )
        return cleaned


class ReferenceReminderForm(forms.Form):
    """ "I lost my reference": the references of an address are e-mailed to that address."""

    email = forms.EmailField(
        label=_("The e-mail you wrote to us from"),
        max_length=254,
        error_messages={
            "required": _("Enter your email so we can reply."),
            "invalid": _("Enter a valid email address, e.g. name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class IncidentSubscribeForm(HoneypotForm):
    email = forms.EmailField(
        label=_("Your e-mail"),
        max_length=254,
        error_messages={
            "required": _("Enter your email so we can tell you."),
            "invalid": _("Enter a valid email address, e.g. name@example.com."),
        },
    )
