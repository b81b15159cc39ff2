from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from faq.models import Article, current_language
from faq.pagecache import cached_page, chat_state
from faq.search import SearchResult, search
from faq.services import deflection_record
from tickets.access import DRAFT_SESSION_KEY, grant_access, ticket_for_customer
from tickets.emails import read_ticket_token
from tickets.files import FileStoreError
from tickets.forms import (
    MessageForm,
    ReferenceReminderForm,
    ResolutionForm,
    TicketForm,
    TrackForm,
    customer_topic_label,
)
from tickets.masking import mask_secrets
from tickets.models import Attachment, Kind, Ticket, Topic, topic_for_category
from tickets.quotas import QuotaExceeded, check_follow_up
from tickets.ratelimit import (
    REMINDER_PER_EMAIL,
    TICKET_PER_EMAIL,
    TICKET_PER_IP,
    TRACKING_PER_IP,
    SkipUploads,
    skip_uploads,
    take_all,
)
from tickets.services import (
    TicketClosedError,
    attachment_access_record,
    references_reminder_request,
    ticket_add_customer_message,
    ticket_confirm_resolution,
    ticket_reopen,
    ticket_submit,
)
from wallet_support.clients import client_ip
from wallet_support.htmx import HtmxHttpRequest, staff_user


class _FilesRefused(Exception):
    """A follow-up's file failed its content check; the form's field errors say why."""


SUBMITTED_SESSION_KEY = "tickets_submitted"
JOINED_SESSION_KEY = "tickets_submitted_joined"
DEFLECTED_SESSION_KEY = "tickets_deflected"
SUGGESTIONS = 3


def _suggested_articles(subject: str) -> list[SearchResult]:
    if len(subject.strip()) < 2:
        return []
    return search(subject, language=current_language(), limit=SUGGESTIONS)


# CSRF is checked in _ticket_form, after the rate limit: the check reads the body, and with it
# every uploaded file, which a refused request must not cost us.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@vary_on_headers("HX-Request")
@cached_page()
def ticket_new(request: HtmxHttpRequest) -> HttpResponse:
    # Only the address is known before the body is read: a refused request's files are skipped
    # unread, and its text is shown again.
    skipped = None
    if request.method == "POST" and TICKET_PER_IP.reached(client_ip(request)):
        skipped = skip_uploads(request)
    return _ticket_form(request, skipped=skipped)


@csrf_protect
def _ticket_form(request: HtmxHttpRequest, *, skipped: SkipUploads | None) -> HttpResponse:
    # A chat that could not start hands over what the customer typed (tickets.chat_views).
    initial: dict[str, str] = {}
    if request.method != "POST":
        # HEAD answers like GET, but leaves the draft for the GET that follows.
        if request.method == "GET":
            initial = request.session.pop(DRAFT_SESSION_KEY, None) or {}
        else:
            initial = dict(request.session.get(DRAFT_SESSION_KEY) or {})
        # From a help page's "still need help?": its category's topic, already chosen.
        if category := request.GET.get("category"):
            initial.setdefault("topic", topic_for_category(category))
        # "Leave a message" when the chat is closed: a question, and the form says why.
        if request.GET.get("from") == "chat":
            initial.setdefault("reason", "closed")
        if (kind := request.GET.get("kind")) in Kind.values:
            initial.setdefault("kind", kind)
        # A link that names the topic (the status page's banners): chosen, and its banner shown.
        if (topic := request.GET.get("topic")) in Topic.values:
            initial.setdefault("topic", topic)
    chat_reason = initial.pop("reason", "")
    form = TicketForm(request.POST or None, request.FILES or None, initial=initial)
    refused = skipped is not None
    if request.method == "POST" and not refused and form.is_valid():
        data = form.cleaned_data
        # Both places are taken at once, and only now that every text field has passed. Then
        # the files are judged: a request whose files are refused still counts, since judging
        # them is what costs (FilesCheckedLast).
        if not take_all((TICKET_PER_IP, client_ip(request)), (TICKET_PER_EMAIL, data["email"])):
            refused = True
        elif form.check_files():
            try:
                submission = ticket_submit(
                    kind=data["kind"],
                    topic=data["topic"],
                    subject=data["subject"],
                    description=data["description"],
                    email=data["email"],
                    name=data["name"],
                    phone=data["phone"],
                    transaction_reference=data["transaction_reference"],
                    transaction_amount=data["transaction_amount"],
                    transaction_date=data["transaction_date"],
                    attachments=data["attachments"],
                    language=current_language(),
                )
            except FileStoreError as error:  # a full disk: said by the field, nothing lost
                form.add_error("attachments", error)
            except QuotaExceeded as error:  # joining a ticket that already took a lot
                form.add_error("description" if error.field == "body" else error.field, error)
            else:
                request.session[SUBMITTED_SESSION_KEY] = submission.ticket.reference
                request.session[JOINED_SESSION_KEY] = submission.joined
                grant_access(request, submission.ticket)
                return redirect("tickets:submitted")

    files_lost = bool(request.FILES) or (skipped is not None and skipped.skipped > 0)
    if refused:
        message = _(
            "You have sent several messages in a short time. Please wait an hour before "
            "sending another, or add details to the ticket you already have."
        )
    else:  # a filled-in honeypot field is answered like a refusal, with 200 (tickets.forms)
        message = str(form.errors.get("website", [""])[0]) if form.is_bound else ""
    context = {
        "form": form,
        "chat_reason": chat_reason,
        "refused": message,
        "files_lost": files_lost,
        "suggestions": _suggested_articles(form["subject"].value() or ""),
        "date_settlement": form.settlement() if form.is_bound else None,
        "subject_masked": mask_secrets(form["subject"].value() or "").labels,
        "description_masked": mask_secrets(form["description"].value() or "").labels,
    }
    return TemplateResponse(
        request, "tickets/ticket_form.html", context, status=429 if refused else 200
    )


