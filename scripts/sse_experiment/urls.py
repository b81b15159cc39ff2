"""One SSE stream per chat: new messages pushed as they are written (checked every second)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path

from tickets.access import chat_for_customer
from tickets.models import Message
from wallet_support.urls import urlpatterns as site_urlpatterns

HOLD_SECONDS = float(os.environ.get("SSE_HOLD_SECONDS", "10"))


def chat_events(request: HttpRequest, reference: str) -> StreamingHttpResponse:
    ticket = chat_for_customer(request, reference)
    after_text = request.GET.get("after", "0")
    after = int(after_text) if after_text.isascii() and after_text.isdigit() else 0

    def stream() -> Iterator[str]:
        nonlocal after
        yield "event: ready\ndata: connected\n\n"
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline:
            for pk, body in Message.objects.filter(
                ticket=ticket, is_internal=False, pk__gt=after
            ).values_list("pk", "body"):
                after = pk
                data = "\ndata: ".join(body.splitlines())  # one data line per line of text
                yield f"id: {pk}\ndata: {data}\n\n"
            time.sleep(1)

    return StreamingHttpResponse(stream(), content_type="text/event-stream")


urlpatterns = [path("sse/chat/<str:reference>/", chat_events), *site_urlpatterns]
