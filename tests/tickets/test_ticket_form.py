from pathlib import Path

import pytest

from tests.helpers import en, queued_emails, zh
from tests.tickets.conftest import png_bytes, upload
from tickets.models import Attachment, Deflection, Priority, Ticket

pytestmark = pytest.mark.django_db


def field_row(html: str, name: str) -> str:
    """The markup of one field's row: its label, input, help and errors."""
    return html.split(f'id="field-{name}"')[1].split('id="field-')[0].split("</form>")[0]


def test_the_form_page_shows_every_field(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # + a new cache's content version (faq.pagecache)
        response = client.get(en("tickets:new"))
    html = response.content.decode()
    for name in ["kind", "topic", "subject", "description", "transaction_reference", "email",
                 "name", "phone", "attachments"]:  # fmt: skip
        assert f'name="{name}"' in html, name
    assert 'enctype="multipart/form-data"' in html


def test_a_valid_complaint_is_saved_and_confirmed(client, ticket_data):
    response = client.post(en("tickets:new"), ticket_data)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.topic, ticket.email) == (
        "complaint",
        "withdrawal",
        ticket_data["email"],
    )
    assert ticket.transaction_reference == "TX-20261120-88"
    assert ticket.language == "en"
    assert ticket.status == "new"

    page = client.get(response["Location"]).content.decode()
    assert ticket.reference in page
    assert "24 hours" in page


def test_references_are_random_and_easy_to_read(client, ticket_data):
    for _ in range(3):
        client.post(en("tickets:new"), {**ticket_data, "email": f"{_}@example.com"})
    references = list(Ticket.objects.values_list("reference", flat=True))
    assert len(set(references)) == 3
    for reference in references:
        assert len(reference) == 12 and reference.startswith("OK-") and reference[7] == "-"
        assert not set(reference[3:]) & set("01OILUV")


def test_the_confirmation_email_is_queued_only_after_commit(
    client, ticket_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(en("tickets:new"), ticket_data)
    assert len(callbacks) == 1
    assert queued_emails() == ["confirmation"]


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("kind", "", "Choose what you would like to send."),
        ("topic", "", "Choose the topic closest to your problem."),
        ("subject", "", "Give your message a short subject."),
        ("subject", "abc", "Use at least 4 characters."),
        ("description", "short", "Please tell us a little more"),
        ("description", "x" * 5001, "at most 5000 characters"),
        ("email", "", "Enter your email so we can reply."),
        ("email", "li.wei@", "Enter a valid email address"),
        ("phone", "call me maybe", "Enter a phone number with digits only"),
        ("transaction_reference", "<script>", "letters, digits and dashes"),
    ],
)
def test_each_field_is_checked_with_the_error_next_to_it(
    client, ticket_data, field, value, message
):
    response = client.post(en("tickets:new"), {**ticket_data, field: value})
    html = response.content.decode()
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    assert message in field_row(html, field)
    assert 'id="error-summary"' in html
    # Nothing typed is lost.
    kept = "Withdrawal not received" if field != "subject" else ticket_data["description"][:20]
    assert kept in html


def test_errors_are_in_the_customers_language(client, ticket_data):
    response = client.post(zh("tickets:new"), {**ticket_data, "email": ""})
    assert "请填写您的邮箱" in response.content.decode()


def test_attachments_are_stored_privately_under_random_names(client, ticket_data, private_media):
    data = {**ticket_data, "attachments": [upload("我的截图.png", png_bytes(), "image/png")]}
    client.post(en("tickets:new"), data)
    attachment = Attachment.objects.get()
    assert attachment.original_name == "我的截图.png"
    stored = Path(attachment.file.path)
    assert stored.is_relative_to(private_media)
    assert "截图" not in stored.name and stored.suffix == ".png"


def test_a_form_error_asks_for_the_files_again(client, ticket_data):
    data = {**ticket_data, "email": "", "attachments": [upload("a.png", png_bytes(), "image/png")]}
    html = client.post(en("tickets:new"), data).content.decode()
    assert "please choose them again" in html
    assert not Attachment.objects.exists()


def test_more_than_three_files_are_refused(client, ticket_data):
    files = [upload(f"{n}.png", png_bytes(), "image/png") for n in range(4)]
    html = client.post(en("tickets:new"), {**ticket_data, "attachments": files}).content.decode()
    assert "Attach at most 3 files." in html
    assert not Ticket.objects.exists()


def test_a_bad_upload_gets_an_error_next_to_the_field(client, ticket_data):
    fake = upload("screenshot.png", b"this is a text file\n" * 5, "image/png")
    html = client.post(en("tickets:new"), {**ticket_data, "attachments": [fake]}).content.decode()
    row = field_row(html, "attachments")
    assert "screenshot.png" in row and "not a PNG or JPEG" in row
    assert not Ticket.objects.exists()


