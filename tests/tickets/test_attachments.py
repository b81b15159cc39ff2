import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from tests.tickets.conftest import png_bytes
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment():
    item = Attachment(
        ticket=TicketFactory(), original_name="账单.png", content_type="image/png", size=10
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


def test_staff_without_the_ticket_permission_are_refused(client, attachment, django_user_model):
    user = django_user_model.objects.create_user("intern", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(attachment.get_absolute_url()).status_code == 403


def test_staff_download_it_as_a_file(client, attachment, django_user_model):
    user = django_user_model.objects.create_user("agent", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(user)
    response = client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment;" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_attachments_have_no_public_url(attachment, settings):
    assert not str(attachment.file.path).startswith(str(settings.MEDIA_ROOT))
    assert not str(attachment.file.path).startswith(str(settings.STATIC_ROOT))
    with pytest.raises(ValueError):
        attachment.file.url  # noqa: B018
