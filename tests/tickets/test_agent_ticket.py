"""The ticket page around the conversation: the customer beside it, tags, classification,
and merging a duplicate into another ticket."""

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.helpers import en, queued_emails
from tests.tickets.conftest import png_bytes
from tests.tickets.factories import MessageFactory, TicketFactory
from tests.tickets.test_agent_macros import page_of
from tickets.emails import make_ticket_token
from tickets.models import Attachment, Channel, Kind, Message, Status, Tag, Ticket, Topic
from tickets.services import ticket_merge, ticket_tag

CHANGELIST = "/admin/tickets/ticket/"


def change_url(ticket: Ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


# --- the customer beside the ticket ---------------------------------------------------------


def test_the_customer_panel_shows_who_wrote_and_their_other_tickets_newest_first(
    agent_client, django_assert_max_num_queries
):
    ticket = TicketFactory.create(
        email="li.wei@example.com",
        name="Li Wei",
        phone="138 0000 0000",
        transaction_reference="TX-88",
        language="zh-hans",
    )
    older = TicketFactory.create(email="Li.Wei@example.com", subject="Old top-up question")
    chat = TicketFactory.create(
        email="li.wei@example.com", channel=Channel.CHAT, status=Status.RESOLVED,
        subject="Chat about a card",
    )  # fmt: skip
    Ticket.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=9))
    TicketFactory.create(email="someone.else@example.com", subject="Not theirs")
    for _ in range(3):
        MessageFactory.create(ticket=ticket)

    with django_assert_max_num_queries(24):  # measured: 21, with the panel's one query
        response = agent_client.get(change_url(ticket))
    html = response.content.decode()
    panel = html[
        html.index('id="customer-panel"') : html.index(
            "</section>", html.index('id="customer-panel"')
        )
    ]
    for fact in ["Li Wei", "li.wei@example.com", "138 0000 0000", "简体中文", "TX-88"]:
        assert fact in panel
    assert panel.index(chat.reference) < panel.index(older.reference)  # newest first
    assert "Resolved" in panel and "Not theirs" not in panel
    assert ticket.reference not in panel.split("customer-others")[1].split("queue-link")[0]
    assert "queue=anyone&amp;email__iexact=li.wei%40example.com" in panel


def test_the_customer_link_filters_the_queue_by_this_customer(agent_client):
    mine = TicketFactory.create_batch(2, email="li.wei@example.com")
    other = TicketFactory.create(email="zhang@example.com")
    html = agent_client.get(
        CHANGELIST + "?queue=anyone&email__iexact=LI.WEI%40example.com"
    ).content.decode()
    assert all(ticket.reference in html for ticket in mine)
    assert other.reference not in html


# --- tags -------------------------------------------------------------------------------------


def test_tags_are_put_on_from_the_ticket_page_with_history(agent_client, agent):
    fraud = Tag.objects.create(name="fraud")
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    page = page_of(agent_client, ticket)
    response = agent_client.post(change_url(ticket), {**page, "tags": [str(fraud.pk)]})
    assert response.status_code == 302
    assert list(ticket.tags.all()) == [fraud]
    event = ticket.events.get(field="tags")
    assert event.new_value == "+ fraud" and event.actor == agent


def test_a_tag_a_colleague_added_meanwhile_is_kept(agent_client, agent, make_staff):
    fraud, vip = Tag.objects.create(name="fraud"), Tag.objects.create(name="vip")
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    page = page_of(agent_client, ticket)
    ticket_tag(ticket=ticket, actor=make_staff("agent-b"), add=[vip])
    response = agent_client.post(change_url(ticket), {**page, "tags": [str(fraud.pk)]})
    assert response.status_code == 302
    assert set(ticket.tags.values_list("name", flat=True)) == {"fraud", "vip"}


def test_bulk_add_and_remove_a_tag_and_filter_by_it(agent_client, agent):
    fraud = Tag.objects.create(name="fraud")
    tickets = TicketFactory.create_batch(3, status=Status.OPEN)
    picked = [str(t.pk) for t in tickets[:2]]
    base = {"_selected_action": picked, "tag": str(fraud.pk), "index": "0"}
    agent_client.post(CHANGELIST + "?queue=anyone", {**base, "action": "add_tag"})
    tagged = Ticket.objects.filter(tags=fraud)
    assert set(tagged.values_list("pk", flat=True)) == {tickets[0].pk, tickets[1].pk}

    filtered = agent_client.get(CHANGELIST + f"?queue=anyone&tag={fraud.pk}").content.decode()
    assert tickets[0].reference in filtered and tickets[2].reference not in filtered

    agent_client.post(
        CHANGELIST + "?queue=anyone",
        {**base, "_selected_action": picked[:1], "action": "remove_tag"},
    )
    assert list(Ticket.objects.filter(tags=fraud)) == [tickets[1]]
    assert tickets[0].events.filter(field="tags").count() == 2