def test_the_honeypot_refuses_bots(client, ticket_data):
    response = client.post(en("tickets:new"), {**ticket_data, "website": "http://spam.example"})
    assert response.status_code == 200
    assert "We could not accept this submission" in response.content.decode()
    assert not Ticket.objects.exists()


def test_secrets_are_masked_before_they_are_stored(client, ticket_data):
    data = {
        **ticket_data,
        "description": "My card 4111 1111 1111 1111 was charged, 验证码是 123456",
    }
    client.post(en("tickets:new"), data)
    ticket = Ticket.objects.get()
    assert "4111 1111 1111 1111" not in ticket.description
    assert "**** **** **** 1111" in ticket.description
    assert "123456" not in ticket.description
    assert ticket.masked_secrets == ["card", "code"]


def test_rate_limit_per_ip_address(client, ticket_data, settings):
    settings.TICKETS_RATE_PER_IP = "2/3600"
    for n in range(2):
        assert (
            client.post(en("tickets:new"), {**ticket_data, "email": f"{n}@example.com"}).status_code
            == 302
        )
    response = client.post(en("tickets:new"), {**ticket_data, "email": "third@example.com"})
    assert response.status_code == 429
    assert "wait an hour" in response.content.decode()
    assert "third@example.com" in response.content.decode()  # kept in the form
    assert Ticket.objects.count() == 2


def test_rate_limit_per_email(client, ticket_data, settings):
    settings.TICKETS_RATE_PER_EMAIL = "1/3600"
    client.post(en("tickets:new"), ticket_data)
    other_ip = {"REMOTE_ADDR": "10.9.8.7"}
    response = client.post(
        en("tickets:new"), {**ticket_data, "email": ticket_data["email"].upper()}, **other_ip
    )
    assert response.status_code == 429
    assert "wait an hour" in response.content.decode()
    assert Ticket.objects.count() == 1


def test_the_transaction_reference_is_dropped_for_topics_without_money(client, ticket_data):
    client.post(en("tickets:new"), {**ticket_data, "topic": "security"})
    assert Ticket.objects.get().transaction_reference == ""


@pytest.mark.parametrize(
    "changes,priority",
    [
        ({}, Priority.HIGH),  # a complaint about a withdrawal, with a transaction reference
        ({"transaction_reference": ""}, Priority.NORMAL),
        ({"kind": "suggestion"}, Priority.NORMAL),
        ({"topic": "other", "description": "My account was 被盗 and money is gone"}, Priority.HIGH),
        (
            {
                "topic": "other",
                "kind": "suggestion",
                "description": "I think this is a scam site copying you",
            },
            Priority.HIGH,
        ),
    ],
)
def test_urgent_complaints_start_at_high_priority(client, ticket_data, changes, priority):
    client.post(en("tickets:new"), {**ticket_data, **changes})
    assert Ticket.objects.get().priority == priority


def test_a_field_is_checked_when_it_loses_focus(client, ticket_data):
    response = client.post(
        en("tickets:field-check", "email"),
        {**ticket_data, "email": "nope@"},
        headers={"HX-Request": "true"},
    )
    assert response.template_name == "tickets/ticket_form.html#field-feedback"
    html = response.content.decode()
    assert 'id="email-feedback"' in html and "Enter a valid email address" in html


def test_an_untouched_empty_field_is_not_flagged(client):
    response = client.post(en("tickets:field-check", "subject"), {}, headers={"HX-Request": "true"})
    assert "field-error" not in response.content.decode()


def test_secrets_are_flagged_while_typing(client, ticket_data):
    data = {**ticket_data, "description": "my password: hunter22 and code is 123456 please help"}
    html = client.post(en("tickets:field-check", "description"), data).content.decode()
    assert "a password" in html and "a verification code" in html
    assert "never need them" in html


def test_matching_articles_appear_beside_the_subject_and_count_deflections(client, article_pair):
    _zh, en_article = article_pair
    response = client.post(en("tickets:field-check", "subject"), {"subject": "withdraw"})
    html = response.content.decode()
    assert 'id="suggestions"' in html and 'hx-swap-oob="true"' in html
    suggestion = en("tickets:suggestion-open", en_article.slug)
    assert suggestion in html

    opened = client.get(suggestion)
    assert opened["Location"] == en_article.get_absolute_url()
    assert Deflection.objects.get().article == en_article
    client.get(suggestion)  # opened again in the same visit: the same deflection
    assert Deflection.objects.count() == 1


def test_unknown_field_check_is_404(client):
    assert client.post(en("tickets:field-check", "website"), {}).status_code == 404


def test_six_files_get_the_forms_own_error_with_everything_typed_kept(client, ticket_data):
    files = [upload(f"shot{n}.png", png_bytes(), "image/png") for n in range(6)]
    response = client.post("/en/tickets/new/", {**ticket_data, "attachments": files})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Attach at most 3 files." in html
    assert ticket_data["description"] in html and ticket_data["subject"] in html
