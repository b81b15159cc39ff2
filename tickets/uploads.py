"""Judge an uploaded file by its content, never by its name or the browser's content type.

Images are decoded and re-encoded with Pillow: what is stored is pixels we wrote ourselves, with
no EXIF or GPS data and nothing hidden after the image. PDFs cannot be re-encoded here, so they
must start with the PDF header, end with its trailer, and carry no active content.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 40-megapixel screenshot is already absurd

# Active content a PDF reader would run, and markup a browser might render if it sniffed.
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA|SubmitForm)\b")
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


def _reencode_image(data: bytes) -> tuple[bytes, str, str] | None:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"PNG", "JPEG"}:
                return None
            if probe.width * probe.height > MAX_IMAGE_PIXELS:
                raise ValidationError(
                    _("This image is too large in pixels."), code="too_many_pixels"
                )
            probe.verify()  # checks the structure; the image must be reopened afterwards
        with Image.open(io.BytesIO(data)) as opened:
            image_format = opened.format
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    output = io.BytesIO()
    if image_format == "PNG":
        if image.mode not in {"RGB", "RGBA", "L", "LA", "P"}:
            image = image.convert("RGBA")
        image.save(output, format="PNG", optimize=True)  # no info/exif passed: none written
        return output.getvalue(), "image/png", ".png"
    if image.mode not in {"RGB", "L"}:
        image = image.convert("RGB")
    image.save(output, format="JPEG", quality=90)
    return output.getvalue(), "image/jpeg", ".jpg"


def _check_pdf(data: bytes) -> bool:
    # The header must be the very first bytes (readers accept it later, which is what lets a
    # file be an image or a web page and a PDF at once), and the trailer must end the file.
    if not data.startswith(b"%PDF-1.") and not data.startswith(b"%PDF-2."):
        return False
    if b"%%EOF" not in data[-1024:]:
        return False
    return not (_PDF_ACTIVE.search(data) or _MARKUP.search(data))


def clean_upload(upload: UploadedFile) -> CleanUpload:
    """Return a safe copy of the upload, or raise ValidationError in the customer's language."""
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

    image = _reencode_image(data)
    if image is not None:
        content, content_type, extension = image
        return CleanUpload(content, content_type, extension, name)
    if _check_pdf(data):
        return CleanUpload(data, "application/pdf", ".pdf", name)
    raise ValidationError(
        _("“%(name)s” is not a PNG or JPEG image or a PDF document we can accept.")
        % {"name": name},
        code="bad_type",
    )
