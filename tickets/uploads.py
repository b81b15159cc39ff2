"""Judge an uploaded file by its content, never by its name or the browser's content type.

Images are rebuilt from the parts that draw them (PNG chunks, JPEG segments), checked against
their header: what is stored has no EXIF or GPS data, no text, and nothing hidden after the
image. Not decoded and re-encoded, which costs up to 0.6 s of CPU per file on a public form.
PDFs cannot be rebuilt here, so they must start with the PDF header, end with its trailer,
parse, and carry no active content.

The form is public, so every check is ordered by cost: what a header says is refused before
any pixel is decoded or any PDF object is read.
"""

from __future__ import annotations

import io
import re
import signal
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin
from pypdf import PasswordType, PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
)

MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# Phone screenshots are 3-6 megapixels and photos 12-24: 25 is generous. Decoding is what an
# image costs us, and a 4.9 KB PNG can declare 40 megapixels (seconds and 250 MB to re-encode).
MAX_IMAGE_PIXELS = 25_000_000
# Not 12,000: a phone's scrolling screenshot, 1080 pixels wide, reaches 16,000 pixels tall.
MAX_IMAGE_SIDE = 16_384
MAX_PDF_PAGES = 50
# pypdf is pure Python: 5 MB of crafted objects take it seconds (a 36-page manual, 40 ms). So
# reading a PDF stops after PDF_CPU_SECONDS of CPU, whatever the file's shape (_cpu_budget):
# the whole public request must stay under ~100 ms (scripts/bench_abuse.py). A statement of 50
# pages takes 10-20 ms; a heavier PDF is refused with a request for screenshots instead.
#
# and a file declaring more objects than a statement has is refused without looking further.
MAX_PDF_OBJECTS = 20_000
PDF_CPU_SECONDS = 0.05

# Every image Pillow opens in this process: Image.open refuses (DecompressionBombError) above
# twice this, from the header, before decoding. Uploads are refused at this limit already.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

_SIGNATURES: tuple[tuple[bytes, str, type[ImageFile.ImageFile]], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG", PngImagePlugin.PngImageFile),
    (b"\xff\xd8\xff", "JPEG", JpegImagePlugin.JpegImageFile),
)
# What a malformed header makes Pillow raise (Image.open turns the same into "unidentified").
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, IndexError, TypeError, struct.error)

# Active content in a PDF, as the parser decodes names (/J#61vaScript is /JavaScript):
# dictionary keys that carry it, and names (an action's /S, an object's /Type or /Subtype).
_PDF_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"})
_PDF_ACTIVE_NAMES = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToE",  # goes to an embedded file
        "/EmbeddedFile",
        "/RichMedia",
        "/RichMediaExecute",
    }
)
# A link may open a web page, write an e-mail or call; not run a script or open a local file.
_PDF_URI_SCHEMES = ("http:", "https:", "mailto:", "tel:")
# Markup a browser might render if it sniffed.
_MARKUP = re.compile(rb"<\s*(?:html|script|svg|iframe|body)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CleanUpload:
    content: bytes
    content_type: str
    extension: str
    original_name: str


def _clean_name(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "file"


def _image_header(data: bytes) -> tuple[str, ImageFile.ImageFile] | None:
    """The image's format, and the image as its header describes it, nothing decoded.
    Pillow's plug-in is called directly: Image.open would refuse a large image itself,
    without saying how large."""
    for signature, image_format, plugin in _SIGNATURES:
        if data.startswith(signature):
            try:
                return image_format, plugin(io.BytesIO(data))
            except _PILLOW_ERRORS:
                return None
    return None


def _image_without_metadata(data: bytes, name: str) -> tuple[bytes, str, str] | None:
    found = _image_header(data)
    if found is None:
        return None
    image_format, header = found
    with header:
        width, height = header.size
        if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
            raise ValidationError(
                _(
                    "“%(name)s” is too large an image (%(width)d×%(height)d pixels). Send an "
                    "image of at most %(megapixels)d megapixels and %(side)d pixels on each side."
                )
                % {
                    "name": name,
                    "width": width,
                    "height": height,
                    "megapixels": MAX_IMAGE_PIXELS // 1_000_000,
                    "side": MAX_IMAGE_SIDE,
                },
                code="too_many_pixels",
            )
        try:
            header.verify()  # the chunks' checksums; the image must be reopened afterwards
            # A JPEG's EXIF was read with its header, so reading it needs no reopening.
            orientation = (
                header.getexif().get(_EXIF_ORIENTATION, 1) if image_format == "JPEG" else 1
            )
        except _PILLOW_ERRORS:
            return None
    # Not decoded and re-encoded: at 25 megapixels that alone is 0.6 s of CPU on a public form.
    # The file is rebuilt from the parts that draw the picture, so that no metadata (EXIF, GPS,
    # text, colour profiles) and nothing after the image's end survives.
    try:
        if image_format == "PNG":
            return _png_image_chunks(data), "image/png", ".png"
        return _jpeg_image_segments(data, orientation), "image/jpeg", ".jpg"
    except _NotAnImage:
        return None


class _NotAnImage(Exception):
    """The file's structure is broken past where its header said it was an image."""


_EXIF_ORIENTATION = 0x0112
# The chunks that draw a PNG (and say how its colours and pixels are to be read). Text, EXIF,
# time stamps, ICC profiles, animation frames and private chunks are left out.
_PNG_KEPT_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM",
                              b"sRGB", b"sBIT", b"pHYs", b"bKGD"})  # fmt: skip


