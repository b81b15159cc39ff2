"""What a hostile upload costs us: CPU time per request to the public ticket form.

On a fresh SQLite database (benchlib's production-like set-up), through Django's test client,
posts the ticket form --requests times per case after one warm-up and prints the median CPU
time (time.process_time, from Django's request_started to request_finished: the server's
work, not the test client's building of the body) of one request, how far the first request
raised the process's peak resident memory (Linux: VmHWM after resetting it; the cases run in
one process, so a case may reuse memory an earlier one left), the answer and whether a ticket
was created:

- a normal submission (text only), and one with a phone screenshot (1170×2532 PNG),
- three 4.9 KB PNGs of 6320×6320 pixels each (a pixel bomb: 40 MP of a 1-bit image),
- a 4.9 MB PNG of random noise (the largest file the size limit lets through),
- a PDF whose /OpenAction runs JavaScript, its names hex-escaped (/J#61vaScript), in the
  file's text and hidden in a compressed object stream (only a parser sees it),
- a 4.4 MB PDF of 20,000 crafted objects (what pure-Python parsing costs at most),
- a 97 KB PNG of 5000×5000 RGBA pixels (the most pixels the limits let through),
- three crafted PDFs, and three noise PNGs, in one request (the files share one budget).

A hostile case over BUDGET_MS is flagged: the form is public, before any login.

    .venv/bin/python scripts/bench_abuse.py
    .venv/bin/python scripts/bench_abuse.py --requests 10
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import BASE_DIR, prepared_environment

BUDGET_MS = 100.0
FORM = {
    "kind": "complaint",
    "topic": "withdrawal",
    "subject": "Withdrawal not received",
    "description": "I withdrew 500 yuan three days ago and it has not arrived in my bank.",
    "transaction_reference": "TX-20261120-88",
    "name": "Li Wei",
}
PDF_HEAD = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R"
PDF_TAIL = (
    b">>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def png(image: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def pixel_bomb() -> bytes:
    from PIL import Image

    return png(Image.new("1", (6320, 6320)))


def noise_png() -> bytes:
    from PIL import Image

    side = 1300  # 1300×1300 RGB of noise: 5.07 MB raw, which PNG cannot compress
    data = random.Random(7).randbytes(side * side * 3)
    return png(Image.frombytes("RGB", (side, side), data))


def largest_png() -> bytes:
    """The most pixels the limits let through, as few bytes as PNG allows (97 KB)."""
    from PIL import Image

    return png(Image.new("RGBA", (5000, 5000)))


def screenshot_png() -> bytes:
    """A phone screenshot: flat colours, a few bars of text-like detail."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1170, 2532), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    rng = random.Random(3)
    for row in range(40):
        top = 120 + row * 58
        draw.rectangle((60, top, 60 + rng.randint(300, 1050), top + 30), fill=(40, 40, 40))
    return png(image)


JAVASCRIPT = b"<< /S /J#61vaScript /J#53 (app.alert('x')) >>"


def javascript_pdf() -> bytes:
    return PDF_HEAD + b"/OpenAction" + JAVASCRIPT + PDF_TAIL


def costly_pdf() -> bytes:
    """20,000 objects of 100 numbers and no cross-reference table: pypdf reads them all."""
    objects = b"".join(b"%d 0 obj[%s]endobj\n" % (n, b"1 " * 100) for n in range(4, 20_000))
    return PDF_HEAD + PDF_TAIL.replace(b"trailer", objects + b"trailer")


