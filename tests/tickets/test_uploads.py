import io
import signal
import struct
import threading
import time
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from PIL import Image, ImageFile, PngImagePlugin
from pypdf import PdfWriter

from tests.helpers import en
from tests.tickets.conftest import MINIMAL_PDF, jpeg_bytes, png_bytes, upload
from tickets import forms as forms_module
from tickets import uploads
from tickets.forms import MessageForm
from tickets.models import Ticket
from tickets.uploads import MAX_IMAGE_PIXELS, MAX_UPLOAD_BYTES, clean_upload


@pytest.fixture(autouse=True)
def english():
    """Messages in English, whichever test ran before (the default language is Chinese)."""
    with translation.override("en"):
        yield


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


# --- Images: the cost is judged from the header, before any pixel is decoded -----------------


def png_of(mode: str, size: tuple[int, int]) -> bytes:
    output = io.BytesIO()
    Image.new(mode, size).save(output, format="PNG")
    return output.getvalue()


PIXEL_BOMB = png_of("1", (6320, 6320))  # 4.9 KB, 40 megapixels


@pytest.fixture
def no_decoding(monkeypatch):
    """Decoding pixels fails the test: what is refused must be refused from its header."""

    def load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_pixel_bomb_is_refused_from_its_header_alone(no_decoding):
    assert len(PIXEL_BOMB) < 5000
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("bomb.png", PIXEL_BOMB, "image/png"))
    assert error.value.code == "too_many_pixels"
    assert error.value.messages == [
        "“bomb.png” is too large an image (6320×6320 pixels). Send an image of at most "
        "25 megapixels and 16384 pixels on each side."
    ]


@pytest.mark.parametrize(
    "size",
    [(5001, 5000), (16385, 10)],  # over 25 megapixels; a side over 16,384 pixels
)
def test_images_over_the_limits_are_refused(no_decoding, size):
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("big.png", png_of("1", size), "image/png"))
    assert error.value.code == "too_many_pixels"


def test_a_jpeg_over_the_limit_is_refused_from_its_header(no_decoding):
    output = io.BytesIO()
    Image.new("L", (6000, 4500)).save(output, format="JPEG")
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("photo.jpg", output.getvalue(), "image/jpeg"))
    assert "6000×4500" in error.value.messages[0]


@pytest.mark.parametrize("size", [(5000, 5000), (16384, 10)])
def test_images_at_the_limits_are_accepted(size):
    cleaned = clean_upload(upload("scan.png", png_of("1", size), "image/png"))
    with Image.open(io.BytesIO(cleaned.content)) as image:
        assert image.size == size


def test_pillow_refuses_bombs_from_the_header_anywhere_in_the_process():
    assert Image.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png_of("1", (7100, 7100))))  # 50.4 megapixels


def test_the_refusal_is_in_the_customers_language():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        clean_upload(upload("炸弹.png", PIXEL_BOMB, "image/png"))
    assert error.value.messages == [
        "“炸弹.png”图片尺寸过大（6320×6320 像素）。"
        "请发送不超过 25 百万像素、每边不超过 16384 像素的图片。"
    ]


@pytest.mark.django_db
def test_the_ticket_form_shows_the_refusal_next_to_the_field(client, ticket_data):
    files = [upload(f"bomb{n}.png", PIXEL_BOMB, "image/png") for n in range(3)]
    response = client.post(en("tickets:new"), {**ticket_data, "attachments": files})
    assert response.status_code == 200
    row = response.content.decode().split('id="field-attachments"')[1].split("</form>")[0]
    assert "“bomb2.png” is too large an image (6320×6320 pixels)" in row
    assert not Ticket.objects.exists()


# --- PDFs: read by a parser, which decodes names as a reader does -----------------------------