def _png_image_chunks(data: bytes) -> bytes:
    output = [data[:8]]
    position = 8
    while True:
        if position + 12 > len(data):
            raise _NotAnImage
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise _NotAnImage
        chunk = data[position:end]
        if zlib.crc32(chunk[4:-4]) != struct.unpack(">I", chunk[-4:])[0]:
            raise _NotAnImage
        if kind in _PNG_KEPT_CHUNKS:
            output.append(chunk)
        position = end
        if kind == b"IEND":
            return b"".join(output)  # anything after the end is dropped


# JPEG markers kept: frames (SOFn), tables (DHT, DQT, DRI, DAC), scans, JFIF (APP0) and Adobe
# (APP14, which says how the colours were transformed). EXIF/XMP (APP1), ICC (APP2), the other
# application segments and comments are left out.
_JPEG_KEPT_MARKERS = frozenset({*range(0xC0, 0xD0), 0xDB, 0xDD, 0xDA, 0xE0, 0xEE})
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and the restart markers


def _jpeg_segment_kept(marker: int, segment: bytes) -> bytes:
    """Application segments are kept only as their fixed headers: an APP0 could carry a
    thumbnail (with its own EXIF) or any bytes after "JFIF", an APP14 anything after "Adobe"."""
    if marker == 0xE0:
        if segment[4:9] != b"JFIF\0" or len(segment) < 18:
            return b""
        return b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"  # no thumbnail
    if marker == 0xEE:
        return segment[:16] if segment[4:9] == b"Adobe" and len(segment) >= 16 else b""
    return segment


def _orientation_segment(orientation: int) -> bytes:
    """A minimal EXIF segment holding only the orientation: a photo taken upright stays so."""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    payload = exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _jpeg_image_segments(data: bytes, orientation: int) -> bytes:
    output = [b"\xff\xd8"]
    if orientation in range(2, 9):
        output.append(_orientation_segment(orientation))
    position = 2
    while True:
        if position + 2 > len(data) or data[position] != 0xFF:
            raise _NotAnImage
        marker = data[position + 1]
        if marker == 0xFF:  # fill bytes before a marker
            position += 1
            continue
        if marker == 0xD9:  # end of image: anything after it is dropped
            output.append(b"\xff\xd9")
            return b"".join(output)
        if marker in _JPEG_NO_LENGTH:
            output.append(data[position : position + 2])
            position += 2
            continue
        if position + 4 > len(data):
            raise _NotAnImage
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise _NotAnImage
        if marker in _JPEG_KEPT_MARKERS:
            output.append(_jpeg_segment_kept(marker, data[position:end]))
        position = end
        if marker == 0xDA:  # the scan's coded data runs to the next marker but RSTn
            scan_end = position
            while True:
                scan_end = data.find(b"\xff", scan_end)
                if scan_end < 0 or scan_end + 1 >= len(data):
                    raise _NotAnImage
                following = data[scan_end + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    scan_end += 2
                    continue
                break
            output.append(data[position:scan_end])
            position = scan_end


def _pdf_active(name: str) -> ValidationError:
    return ValidationError(
        _(
            "“%(name)s” contains scripts, embedded files or other active content, which we "
            "cannot accept. Send a screenshot of the pages instead."
        )
        % {"name": name},
        code="pdf_active",
    )


def _is_active(item: PdfObject) -> bool:
    """Does a reader run or open something because of this object (not counting the objects
    inside it, which _walk yields too)?"""
    if isinstance(item, NameObject):
        return item in _PDF_ACTIVE_NAMES
    if isinstance(item, DictionaryObject):  # a stream's dictionary too; its data is not read
        if _PDF_ACTIVE_KEYS.intersection(item):
            return True
        uri = item.get("/URI")
        if uri is not None:
            uri = uri.get_object()
            text = uri.decode("latin-1") if isinstance(uri, bytes) else str(uri)
            return not text.strip().lower().startswith(_PDF_URI_SCHEMES)
    return False


def _walk(item: PdfObject) -> Iterator[PdfObject]:
    """The object and every direct object inside it. References are not followed: every
    indirect object is read once, from the cross-reference table. A stack, not recursion:
    nesting as deep as an attacker likes costs no stack."""
    stack = [item]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, DictionaryObject):
            stack.extend(current.values())
        elif isinstance(current, ArrayObject):
            stack.extend(current)