def hidden_javascript_pdf() -> bytes:
    """The same action as object 4, inside a compressed object stream (object 5), found
    through a cross-reference stream (object 6)."""
    parts = [b"%PDF-1.5\n"]
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = sum(map(len, parts))
        parts.append(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def stream(dictionary: bytes, data: bytes) -> bytes:
        return b"<<%s/Length %d>>\nstream\n%s\nendstream" % (dictionary, len(data), data)

    add(1, b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>")
    add(2, b"<</Type/Pages/Kids[3 0 R]/Count 1>>")
    add(3, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>")
    add(
        5,
        stream(b"/Type/ObjStm/N 1/First 4/Filter/FlateDecode", zlib.compress(b"4 0 " + JAVASCRIPT)),
    )
    offsets[6] = sum(map(len, parts))
    rows = [(0, 0, 65535), *((1, offsets[n], 0) for n in (1, 2, 3)), (2, 5, 0)]
    rows += [(1, offsets[5], 0), (1, offsets[6], 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    add(6, stream(b"/Type/XRef/Size 7/W[1 4 2]/Root 1 0 R", table))
    return b"".join(parts) + b"startxref\n%d\n%%%%EOF\n" % offsets[6]


@dataclass
class Case:
    label: str
    hostile: bool
    files: Callable[[], list[tuple[str, bytes, str]]]


PNG, PDF = "image/png", "application/pdf"
CASES = [
    Case("normal submission (text only)", False, lambda: []),
    Case("normal + phone screenshot PNG", False, lambda: [("s.png", screenshot_png(), PNG)]),
    Case("pixel bomb PNG x3", True, lambda: [("bomb.png", pixel_bomb(), PNG)] * 3),
    Case("4.9 MB noise PNG", True, lambda: [("noise.png", noise_png(), PNG)]),
    Case("JavaScript PDF (#61 escape)", True, lambda: [("x.pdf", javascript_pdf(), PDF)]),
    Case("JavaScript in an object stream", True, lambda: [("y.pdf", hidden_javascript_pdf(), PDF)]),
    Case("PDF of 20,000 crafted objects", True, lambda: [("z.pdf", costly_pdf(), PDF)]),
    Case("25 MP RGBA PNG (largest allowed)", True, lambda: [("big.png", largest_png(), PNG)]),
    Case("3 crafted PDFs in one request", True, lambda: [("z.pdf", costly_pdf(), PDF)] * 3),
    Case("3 noise PNGs in one request", True, lambda: [("noise.png", noise_png(), PNG)] * 3),
]


@dataclass
class Result:
    label: str
    hostile: bool
    upload_kb: float
    cpu_ms: float
    peak_mb: float
    status: int
    ticket: bool


def post(client: Any, case: Case, files: list[tuple[str, bytes, str]], n: int) -> tuple[int, bool]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tickets.models import Ticket

    before = Ticket.objects.count()
    data: dict[str, Any] = {**FORM, "email": f"bench{n}@example.com"}
    data["attachments"] = [SimpleUploadedFile(name, body, kind) for name, body, kind in files]
    response = client.post("/en/tickets/new/", data)
    return response.status_code, Ticket.objects.count() > before


def reset_peak_memory() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


def peak_memory_mb() -> float:
    status = Path("/proc/self/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    return int(kilobytes) / 1024


SERVER_CPU: list[float] = []


def measure(client: Any, case: Case, requests: int, counter: list[int]) -> Result:
    files = case.files()
    # The first request also warms up (templates, translations, imports); it is the one whose
    # memory is measured: later ones reuse what the allocator kept.
    counter[0] += 1
    peak = float("nan")
    if reset_peak_memory():
        baseline = peak_memory_mb()
        post(client, case, files, counter[0])
        peak = max(0.0, peak_memory_mb() - baseline)
    else:
        post(client, case, files, counter[0])
    timings = []
    status, created = 0, False
    for _ in range(requests):
        counter[0] += 1
        status, created = post(client, case, files, counter[0])
        timings.append(SERVER_CPU[-1] * 1000)
    size = sum(len(body) for _, body, _ in files) / 1024
    return Result(case.label, case.hostile, size, statistics.median(timings), peak, status, created)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5, help="timed requests per case")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-abuse-"))
    # The test client's requests come from "testserver".
    env = prepared_environment(work, DJANGO_ALLOWED_HOSTS="127.0.0.1,testserver")
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    import logging

    from django.test import Client

    # One access-log line a request, and pypdf's warnings about the damaged files, would bury
    # the table.
    logging.getLogger("wallet_support.access").setLevel(logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    # The server's CPU only, from Django's request_started to request_finished: building the
    # multipart body is the test client's (the attacker's) work, not ours.
    from django.core.signals import request_finished, request_started

    started: list[float] = []
    request_started.connect(lambda **kwargs: started.append(time.process_time()), weak=False)
    request_finished.connect(
        lambda **kwargs: SERVER_CPU.append(time.process_time() - started.pop()), weak=False
    )

    client = Client()
    client.cookies["django_language"] = "en"
    counter = [0]
    results = [measure(client, case, args.requests, counter) for case in CASES]

    print(f"database: SQLite in {work}; median of {args.requests} requests after a warm-up\n")
    print(f"{'request':<32} {'upload KB':>9} {'CPU ms':>8} {'+RSS MB':>8} {'answer':>6} ticket")
    over = []
    for r in results:
        flag = ""
        if r.hostile and r.cpu_ms > BUDGET_MS:
            flag = f"  OVER {BUDGET_MS:.0f} ms"
            over.append(r.label)
        print(
            f"{r.label:<32} {r.upload_kb:>9.1f} {r.cpu_ms:>8.1f} {r.peak_mb:>8.1f} "
            f"{r.status:>6} {'yes' if r.ticket else 'no':<6}{flag}"
        )
    print("\n(+RSS MB: how far the first such request raised the process's peak memory)")
    print("(answer 200 with no ticket: the form was shown again with the file refused)")
    if over:
        print(f"over budget: {', '.join(over)}")
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
