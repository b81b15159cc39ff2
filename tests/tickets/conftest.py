import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from tests.tickets.mail_backends import MailOutage

VALID_TICKET = {
    "kind": "complaint",
    "topic": "withdrawal",
    "subject": "Withdrawal not received",
    "description": "I withdrew 500 yuan three days ago and it has not arrived in my bank.",
    "transaction_reference": "TX-20261120-88",
    "email": "li.wei@example.com",
    "name": "Li Wei",
    "phone": "138 0000 0000",
}


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def ticket_data():
    return dict(VALID_TICKET)


@pytest.fixture
def mail_server_down(settings):
    """`mail_server_down.failures_left = 2`: the next two sends fail, then mail goes through."""
    outage = MailOutage()
    settings.EMAIL_BACKEND = "tests.tickets.mail_backends.FlakyEmailBackend"
    settings.TEST_MAIL_OUTAGE = outage
    return outage


@pytest.fixture
def run_tasks():
    """Run every task that is due, as `manage.py db_worker` does in production."""

    def run() -> None:
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")

    return run


def png_bytes(size=(40, 30), exif=False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    output = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS info
        image.save(output, format="PNG", exif=data)
    else:
        image.save(output, format="PNG")
    return output.getvalue()


def jpeg_bytes(exif=True) -> bytes:
    image = Image.new("RGB", (40, 30), (20, 120, 200))
    output = io.BytesIO()
    data = Image.Exif()
    if exif:
        data[0x010F] = "PhoneMaker"
        data[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}
    image.save(output, format="JPEG", exif=data.tobytes())
    return output.getvalue()


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)
