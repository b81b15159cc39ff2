"""What one ticket or one chat may take, whoever holds its link (tickets/quotas.py), and files
judged only once everything else about a request has passed."""

import io
import os
import threading
from unittest import mock

import pytest
from django.db import connections
from django.test import Client
from PIL import Image

from tests.helpers import en, zh
from tests.tickets.conftest import VALID_TICKET, png_bytes, upload
from tests.tickets.factories import TicketFactory
from tickets.emails import make_ticket_token
from tickets.models import Attachment, Message, Ticket
from tickets.presence import mark_agent_online

pytestmark = pytest.mark.django_db


def noise_png(width: int = 600, height: int = 500) -> bytes:
    """A PNG that does not compress: its size on the wire is about width × height × 3."""
    output = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(output, "PNG")
    return output.getvalue()


@pytest.fixture
def ticket():
    return TicketFactory.create(email="li.wei@example.com")


def signed_in(client, ticket, language="en"):
    client.get(url_for(language, "tickets:link", make_ticket_token(ticket)))
    return client


def url_for(language, name, *args):
    return (zh if language == "zh-hans" else en)(name, *args)


def follow_up(client, ticket, body, files=()):
    return client.post(f"{ticket.get_absolute_url()}reply/", {"body": body, "attachments": files})


def test_follow_ups_per_hour_are_limited_and_the_text_is_kept(client, ticket, settings):
    settings.TICKETS_FOLLOW_UPS_PER_HOUR = 3
    signed_in(client, ticket)
    for n in range(3):
        assert follow_up(client, ticket, f"detail {n}").status_code == 302
    response = follow_up(client, ticket, "and one more detail")
    html = response.content.decode()
    assert response.status_code == 200
    assert "You have added 3 messages to this ticket in the last hour" in html
    assert "and one more detail</textarea>" in html  # nothing typed is lost
    assert ticket.messages.count() == 3


def test_the_follow_up_quota_speaks_the_customers_language(client, settings):
    settings.TICKETS_FOLLOW_UPS_PER_HOUR = 1
    ticket = TicketFactory.create(language="zh-hans")
    signed_in(client, ticket, "zh-hans")
    zh_url = zh("tickets:detail", ticket.reference)
    client.post(f"{zh_url}reply/", {"body": "补充一"})
    html = client.post(f"{zh_url}reply/", {"body": "补充二"}).content.decode()
    assert "过去一小时" in html and "补充二</textarea>" in html


def test_files_per_ticket_are_limited_before_any_file_is_decoded(client, ticket, settings):
    settings.TICKETS_FILES_PER_TICKET = 4
    signed_in(client, ticket)
    first = [upload(f"s{n}.png", png_bytes()) for n in range(3)]
    assert follow_up(client, ticket, "three screenshots", first).status_code == 302
    with mock.patch("tickets.forms.clean_upload") as judged:
        response = follow_up(
            client, ticket, "two more", [upload(f"t{n}.png", png_bytes()) for n in range(2)]
        )
    assert judged.call_count == 0
    assert "This ticket already has 3 of the 4 files it can hold" in response.content.decode()
    assert Attachment.objects.filter(ticket=ticket).count() == 3
    assert ticket.messages.count() == 1


def test_bytes_per_ticket_are_limited(client, ticket, settings):
    settings.TICKETS_FILE_MB_PER_TICKET = 1
    signed_in(client, ticket)
    big = noise_png()  # about 0.9 MB
    assert follow_up(client, ticket, "one", [upload("a.png", big)]).status_code == 302
    response = follow_up(client, ticket, "two", [upload("b.png", noise_png())])
    assert "over 1 MB" in response.content.decode()
    assert Attachment.objects.filter(ticket=ticket).count() == 1


def test_two_follow_ups_at_once_cannot_both_take_the_last_place(
    shared_database, settings, private_media
):
    settings.TICKETS_FOLLOW_UPS_PER_HOUR = 2
    ticket = TicketFactory.create()
    Message.objects.create(ticket=ticket, author_type=Message.Author.CUSTOMER, body="first")
    clients = [signed_in(Client(), ticket) for _ in range(4)]
    start = threading.Barrier(len(clients))
    answers: list[int] = []

    def post(client: Client) -> None:
        start.wait()
        try:
            answers.append(follow_up(client, ticket, "at the same moment").status_code)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 200, 200, 302]
    assert ticket.messages.filter(author_type=Message.Author.CUSTOMER).count() == 2


def test_chat_messages_per_minute_are_limited_and_kept_in_the_box(client, settings, make_staff):
    settings.SUPPORT_HOURS = "00:00–24:00"
    settings.TICKETS_CHAT_MESSAGES_PER_MINUTE = 3
    mark_agent_online(make_staff("lili", "agent"))
    client.post("/en/tickets/chat/", {"name": "Wang", "email": "wang@example.com", "message": "hi"})
    chat = Ticket.objects.get()
    send = f"/en/tickets/chat/{chat.reference}/send/"
    for n in range(3):
        client.post(send, {"body": f"line {n}", "after": 0}, headers={"HX-Request": "true"})
    response = client.post(send, {"body": "line 4", "after": 0}, headers={"HX-Request": "true"})
    html = response.content.decode()
    # The error comes in place of the box being cleared (static/js/chat-send.js), so the text stays.
    assert 'id="chat-error"' in html and "faster than the agent can read them" in html
    assert chat.messages.filter(author_type=Message.Author.CUSTOMER).count() == 3


# --- Files are judged last ------------------------------------------------------------------


def test_a_form_with_a_bad_email_never_decodes_its_files(client):
    data = {**VALID_TICKET, "email": "not-an-address"}
    with mock.patch("tickets.forms.clean_upload") as judged:
        response = client.post(
            en("tickets:new"), {**data, "attachments": [upload("a.png", png_bytes())]}
        )
    assert response.status_code == 200
    assert judged.call_count == 0
    assert not Ticket.objects.exists()


def test_a_submission_whose_file_is_refused_still_counts_against_the_address(client, settings):
    settings.TICKETS_RATE_PER_IP = "2/3600"
    settings.TICKETS_RATE_PER_EMAIL = "100/3600"
    for _ in range(2):
        bad_file = upload("x.png", b"\x89PNG\r\n\x1a\nnot really")
        response = client.post(en("tickets:new"), {**VALID_TICKET, "attachments": [bad_file]})
        assert response.status_code == 200
        assert "is not a PNG or JPEG image" in response.content.decode()
    # Judging files is what costs: the third try is refused before any file is read.
    with mock.patch("tickets.forms.clean_upload") as judged:
        refused = client.post(en("tickets:new"), {**VALID_TICKET})
    assert refused.status_code == 429 and judged.call_count == 0
    assert not Ticket.objects.exists()
