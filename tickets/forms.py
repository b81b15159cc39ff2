from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from tickets.models import MONEY_TOPICS, Kind, Topic
from tickets.roles import chat_agents
from tickets.services import MAX_ATTACHMENTS, too_many_files_message
from tickets.uploads import MAX_UPLOAD_MB, CleanUpload, clean_upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to MAX_ATTACHMENTS files, each judged by its content (tickets/uploads.py)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[CleanUpload]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_ATTACHMENTS:
            raise ValidationError(too_many_files_message(), code="too_many")
        cleaned, errors = [], []
        for upload in files:
            try:
                cleaned.append(clean_upload(upload))
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned


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
            attrs={"accept": ".png,.jpg,.jpeg,.pdf,image/png,image/jpeg,application/pdf"}
        ),
    )


phone_validator = RegexValidator(
    r"^\+?[\d\s()-]{6,20}$", _("Enter a phone number with digits only, e.g. 138 0000 0000.")
)
reference_validator = RegexValidator(
    r"^[A-Za-z0-9-]{4,64}$",
    _("Enter the reference exactly as the app shows it: letters, digits and dashes."),
)


class HoneypotForm(forms.Form):
    """A field people never see (hidden by CSS, skipped by keyboard and screen readers): bots
    that fill every input give themselves away. Rendered by includes/form_fields.html and the
    ticket form as .hp-field."""

    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise ValidationError(
                _("We could not accept this submission. Please try again without autofill."),
                code="honeypot",
            )
        return ""


class TicketForm(HoneypotForm):
    """The complaint and suggestion form. Field names match tickets.services.ticket_create."""

    kind = forms.ChoiceField(
        label=_("What would you like to send?"),
        choices=Kind.choices,
        widget=forms.RadioSelect,
        initial=Kind.COMPLAINT,
        error_messages={"required": _("Choose complaint or suggestion.")},
    )
    topic = forms.ChoiceField(
        label=_("Topic"),
        choices=[("", _("Choose a topic")), *Topic.choices],
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
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send the reference number and our replies here."),
        error_messages={
            "required": _("Enter your email so we can reply."),
            "invalid": _("Enter a valid email address, e.g. name@example.com."),
        },
    )
    name = forms.CharField(label=_("Name (optional)"), required=False, max_length=100)
    phone = forms.CharField(
        label=_("Phone (optional)"), required=False, max_length=32, validators=[phone_validator]
    )
    attachments = _attachments_field()

    # Fields checked one by one by htmx when they lose focus.
    LIVE_FIELDS = (
        "topic",
        "subject",
        "description",
        "transaction_reference",
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
                    "hx-post": reverse("tickets:field-check", args=[name]),
                    "hx-trigger": "change, blur changed delay:200ms",
                    "hx-target": f"#{name}-feedback",
                    "hx-swap": "outerHTML",
                    "hx-include": "closest form",
                    "aria-describedby": f"{name}-help {name}-feedback"
                    if field.help_text
                    else f"{name}-feedback",
                }
            )
        # Warn about secrets while the customer is still typing.
        self.fields["description"].widget.attrs["hx-trigger"] = "keyup changed delay:700ms, blur"
        self.fields["subject"].widget.attrs.update(
            {"autocomplete": "off", "hx-trigger": "keyup changed delay:700ms, blur"}
        )
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["phone"].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("topic") not in MONEY_TOPICS:
            cleaned["transaction_reference"] = ""
        return cleaned


class MessageForm(forms.Form):
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
        max_length=20,
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


class ResolutionForm(forms.Form):
    RATINGS = [(str(n), str(n)) for n in range(1, 6)]

    action = forms.ChoiceField(choices=[("confirm", "confirm"), ("reopen", "reopen")])
    rating = forms.TypedChoiceField(
        label=_("How would you rate our help?"),
        choices=RATINGS,
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
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