def pdf_with_hidden_object(catalogue_entry: bytes, hidden: bytes) -> bytes:
    """A catalogue with `catalogue_entry` (e.g. b"/OpenAction 4 0 R"), object 4 being `hidden`
    inside a compressed object stream (5), found through a cross-reference stream (6): none of
    object 4's names is in the file's text, only a parser sees them."""
    parts = [b"%PDF-1.5\n"]
    offsets = {}

    def add(number, body):
        offsets[number] = sum(map(len, parts))
        parts.append(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def stream(dictionary, data):
        return b"<<%s/Length %d>>\nstream\n%s\nendstream" % (dictionary, len(data), data)

    add(1, b"<</Type/Catalog/Pages 2 0 R" + catalogue_entry + b">>")
    add(2, b"<</Type/Pages/Kids[3 0 R]/Count 1>>")
    add(3, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>")
    add(5, stream(b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode", zlib.compress(b"4 0 " + hidden)))
    offsets[6] = sum(map(len, parts))
    rows = [(0, 0, 65535), *((1, offsets[n], 0) for n in (1, 2, 3)), (2, 5, 0)]
    rows += [(1, offsets[5], 0), (1, offsets[6], 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    add(6, stream(b"/Type/XRef/Size 7/W[1 4 2]/Root 1 0 R", table))
    return b"".join(parts) + b"startxref\n%d\n%%%%EOF\n" % offsets[6]


def written_pdf(pages: int = 1, **encryption) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=100, height=100)
    if encryption:
        writer.encrypt(algorithm="RC4-128", **encryption)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


JAVASCRIPT = b"<< /S /J#61vaScript /J#53 (app.alert('x')) >>"  # a reader decodes #61 to "a"


def test_escaped_javascript_in_the_text_is_refused():
    pdf = MINIMAL_PDF.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction" + JAVASCRIPT)
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("statement.pdf", pdf, "application/pdf"))
    assert error.value.code == "pdf_active"
    assert "“statement.pdf” contains scripts" in error.value.messages[0]


@pytest.mark.parametrize(
    "entry,hidden",
    [
        (b"/OpenAction 4 0 R", JAVASCRIPT),
        (b"/Names 4 0 R", b"<</J#61vaScript<</Names[(x) 7 0 R]>>>>"),  # document scripts
        (b"/AA 4 0 R", b"<</WC<</S/JavaScript/JS(app.alert(1))>>>>"),  # on closing
        (b"/OpenAction 4 0 R", b"<</Next[[[<</JS(app.alert(1))>>]]]>>"),  # deep inside
        (b"/OpenAction 4 0 R", b"<</S/L#61unch/F(calc.exe)>>"),
        (b"/OpenAction 4 0 R", b"<</S/SubmitForm/F(https://collect.example)>>"),
        (b"/OpenAction 4 0 R", b"<</S/ImportData/F(data.fdf)>>"),
        (b"/OpenAction 4 0 R", b"<</S/URI/URI(javascript:app.alert(1))>>"),
        (b"/OpenAction 4 0 R", b"<</S/URI/URI(file:///C:/Windows/calc.exe)>>"),
        (b"/Names 4 0 R", b"<</EmbeddedFiles<</Names[]>>>>"),
        (b"/Extra 4 0 R", b"<</Type/EmbeddedFile/Subtype/application#2Fx-msdownload>>"),
        (b"/Extra 4 0 R", b"<</Type/Annot/Subtype/RichMedia>>"),
        (b"/AcroForm 4 0 R", b"<</Fields[]/XFA 8 0 R>>"),
    ],
)
def test_active_content_only_a_parser_sees_is_refused(entry, hidden):
    pdf = pdf_with_hidden_object(entry, hidden)
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("statement.pdf", pdf, "application/pdf"))
    assert error.value.code == "pdf_active"


@pytest.mark.parametrize(
    "entry,hidden",
    [
        (b"/OpenAction 4 0 R", b"<</S/GoTo/D[3 0 R/Fit]>>"),  # open at the first page
        (b"/OpenAction 4 0 R", b"<</S/URI/URI(https://help.okwallet.example/)>>"),
        (b"/AcroForm 4 0 R", b"<</Fields[]>>"),  # a form without XFA
    ],
)
def test_what_a_statement_holds_is_accepted(entry, hidden):
    pdf = pdf_with_hidden_object(entry, hidden)
    assert clean_upload(upload("statement.pdf", pdf)).content == pdf


def test_a_pdf_with_a_cross_reference_table_is_accepted():
    pdf = written_pdf(pages=3)
    assert clean_upload(upload("statement.pdf", pdf)).content_type == "application/pdf"


def test_a_pdf_of_more_than_50_pages_is_refused():
    assert clean_upload(upload("50.pdf", written_pdf(pages=50))).content_type == "application/pdf"
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("51.pdf", written_pdf(pages=51)))
    assert error.value.code == "too_many_pages"
    assert "more than 50 pages" in error.value.messages[0]


def test_an_encrypted_pdf_is_refused_unless_it_opens_without_a_password():
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("locked.pdf", written_pdf(user_password="123456")))
    assert error.value.code == "pdf_encrypted"
    # Only printing or copying is restricted: it opens, so it can be read and checked.
    restricted = written_pdf(user_password="", owner_password="bank")
    assert clean_upload(upload("statement.pdf", restricted)).content == restricted


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n" + b"not a pdf at all " * 20 + b"\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
        b"%PDF-1.4\n1 0 obj" + b"[" * 100_000 + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        # More objects than a statement has, each costing time to read.
        MINIMAL_PDF.replace(
            b"trailer", b"".join(b"%d 0 obj null endobj\n" % n for n in range(4, 20_010))
        ).replace(b"%%EOF", b"trailer<</Root 1 0 R>>\n%%EOF"),
    ],
    ids=["garbage", "no-pages", "deep-nesting", "too-many-objects"],
)
def test_a_pdf_the_parser_cannot_read_is_refused(content):
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("broken.pdf", content, "application/pdf"))
    assert error.value.code == "bad_type"


