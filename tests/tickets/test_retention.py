"""Customers' files kept only as long as needed (tickets/retention.py): deleted N days after
their ticket is resolved, the ticket still naming them; every staff view of a file recorded."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from tests.helpers import en
from tests.tickets.conftest import png_bytes
from tests.tickets.factories import TicketFactory
from tickets import services
from tickets.emails import make_ticket_token
from tickets.models import Attachment, AttachmentAccess, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def retention_days(settings):
    settings.TICKETS_ATTACHMENT_RETENTION_DAYS = 30
    return 30


def finished(days_ago: float, status: str = Status.RESOLVED, **fields) -> Ticket:
    """A ticket resolved (or closed without being resolved) `days_ago` days ago."""
    ticket = TicketFactory.create(**fields)
    moment = timezone.now() - timedelta(days=days_ago)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status,
        status_changed_at=moment,
        resolved_at=moment if status == Status.RESOLVED else None,
    )
    ticket.refresh_from_db()
    return ticket


def attach(ticket: Ticket, name: str = "账单.png") -> Attachment:
    attachment = Attachment(
        ticket=ticket, original_name=name, content_type="image/png", size=len(png_bytes())
    )
    attachment.file.save("x.png", ContentFile(png_bytes()), save=True)
    return attachment


def run(*args: str) -> str:
    out = StringIO()
    call_command("delete_expired_attachments", *args, stdout=out)
    return out.getvalue()


# --- the rule ---------------------------------------------------------------------------------


def test_a_dry_run_lists_the_files_due_and_deletes_nothing(django_capture_on_commit_callbacks):
    ticket = finished(31)
    attachment = attach(ticket)
    attach(finished(29), name="recent.png")
    with django_capture_on_commit_callbacks(execute=True):
        report = run("--dry-run")
    assert ticket.reference in report and "账单.png" in report
    assert "recent.png" not in report
    assert f"Would delete 1 file(s), {attachment.size} bytes" in report
    attachment.refresh_from_db()
    assert attachment.deleted_at is None
    assert Path(attachment.file.path).exists()


def test_files_go_n_days_after_the_ticket_is_finished_and_not_before(
    django_capture_on_commit_callbacks,
):
    due = attach(finished(31))
    spam = attach(finished(31, status=Status.CLOSED, is_spam=True), name="spam.pdf")
    recent = attach(finished(29))
    still_open = TicketFactory.create(status=Status.OPEN)
    Ticket.objects.filter(pk=still_open.pk).update(created_at=timezone.now() - timedelta(days=400))
    old_but_open = attach(still_open)
    paths = {a.pk: Path(a.file.path) for a in [due, spam, recent, old_but_open]}

    with django_capture_on_commit_callbacks(execute=True):
        report = run()

    assert "Deleted 2 file(s)" in report
    for gone in [due, spam]:
        gone.refresh_from_db()
        assert not paths[gone.pk].exists()
        assert gone.deleted_at is not None and gone.file.name == ""
        assert gone.original_name in {"账单.png", "spam.pdf"}  # the ticket still names it
    for kept in [recent, old_but_open]:
        kept.refresh_from_db()
        assert paths[kept.pk].exists() and kept.deleted_at is None
    # Run again: nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert "Deleted 0 file(s)" in run()


def test_a_reopened_ticket_keeps_its_files_and_its_clock_starts_again(
    agent, django_capture_on_commit_callbacks
):
    ticket = finished(200)
    attachment = attach(ticket)
    services.ticket_reopen(ticket=ticket, reason="The money has still not arrived.")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.attachments_delete_expired() == []
    services.ticket_change_status(ticket=ticket, status=Status.RESOLVED, actor=agent)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.attachments_delete_expired(now=timezone.now() + timedelta(days=29)) == []
    attachment.refresh_from_db()
    assert attachment.deleted_at is None
    with django_capture_on_commit_callbacks(execute=True):
        deleted = services.attachments_delete_expired(now=timezone.now() + timedelta(days=31))
    assert [a.pk for a in deleted] == [attachment.pk]


def test_a_ticket_reopened_after_the_listing_keeps_its_files(
    monkeypatch, django_capture_on_commit_callbacks
):
    ticket = finished(31)
    attachment = attach(ticket)
    listed = services._tickets_with_expired_files

    def listing_then_the_customer_reopens(cutoff):
        ids = listed(cutoff)
        services.ticket_reopen(ticket=ticket, reason="It is not solved.")  # before the lock
        return ids

    monkeypatch.setattr(services, "_tickets_with_expired_files", listing_then_the_customer_reopens)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.attachments_delete_expired() == []
    attachment.refresh_from_db()
    assert attachment.deleted_at is None and Path(attachment.file.path).exists()


def test_a_deletion_that_rolls_back_keeps_the_file(django_capture_on_commit_callbacks):
    attachment = attach(finished(31))
    path = Path(attachment.file.path)
    with django_capture_on_commit_callbacks() as callbacks:
        services.attachments_delete_expired()
    assert path.exists()  # the file goes only once the row saying so is committed
    for callback in callbacks:
        callback()
    assert not path.exists()


def test_a_retention_under_one_day_is_refused(settings):
    settings.TICKETS_ATTACHMENT_RETENTION_DAYS = 0
    attachment = attach(finished(31))
    with pytest.raises(CommandError, match="TICKETS_ATTACHMENT_RETENTION_DAYS must be 1 or more"):
        run()
    assert Path(attachment.file.path).exists()


# --- what the ticket says afterwards ----------------------------------------------------------


def test_the_ticket_keeps_the_name_and_says_when_the_file_was_deleted(
    client, agent_client, django_capture_on_commit_callbacks
):
    ticket = finished(31, language="en")
    attachment = attach(ticket)
    with django_capture_on_commit_callbacks(execute=True):
        run()
    today_local = timezone.localdate()
    today = today_local.isoformat()

    admin_page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    html = admin_page.content.decode()
    assert f"file deleted on {today}" in html  # in the files panel
    assert "File deleted after the retention period" in html  # and in the history
    assert attachment.get_absolute_url() not in html  # no link to a file that is gone
    assert agent_client.get(attachment.get_absolute_url()).status_code == 404

    # The customer's page (opened from their e-mail's link) says the same.
    page = client.get(en("tickets:link", make_ticket_token(ticket)), follow=True)
    text = page.content.decode()
    with translation.override("en"):
        shown = date_format(today_local)
    assert "账单.png" in text and f"file deleted on {shown}" in text
    with translation.override("zh-hans"):
        chinese = client.get(ticket.get_absolute_url()).content.decode()
        assert f"文件已于{date_format(today_local)}删除" in chinese


# --- the audit --------------------------------------------------------------------------------


def test_every_staff_download_and_view_is_recorded_and_listed_on_the_ticket(
    agent, agent_client, lead_client
):
    ticket = TicketFactory.create(status=Status.OPEN)
    attachment = attach(ticket)
    assert agent_client.get(attachment.get_absolute_url()).status_code == 200
    assert agent_client.get(attachment.get_absolute_url() + "?inline=1").status_code == 200

    accesses = list(AttachmentAccess.objects.filter(attachment=attachment))
    assert [(a.user, a.username, a.inline) for a in accesses] == [
        (agent, "agent-a", False),
        (agent, "agent-a", True),
    ]
    html = lead_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content
    panel = html.decode().split('class="ticket-files"')[1].split("</table>")[0]
    assert "agent-a (2 times, last" in panel
    assert "while the ticket is active, then 30 days" in panel


def test_a_refused_download_or_a_head_request_is_not_recorded(
    client, agent_client, attachment_of_open_ticket
):
    client.get(attachment_of_open_ticket.get_absolute_url())  # anonymous: sent to log in
    assert agent_client.head(attachment_of_open_ticket.get_absolute_url()).status_code == 200
    assert not AttachmentAccess.objects.exists()


@pytest.fixture
def attachment_of_open_ticket():
    return attach(TicketFactory.create(status=Status.OPEN))


def test_the_files_panel_costs_one_query_however_many_files_and_openers(
    make_staff, client_for, agent_client, django_assert_max_num_queries
):
    ticket = TicketFactory.create(status=Status.OPEN)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    agent_client.get(url)  # content types and permissions cached, as in a running process
    with django_assert_max_num_queries(18) as bare:
        agent_client.get(url)
    for index in range(3):
        attachment = attach(ticket, name=f"file-{index}.png")
        for name in ["mei", "lin"]:
            services.attachment_access_record(
                attachment=attachment, user=make_staff(f"{name}-{index}"), inline=False
            )
    with django_assert_max_num_queries(18) as busy:
        response = agent_client.get(url)
    assert response.content.decode().count("(1 time, last") == 6
    # The conversation's own attachment queries are fixed too: the page costs the same.
    assert len(busy.captured_queries) == len(bare.captured_queries)