def test_a_tag_action_without_a_tag_says_so(agent_client):
    ticket = TicketFactory.create()
    response = agent_client.post(
        CHANGELIST + "?queue=anyone",
        {"_selected_action": [ticket.pk], "action": "add_tag", "tag": "", "index": "0"},
        follow=True,
    )
    assert "Choose a tag beside the action first." in response.content.decode()


def test_the_csv_export_lists_the_tags(lead_client, lead):
    ticket = TicketFactory.create()
    ticket_tag(ticket=ticket, actor=lead, add=[Tag.objects.create(name="vip"),
                                               Tag.objects.create(name="fraud")])  # fmt: skip
    response = lead_client.post(
        CHANGELIST + "?queue=anyone",
        {"_selected_action": [ticket.pk], "action": "export_csv", "index": "0"},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Tags"
    assert rows[1][-1] == "fraud, vip"


# --- kind and topic -------------------------------------------------------------------------


def test_a_chat_that_is_a_withdrawal_complaint_becomes_one_with_history(agent_client, agent):
    chat = TicketFactory.create(
        channel=Channel.CHAT, kind=Kind.QUESTION, topic=Topic.OTHER, status=Status.RESOLVED,
        assignee=agent,
    )  # fmt: skip
    page = page_of(agent_client, chat)
    response = agent_client.post(
        change_url(chat), {**page, "kind": Kind.COMPLAINT, "topic": Topic.WITHDRAWAL}
    )
    assert response.status_code == 302
    chat.refresh_from_db()
    assert (chat.kind, chat.topic) == (Kind.COMPLAINT, Topic.WITHDRAWAL)
    changes = {e.field: (e.old_value, e.new_value) for e in chat.events.all()}
    assert changes["kind"] == ("question", "complaint")
    assert changes["topic"] == ("other", "withdrawal")
    history = agent_client.get(change_url(chat)).content.decode()
    assert "Kind: Question → Complaint" in history


def test_a_topic_a_colleague_changed_meanwhile_is_refused_and_the_page_catches_up(
    agent_client, client_for, agent, make_staff
):
    ticket = TicketFactory.create(status=Status.OPEN, topic=Topic.OTHER)
    colleague = client_for(make_staff("agent-b"))
    mine, theirs = page_of(agent_client, ticket), page_of(colleague, ticket)
    assert colleague.post(change_url(ticket), {**theirs, "topic": Topic.PAYMENT}).status_code == 302
    response = agent_client.post(change_url(ticket), {**mine, "topic": Topic.TOP_UP})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "after you opened the ticket" in errors["topic"][0]
    ticket.refresh_from_db()
    assert ticket.topic == Topic.PAYMENT
    form = response.context["adminform"].form
    assert form["topic"].value() == Topic.PAYMENT  # the page shows the colleague's value


def test_an_older_page_without_the_classification_still_saves(agent_client, agent):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    page = page_of(agent_client, ticket)
    for field in ("kind", "topic", "seen_class", "tags"):
        page.pop(field)
    response = agent_client.post(change_url(ticket), {**page, "reply": "Still works."})
    assert response.status_code == 302
    assert ticket.messages.get().body == "Still works."


# --- merge ----------------------------------------------------------------------------------


@pytest.fixture
def duplicate_pair(agent):
    original = TicketFactory.create(
        email="li.wei@example.com", subject="Withdrawal missing", status=Status.OPEN,
        assignee=agent, language="en",
    )  # fmt: skip
    duplicate = TicketFactory.create(
        email="li.wei@example.com", subject="Where is my money?",
        description="Sent again because nobody answered.", language="en",
    )  # fmt: skip
    MessageFactory.create(ticket=duplicate, author_type=Message.Author.CUSTOMER, body="Hello?")
    opening = Attachment(ticket=duplicate, original_name="receipt.png",
                         content_type="image/png", size=10)  # fmt: skip
    opening.file.save("receipt.png", io.BytesIO(png_bytes()), save=False)
    opening.save()
    return original, duplicate


def test_merging_moves_words_messages_and_attachments_and_tells_the_customer(
    agent, duplicate_pair, django_capture_on_commit_callbacks
):
    original, duplicate = duplicate_pair
    with django_capture_on_commit_callbacks(execute=True):
        ticket_merge(duplicate=duplicate, into=original, actor=agent)
    duplicate.refresh_from_db()
    assert duplicate.merged_into == original and duplicate.status == Status.CLOSED
    bodies = list(original.messages.values_list("body", flat=True))
    assert "Where is my money?\n\nSent again because nobody answered." in bodies
    assert "Hello?" in bodies
    assert f"{duplicate.reference} was merged into this ticket." in bodies
    assert not duplicate.messages.exists()
    attachment = Attachment.objects.get()
    assert attachment.ticket == original and attachment.message is not None
    assert original.events.get(field="merged_from").new_value == duplicate.reference
    assert duplicate.events.get(field="merged_into").new_value == original.reference
    assert queued_emails() == ["merged"]


@pytest.mark.django_db(transaction=True)  # the task worker closes its connection
def test_the_merge_email_names_both_references(
    agent, duplicate_pair, run_tasks, django_capture_on_commit_callbacks
):
    original, duplicate = duplicate_pair
    with django_capture_on_commit_callbacks(execute=True):
        ticket_merge(duplicate=duplicate, into=original, actor=agent)
    run_tasks()
    email = mail.outbox[-1]
    assert email.to == ["li.wei@example.com"]
    assert duplicate.reference in email.subject
    assert original.reference in email.body and duplicate.reference in email.body


def test_the_duplicates_reference_and_link_lead_to_the_merged_ticket(client, agent, duplicate_pair):
    original, duplicate = duplicate_pair
    old_link = en("tickets:link", make_ticket_token(duplicate))  # from an earlier e-mail
    ticket_merge(duplicate=duplicate, into=original, actor=agent)

    page = client.get(old_link, follow=True).content.decode()
    assert "Withdrawal missing" in page and "Sent again because nobody answered." in page

    other_browser = client.__class__()
    response = other_browser.post(
        "/en/tickets/track/", {"reference": duplicate.reference, "email": "li.wei@example.com"},
        follow=True,
    )  # fmt: skip
    html = response.content.decode()
    assert "Withdrawal missing" in html and "Hello?" in html
    # And the merged ticket's own page opens in that browser too.
    assert other_browser.get(original.get_absolute_url()).status_code == 200


def test_merge_from_the_queue_and_its_refusals(agent_client, agent, duplicate_pair):
    original, duplicate = duplicate_pair
    response = agent_client.post(
        CHANGELIST + "?queue=anyone",
        {"_selected_action": [duplicate.pk], "action": "merge_into",
         "into": original.reference.lower(), "index": "0"},
        follow=True,
    )  # fmt: skip
    assert f"1 ticket(s) merged into {original.reference}." in response.content.decode()
    again = agent_client.post(
        CHANGELIST + "?queue=anyone",
        {"_selected_action": [duplicate.pk], "action": "merge_into",
         "into": original.reference, "index": "0"},
        follow=True,
    )  # fmt: skip
    assert "This ticket has already been merged." in again.content.decode()
    nowhere = agent_client.post(
        CHANGELIST + "?queue=anyone",
        {"_selected_action": [original.pk], "action": "merge_into", "into": "OK-0000",
         "index": "0"},
        follow=True,
    )  # fmt: skip
    assert "Type the reference of the ticket to merge into" in nowhere.content.decode()


def test_a_live_chat_is_not_merged(agent, duplicate_pair):
    from django.core.exceptions import ValidationError

    original, _ = duplicate_pair
    chat = TicketFactory.create(channel=Channel.CHAT, status=Status.OPEN)
    with pytest.raises(ValidationError, match="End the live chat"):
        ticket_merge(duplicate=chat, into=original, actor=agent)


# --- keyboard ---------------------------------------------------------------------------------


def test_the_ticket_page_and_the_queue_list_their_shortcuts(agent_client, agent):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    following = TicketFactory.create(status=Status.NEW)
    page = agent_client.get(change_url(ticket)).content.decode()
    assert 'id="shortcuts-help"' in page and "js/admin-shortcuts.js" in page
    assert f'data-next-url="{change_url(following)}"' in page
    for words in ["Write an internal note", "Next ticket in my queue", "Find a macro by typing"]:
        assert words in page
    # Inside the admin's form, the list must not end it: the save buttons stay in the form.
    form = page[page.index('id="ticket_form"') :]
    assert form.index('name="_continue"') < form.index("</form>")
    queue = agent_client.get(CHANGELIST).content.decode()
    assert 'data-page="queue"' in queue and "Select the ticket for an action" in queue


def test_another_customers_ticket_is_not_merged(agent, duplicate_pair):
    from django.core.exceptions import ValidationError

    original, _ = duplicate_pair
    stranger = TicketFactory.create(email="someone.else@example.com")
    with pytest.raises(ValidationError, match="same customer"):
        ticket_merge(duplicate=stranger, into=original, actor=agent)
    assert not original.messages.exists()