# 20,000 objects of 100 numbers: pypdf takes seconds to read them all.
COSTLY_PDF = MINIMAL_PDF.replace(
    b"trailer", b"".join(b"%d 0 obj[%s]endobj\n" % (n, b"1 " * 100) for n in range(4, 20_000))
).replace(b"%%EOF", b"trailer<</Root 1 0 R>>\n%%EOF")


def test_reading_a_pdf_stops_at_its_cpu_budget(monkeypatch):
    monkeypatch.setattr(uploads, "PDF_CPU_SECONDS", 0.05)
    started = time.process_time()
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("statement.pdf", COSTLY_PDF, "application/pdf"))
    assert time.process_time() - started < 0.5
    assert error.value.code == "bad_type"
    # The timer and its handler are put back as they were.
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) == signal.SIG_DFL


def test_outside_the_main_thread_the_budget_is_checked_between_objects():
    errors = []

    def check():
        try:
            # A budget spent before the first object is read.
            clean_upload(upload("statement.pdf", MINIMAL_PDF, "application/pdf"), pdf_seconds=1e-9)
        except ValidationError as error:
            errors.append(error.code)

    worker = threading.Thread(target=check)
    worker.start()
    worker.join()
    assert errors == ["bad_type"]


# --- Rebuilt from the parts that draw the picture, not re-encoded ------------------------------


def test_what_hides_after_a_png_or_in_its_text_is_dropped_and_the_pixels_kept():
    image = Image.new("RGB", (20, 10), (10, 200, 30))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "call +1-555-0100")
    output = io.BytesIO()
    image.save(output, format="PNG", pnginfo=info)
    original = output.getvalue() + b"<script>alert(1)</script>"
    cleaned = clean_upload(upload("s.png", original)).content
    assert b"555" not in cleaned and b"<script>" not in cleaned
    assert cleaned.endswith(b"IEND\xaeB`\x82")
    with Image.open(io.BytesIO(cleaned)) as again:
        assert again.convert("RGB").tobytes() == image.tobytes()


def test_a_png_with_a_broken_chunk_is_refused():
    data = bytearray(png_bytes())
    data[40] ^= 0xFF  # inside the first IDAT: its checksum no longer matches
    with pytest.raises(ValidationError) as error:
        clean_upload(upload("s.png", bytes(data)))
    assert error.value.code == "bad_type"


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_keeps_its_pixels_and_orientation_and_loses_the_rest(progressive):
    image = Image.new("RGB", (64, 48), (200, 120, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone upright: shown turned 90°
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif.tobytes(), progressive=progressive, comment=b"hi")
    original = output.getvalue() + b"PK\x03\x04 a zip after the image"
    cleaned = clean_upload(upload("p.jpg", original)).content
    assert b"PhoneMaker" not in cleaned and b"PK\x03\x04" not in cleaned
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(cleaned)) as after:
        assert after.getexif() == {0x0112: 6}
        assert after.tobytes() == before.tobytes()


def test_files_of_one_request_share_one_cpu_budget(monkeypatch):
    monkeypatch.setattr(forms_module, "PDF_CPU_SECONDS", 0.0)  # spent by the files before
    form = MessageForm(
        {"body": "statements"},
        MultiValueDict(
            {"attachments": [upload("a.pdf", MINIMAL_PDF), upload("b.png", png_bytes())]}
        ),
    )
    assert form.is_valid() and not form.check_files()
    assert form.errors["attachments"] == [
        "We could not check “a.pdf” together with the other files. Send it in a message of "
        "its own, or send screenshots of its pages."
    ]


def test_what_hides_in_a_jpegs_application_headers_is_dropped():
    output = io.BytesIO()
    Image.new("RGB", (32, 24), (9, 99, 199)).save(output, format="JPEG")
    original = output.getvalue()
    # A JFIF header followed by hidden text, and an "Adobe" segment carrying more.
    hidden_app0 = (
        b"\xff\xe0"
        + (2 + 14 + 20).to_bytes(2, "big")
        + original[6:20]
        + b"GPS 31.2N 121.4E ID99"[:20]
    )
    adobe = b"Adobe" + b"\x00\x64\x00\x00\x00\x00\x01" + b"secret-id-330102"
    app14 = b"\xff\xee" + (2 + len(adobe)).to_bytes(2, "big") + adobe
    start = 2 + 2 + int.from_bytes(original[4:6], "big")  # after SOI and the original APP0
    crafted = original[:2] + hidden_app0 + app14 + original[start:]
    cleaned = clean_upload(upload("p.jpg", crafted)).content
    assert b"GPS" not in cleaned and b"secret-id" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (32, 24)
