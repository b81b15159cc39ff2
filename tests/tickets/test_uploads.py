import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from tests.tickets.conftest import MINIMAL_PDF, jpeg_bytes, png_bytes, upload
from tickets.uploads import MAX_UPLOAD_BYTES, clean_upload


def test_a_png_is_reencoded_without_its_metadata():
    original = png_bytes(exif=True)
    assert b"PhoneMaker" in original
    cleaned = clean_upload(upload("截图.png", original, "image/png"))
    assert cleaned.content_type == "image/png"
    assert b"PhoneMaker" not in cleaned.content
    with Image.open(io.BytesIO(cleaned.content)) as image:
        assert image.size == (40, 30)
        assert not image.getexif()


def test_a_jpeg_loses_exif_and_gps():
    original = jpeg_bytes(exif=True)
    assert b"PhoneMaker" in original
    cleaned = clean_upload(upload("photo.JPG", original, "image/jpeg"))
    assert (cleaned.content_type, cleaned.extension) == ("image/jpeg", ".jpg")
    with Image.open(io.BytesIO(cleaned.content)) as image:
        assert 0x8825 not in image.getexif()
        assert b"PhoneMaker" not in cleaned.content


def test_the_type_comes_from_the_content_not_the_name():
    cleaned = clean_upload(upload("receipt.pdf", png_bytes(), "application/pdf"))
    assert cleaned.content_type == "image/png"


def test_a_plain_pdf_is_accepted():
    cleaned = clean_upload(upload("statement.pdf", MINIMAL_PDF, "application/pdf"))
    assert cleaned.content_type == "application/pdf"


@pytest.mark.parametrize(
    "name,content",
    [
        ("screenshot.png", b"just some text pretending to be an image\n" * 10),  # renamed text
        ("broken.png", png_bytes()[:60]),  # a truncated, broken image
        ("evil.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 50),
        ("page.pdf", b"<html><script>alert(1)</script></html>\n" + MINIMAL_PDF),  # polyglot
        (
            "tricky.pdf",
            MINIMAL_PDF.replace(
                b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>"
            ),
        ),
        ("mixed.pdf", MINIMAL_PDF + b"<script>alert(1)</script>"),
        ("gif.png", b"GIF89a" + b"\x00" * 100),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(name, content):
    with pytest.raises(ValidationError) as error:
        clean_upload(upload(name, content))
    assert name in error.value.messages[0]


def test_an_oversized_file_is_refused():
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("big.pdf", b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES))
    assert "5 MB" in error.value.messages[0]