def _indirect_objects(reader: PdfReader) -> list[IndirectObject]:
    """Every object the file declares, those inside compressed object streams included."""
    found = [IndirectObject(idnum, 0, reader) for idnum in reader.xref_objStm]
    for generation, table in reader.xref.items():
        found.extend(IndirectObject(idnum, generation, reader) for idnum in table)
    return found


class _OverBudget(BaseException):
    """Raised by _cpu_budget's timer. Not an Exception: pypdf recovers from many of those,
    and would carry on."""


@contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    """At most `seconds` of CPU time in the block, else _OverBudget from wherever it is.

    A timer signal, so that it also interrupts one long parse. Only the main thread receives
    signals (gunicorn's sync workers serve requests there); in another thread, or if the
    timer is in use, the block runs unbounded and _check_pdf_objects' own checks between
    objects are the limit."""
    in_use = signal.getitimer(signal.ITIMER_PROF) != (0.0, 0.0)
    if threading.current_thread() is not threading.main_thread() or in_use:
        yield
        return

    def over_budget(signum: int, frame: FrameType | None) -> None:
        raise _OverBudget

    previous = signal.signal(signal.SIGPROF, over_budget)
    # Once, not repeating: a repeating timer re-entered whatever was handling the first
    # signal when it landed in a finaliser (pytest's unraisable hook, in CI). A signal lost in
    # a bare `except:` leaves the deadline checked between objects (_check_pdf_objects).
    signal.setitimer(signal.ITIMER_PROF, seconds, 0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _check_pdf_objects(reader: PdfReader, name: str, seconds: float) -> None:
    objects = _indirect_objects(reader)
    if len(objects) > MAX_PDF_OBJECTS:
        raise ValueError("too many objects to read")
    if len(reader.pages) > MAX_PDF_PAGES:
        raise ValidationError(
            _("“%(name)s” has more than %(count)d pages. Send only the pages about your problem.")
            % {"name": name, "count": MAX_PDF_PAGES},
            code="too_many_pages",
        )
    deadline = time.thread_time() + seconds
    for top in [reader.trailer, *objects]:
        resolved = top.get_object()
        if resolved is not None and any(_is_active(item) for item in _walk(resolved)):
            raise _pdf_active(name)
        if time.thread_time() > deadline:
            raise ValueError("too slow to read")


def _check_pdf(data: bytes, name: str, seconds: float) -> bool:
    """True for a PDF we accept, False for what is not a PDF we can read; ValidationError for
    a PDF refused for a reason the customer can act on."""
    # The header must be the very first bytes (readers accept it later, which is what lets a
    # file be an image or a web page and a PDF at once), and the trailer must end the file.
    if not data.startswith(b"%PDF-1.") and not data.startswith(b"%PDF-2."):
        return False
    if b"%%EOF" not in data[-1024:]:
        return False
    if _MARKUP.search(data):
        return False
    # A file without a cross-reference table (hand-made, or the smallest PDFs) is rebuilt from
    # its objects by every reader; pypdf does the same once told the table is nowhere.
    if b"startxref" not in data[-1024:]:
        data += b"\nstartxref\n0\n%%EOF\n"
    try:
        with _cpu_budget(seconds):
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise ValidationError(
                    _(
                        "“%(name)s” is an encrypted PDF, which we cannot check. Send a copy "
                        "without a password, or a screenshot of the pages."
                    )
                    % {"name": name},
                    code="pdf_encrypted",
                )
            _check_pdf_objects(reader, name, seconds)
            return isinstance(reader.trailer.get("/Root"), IndirectObject | DictionaryObject)
    except ValidationError:
        raise
    # A damaged or hostile file makes pypdf raise almost anything (its own errors, KeyError,
    # TypeError, RecursionError...): whatever it is, the file is not one we can vouch for.
    except (Exception, _OverBudget):
        return False


def clean_upload(upload: UploadedFile, *, pdf_seconds: float = PDF_CPU_SECONDS) -> CleanUpload:
    """Return a safe copy of the upload, or raise ValidationError in the customer's language.
    `pdf_seconds`: the CPU a PDF may take to read (what is left of the request's budget)."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than %(size)d MB.")
            % {"name": _clean_name(upload.name or ""), "size": MAX_UPLOAD_MB},
            code="too_large",
        )
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    name = _clean_name(upload.name or "")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than %(size)d MB.") % {"name": name, "size": MAX_UPLOAD_MB},
            code="too_large",
        )
    if not data:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")

    image = _image_without_metadata(data, name)
    if image is not None:
        content, content_type, extension = image
        return CleanUpload(content, content_type, extension, name)
    if data.startswith(b"%PDF") and pdf_seconds <= 0:
        raise ValidationError(
            _(
                "We could not check “%(name)s” together with the other files. Send it in a "
                "message of its own, or send screenshots of its pages."
            )
            % {"name": name},
            code="pdf_no_budget",
        )
    if _check_pdf(data, name, pdf_seconds):
        return CleanUpload(data, "application/pdf", ".pdf", name)
    raise ValidationError(
        _("“%(name)s” is not a PNG or JPEG image or a PDF document we can accept.")
        % {"name": name},
        code="bad_type",
    )