@require_POST
def ticket_field_check(request: HtmxHttpRequest, field_name: str) -> HttpResponse:
    """One field's errors and warnings, checked by htmx as the customer fills the form."""
    form = TicketForm(request.POST)
    if field_name not in TicketForm.LIVE_FIELDS:
        raise Http404
    form.is_valid()
    value = form[field_name].value() or ""
    context = {
        "field": form[field_name],
        # An empty field the customer has not filled yet is not an error to shout about.
        "hide_errors": not value,
        "masked_preview": mask_secrets(value).labels
        if field_name in {"subject", "description"}
        else [],
        "settlement": form.settlement() if field_name == "transaction_date" else None,
        # The subject also refreshes the matching articles beside the form (out of band).
        "suggestions_oob": field_name == "subject",
        "suggestions": _suggested_articles(value) if field_name == "subject" else [],
    }
    return TemplateResponse(request, "tickets/ticket_form.html#field-feedback", context)


@require_safe
def suggestion_open(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Count a deflection (a suggested article opened from the form), then show the article."""
    article = get_object_or_404(Article.objects.published().in_language(), slug=slug)
    # Once per visit: a HEAD (a link checker, a preview) opened nothing, and reloading the
    # link is the same deflection.
    opened = request.session.get(DEFLECTED_SESSION_KEY, [])
    if request.method == "GET" and article.pk not in opened:
        deflection_record(article=article)
        request.session[DEFLECTED_SESSION_KEY] = [article.pk, *opened][:50]
    return HttpResponseRedirect(article.get_absolute_url())


@require_safe
def ticket_submitted(request: HtmxHttpRequest) -> HttpResponse:
    reference = request.session.get(SUBMITTED_SESSION_KEY)
    if not reference:
        return redirect("tickets:track")
    ticket = get_object_or_404(Ticket, reference=reference)
    context = {"ticket": ticket, "joined": request.session.get(JOINED_SESSION_KEY, False)}
    return TemplateResponse(request, "tickets/ticket_submitted.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@cached_page(variant=chat_state)
def ticket_track(request: HtmxHttpRequest) -> HttpResponse:
    form = TrackForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST":
        # Every attempt counts, found or not: this limit is what makes references unguessable.
        if not TRACKING_PER_IP.take(client_ip(request)):
            error = _("Too many attempts. Please wait a few minutes and try again.")
            status = 429
        elif form.is_valid():
            ticket = Ticket.objects.by_reference(form.cleaned_data["reference"]).first()
            # Compare even when there is no ticket, so the answer takes as long either way.
            stored_email = ticket.email.lower() if ticket else "no-ticket@invalid"
            if constant_time_compare(stored_email, form.cleaned_data["email"].lower()) and ticket:
                grant_access(request, ticket)
                return redirect(ticket)
            error = _(
                "We could not find a ticket with this reference and email. "
                "Check both and try again."
            )
    expired = request.GET.get("expired") == "1"
    return TemplateResponse(
        request,
        "tickets/ticket_track.html",
        {
            "form": form,
            "error": error,
            "expired": expired,
            "reminder_form": ReferenceReminderForm(prefix="reminder"),
            "reminded": request.GET.get("reminded") == "1",
        },
        status=status,
    )


@require_POST
def ticket_references_reminder(request: HtmxHttpRequest) -> HttpResponse:
    """ "I lost my reference": the same answer whether or not the address has tickets."""
    form = ReferenceReminderForm(request.POST, prefix="reminder")  # beside the tracking form
    refused = False
    if form.is_valid():
        email = form.cleaned_data["email"]
        hits = ((TRACKING_PER_IP, client_ip(request)), (REMINDER_PER_EMAIL, email.lower()))
        if take_all(*hits):
            references_reminder_request(email=email, language=current_language())
            return redirect(reverse("tickets:track") + "?reminded=1#reminder")
        refused = True
        form.add_error("email", _("Too many attempts. Please wait a few minutes and try again."))
    context = {"form": TrackForm(), "reminder_form": form, "error": "", "expired": False}
    return TemplateResponse(
        request, "tickets/ticket_track.html", context, status=429 if refused else 200
    )


@require_safe
def ticket_link(request: HtmxHttpRequest, token: str) -> HttpResponse:
    reference = read_ticket_token(token)
    ticket = Ticket.objects.filter(reference=reference).first() if reference else None
    if ticket is None:
        return redirect(f"{reverse('tickets:track')}?expired=1")
    grant_access(request, ticket)
    # Redirect so the token leaves the address bar and the browser history.
    return redirect(ticket)


def _detail_context(ticket: Ticket, **extra: object) -> dict[str, object]:
    messages = list(
        ticket.messages.public().select_related("author").prefetch_related("attachments")
    )
    opening_attachments = [a for a in ticket.attachments.all() if a.message_id is None]
    return {
        "ticket": ticket,
        "topic_label": customer_topic_label(ticket.topic),
        "messages": messages,
        "opening_attachments": opening_attachments,
        "message_form": MessageForm(),
        "resolution_form": ResolutionForm(),
        **extra,
    }


@require_safe
def ticket_detail(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_for_customer(request, reference)
    return TemplateResponse(request, "tickets/ticket_detail.html", _detail_context(ticket))


@require_POST
def ticket_reply(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_for_customer(request, reference)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            # The quotas first (the service checks them again with the ticket locked): a
            # refused follow-up's files are never decoded.
            check_follow_up(ticket, form.file_sizes())
            if not form.check_files():
                raise _FilesRefused
            ticket_add_customer_message(
                ticket=ticket,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
            )
        except TicketClosedError:
            form.add_error(None, _("This ticket is closed. Please send a new message instead."))
        except QuotaExceeded as error:
            form.add_error(error.field, error)
        except FileStoreError as error:
            form.add_error("attachments", error)
        except _FilesRefused:
            pass  # the field's own errors say which file and why
        else:
            return HttpResponseRedirect(f"{ticket.get_absolute_url()}#conversation")
    context = _detail_context(ticket, message_form=form, files_lost=bool(request.FILES))
    return TemplateResponse(request, "tickets/ticket_detail.html", context)


@require_POST
def ticket_resolution(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_for_customer(request, reference)
    form = ResolutionForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["action"] == "confirm":
                ticket_confirm_resolution(
                    ticket=ticket,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            else:
                ticket_reopen(ticket=ticket, reason=form.cleaned_data["comment"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return HttpResponseRedirect(ticket.get_absolute_url())
    context = _detail_context(ticket, resolution_form=form)
    return TemplateResponse(request, "tickets/ticket_detail.html", context)


@require_safe
def attachment_download(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    """Attachments are for staff only: customers' screenshots may show their accounts."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.user.is_staff and request.user.has_perm("tickets.view_ticket")):
        raise PermissionDenied
    attachment = get_object_or_404(Attachment, pk=pk)
    if attachment.is_deleted:
        raise Http404("The file was deleted after the retention period.")
    inline = request.GET.get("inline") == "1" and attachment.is_image
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    # Recorded once the file is open (a missing file raises first): who saw a customer's file.
    # A HEAD request is answered without the file's content.
    if request.method == "GET":
        attachment_access_record(attachment=attachment, user=staff_user(request), inline=inline)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
