"""Every public form in the GOV.UK pattern, and references typed the way customers type them."""

from html.parser import HTMLParser

import pytest

from tests.helpers import en, find, zh
from tests.tickets.factories import TicketFactory
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    """Each element's attributes, enough to check ids and the links between them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def ids(self) -> set[str]:
        return {attrs["id"] for _tag, attrs in self.elements if "id" in attrs}

    def hrefs(self) -> list[str]:
        return [attrs["href"] for tag, attrs in self.elements if tag == "a" and "href" in attrs]

    def invalid(self) -> list[dict[str, str]]:
        return [attrs for _tag, attrs in self.elements if attrs.get("aria-invalid") == "true"]


def assert_error_pattern(html: str, *, invalid_names: set[str]) -> None:
    page = Elements(html)
    ids = page.ids()
    assert find(r"<title>(.*?)</title>", html).group(1).startswith("Error: ")
    summary = find(r'<div class="error-summary"[^>]*>.*?</div>', html).group()
    assert "autofocus" in summary.split(">")[0]
    targets = [href[1:] for href in Elements(summary).hrefs()]
    assert targets and all(target in ids for target in targets), (targets, ids)
    marked = page.invalid()
    assert {attrs["name"] for attrs in marked} >= invalid_names
    # A radio group is described on its fieldset (GOV.UK), each other field on itself.
    groups = [attrs for tag, attrs in page.elements if tag == "fieldset"]
    for attrs in [a for a in marked if a.get("type") != "radio"] + groups:
        if attrs in groups and "aria-describedby" not in attrs:
            continue
        described = (attrs.get("aria-describedby") or "").split()
        assert described, attrs
        assert all(target in ids for target in described), (attrs, ids)


@pytest.fixture
def ticket():
    return TicketFactory.create(email="li.wei@example.com", transaction_reference="TX-2026-88")


def empty(*names: str) -> dict[str, str]:
    """What a browser sends for a form submitted empty (an empty POST is an unbound form)."""
    return dict.fromkeys(names, "")


def test_empty_ticket_form(client):
    fields = ("topic", "subject", "description", "transaction_reference", "email", "name")
    html = client.post(en("tickets:new"), {"kind": "complaint", **empty(*fields)}).content.decode()
    assert_error_pattern(html, invalid_names={"topic", "subject", "description", "email"})


def test_empty_tracking_form(client):
    html = client.post(en("tickets:track"), empty("reference", "email")).content.decode()
    assert_error_pattern(html, invalid_names={"reference", "email"})


def test_empty_chat_start_form(client, settings):
    settings.SUPPORT_HOURS = "00:00–24:00"
    html = client.post(en("tickets:chat-start"), empty("name", "email", "message")).content.decode()
    assert_error_pattern(html, invalid_names={"name", "email", "message"})


def test_empty_follow_up_on_a_ticket(client, ticket):
    session = client.session
    session["tickets_access"] = [ticket.reference]
    session.save()
    html = client.post(en("tickets:reply", ticket.reference), {"body": ""}).content.decode()
    assert_error_pattern(html, invalid_names={"body"})


def test_confirming_a_resolution_without_a_rating(client, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED)
    session = client.session
    session["tickets_access"] = [ticket.reference]
    session.save()
    html = client.post(
        en("tickets:resolution", ticket.reference), {"action": "confirm"}
    ).content.decode()
    assert_error_pattern(html, invalid_names={"rating"})


def test_chinese_error_title_and_only_optional_fields_marked(client):
    html = client.post(zh("tickets:new"), empty("subject", "email")).content.decode()
    assert find(r"<title>(.*?)</title>", html).group(1).startswith("错误：")
    assert "（选填）" in html
    assert "必填" not in html and "(选填)" not in html


def test_the_live_check_marks_the_field_like_the_page(client):
    html = client.post(en("tickets:field-check", "email"), {"email": "li.wei@"}).content.decode()
    feedback = find(r'<div class="field-feedback" id="email-feedback"[^>]*>', html).group()
    assert 'data-invalid="true"' in feedback
    fine = client.post(en("tickets:field-check", "email"), {"email": "li.wei@example.com"})
    assert 'data-invalid="false"' in fine.content.decode()


@pytest.mark.parametrize(
    "typed", ["{compact}", "{compact_lower}", "{spaced}", "  {lower}  "], ids=str
)
def test_a_reference_typed_loosely_finds_the_ticket(client, ticket, typed):
    reference = ticket.reference  # OK-XXXX-XXXX
    compact = reference.replace("-", "")
    typed = typed.format(
        compact=compact,
        compact_lower=compact.lower(),
        spaced=f"{compact[:2]} {compact[2:6]} {compact[6:]}".lower(),
        lower=reference.lower(),
    )
    response = client.post(en("tickets:track"), {"reference": typed, "email": ticket.email})
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()


def test_the_ticket_page_shows_the_transaction_reference(client, ticket):
    client.post(en("tickets:track"), {"reference": ticket.reference, "email": ticket.email})
    html = client.get(ticket.get_absolute_url()).content.decode()
    assert "TX-2026-88" in html


def test_the_tracking_page_explains_where_the_reference_is(client):
    html = client.get(zh("tickets:track")).content.decode()
    assert 'id="where-title"' in html and 'class="breadcrumb"' in html
    assert 'class="need-help"' in html


def test_a_refused_chat_message_without_javascript_keeps_the_text(client, settings, make_staff):
    from tickets.presence import mark_agent_online

    settings.SUPPORT_HOURS = "00:00–24:00"
    mark_agent_online(make_staff("lili", "agent"))
    question = {"name": "Wang", "email": "w@example.com", "message": "Hi"}
    client.post(en("tickets:chat-start"), question)
    chat = Ticket.objects.get(email="w@example.com")
    too_long = "x" * 2001
    response = client.post(en("tickets:chat-send", chat.reference), {"body": too_long})
    assert response.status_code == 200  # the window again, not a redirect that loses it
    html = response.content.decode()
    assert too_long in html and 'aria-invalid="true"' in html
    assert find(r'<p id="chat-error"[^>]*>(.+?)</p>', html).group(1).strip()
