from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from tests.tickets.conftest import png_bytes
from tests.tickets.factories import MessageFactory, TicketFactory
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment():
    item = Attachment(
        ticket=TicketFactory.create(), original_name="账单.png", content_type="image/png", size=10
    )
    item.file.save("x.png", ContentFile(png_bytes()), save=True)
    return item


def test_anonymous_visitors_are_sent_to_log_in(client, attachment):
    response = client.get(attachment.get_absolute_url())
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_customer_account_without_staff_rights_is_refused(client, attachment, django_user_model):
    user = django_user_model.objects.create_user("customer", password="x")
    client.force_login(user)
    assert client.get(attachment.get_absolute_url()).status_code == 403


def test_staff_without_the_ticket_permission_are_refused(attachment, make_staff, client_for):
    intern = client_for(make_staff("intern", role=None))
    assert intern.get(attachment.get_absolute_url()).status_code == 403


def test_an_agent_downloads_it_as_a_file(agent_client, attachment):
    response = agent_client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment;" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_attachments_have_no_public_url(client, attachment, private_media, settings):
    # Stored under PRIVATE_MEDIA_ROOT as it is when used (the autouse fixture moved it)...
    assert Path(attachment.file.path).is_relative_to(private_media)
    assert not Path(attachment.file.path).is_relative_to(settings.STATIC_ROOT)
    with pytest.raises(ValueError):
        attachment.file.url  # noqa: B018
    # ...and no address the site serves files from reaches it.
    for guess in ["/media/", "/static/", "/private-media/", "/"]:
        assert client.get(guess + attachment.file.name).status_code == 404, guess


# --- A file lives as long as its row ----------------------------------------------------------


def test_deleting_an_attachment_deletes_its_file_once_the_deletion_commits(
    attachment, django_capture_on_commit_callbacks
):
    stored = Path(attachment.file.path)
    with django_capture_on_commit_callbacks() as callbacks:
        attachment.delete()
    assert stored.exists()  # not yet: the deletion could still roll back
    for callback in callbacks:
        callback()
    assert not stored.exists()


def test_deleting_a_ticket_deletes_every_attachment_file(
    attachment, django_capture_on_commit_callbacks
):
    message = MessageFactory.create(ticket=attachment.ticket, author_type="customer")
    second = Attachment(
        ticket=attachment.ticket,
        message=message,
        original_name="b.png",
        content_type="image/png",
        size=10,
    )
    second.file.save("b.png", ContentFile(png_bytes()), save=True)
    stored = [Path(attachment.file.path), Path(second.file.path)]
    with django_capture_on_commit_callbacks(execute=True):
        attachment.ticket.delete()
    assert not any(path.exists() for path in stored)


def test_a_deletion_that_rolls_back_keeps_the_file(attachment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Attachment.objects.filter(pk=attachment.pk).delete()
        transaction.set_rollback(True)
    assert Attachment.objects.filter(pk=attachment.pk).exists()
    assert Path(attachment.file.path).exists()


def test_a_file_that_cannot_be_deleted_does_not_fail_the_deletion(
    attachment, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def refuse(name):
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(attachment.file.storage, "delete", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        attachment.delete()
    assert not Attachment.objects.exists()
    assert "could not delete the file" in caplog.text  # left for manage.py orphan_files
