"""Macros: a reply in the customer's language with its greeting, and actions applied through
the services; shared ones are the team's, personal ones their owner's."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.helpers import queued_emails
from tests.tickets.factories import TicketFactory
from tickets import macros
from tickets.emails import build_email
from tickets.models import Macro, Priority, Status, Tag, Ticket, Topic
from tickets.services import ticket_reply

CHANGELIST = "/admin/tickets/ticket/"


def change_url(ticket: Ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def page_of(client, ticket: Ticket) -> dict[str, object]:
    """The form the ticket page would post, as loaded."""
    form = client.get(change_url(ticket)).context["adminform"].form
    data: dict[str, object] = {}
    for name in ["status", "priority", "assignee", "kind", "topic", "seen", "seen_class",
                 "reply_kind", "status_after_reply"]:  # fmt: skip
        value = form[name].value()
        data[name] = "" if value is None else str(value)
    data["tags"] = [str(pk) for pk in form["tags"].value() or []]
    data["reply"] = ""
    return data


@pytest.fixture
def fraud_macro(db):
    tag = Tag.objects.create(name="fraud")
    macro = Macro.objects.create(
        title="Suspected fraud",
        body_zh_hans="我们已将工单 {reference} 列为紧急处理。\n\n{agent}",
        body_en="Ticket {reference} is now urgent.\n\n{agent}",
        set_status=Status.WAITING,
        set_priority=Priority.URGENT,
        set_topic=Topic.SECURITY,
    )
    macro.add_tags.add(tag)
    return macro


# --- the text ---------------------------------------------------------------------------------


def test_a_macro_greets_by_name_and_fills_in_the_reference_and_the_agent(fraud_macro, make_staff):
    agent = make_staff("mei", first_name="Mei")
    ticket = TicketFactory.create(name="Li Wei", language="en")
    text = macros.render(fraud_macro, ticket, agent)
    assert text == f"Hello Li Wei,\n\nTicket {ticket.reference} is now urgent.\n\nMei"


def test_without_a_name_the_greeting_is_hello_never_the_email_address(fraud_macro, agent):
    english = TicketFactory.create(name="", email="wei@example.com", language="en")
    chinese = TicketFactory.create(name="", email="li@example.com", language="zh-hans")
    assert macros.render(fraud_macro, english, agent).startswith("Hello,\n\n")
    zh_text = macros.render(fraud_macro, chinese, agent)
    assert zh_text.startswith("您好：\n\n我们已将工单")
    assert "@" not in macros.render(fraud_macro, english, agent) + zh_text


def test_a_macro_in_one_language_only_is_used_for_both(agent):
    macro = Macro.objects.create(title="Only English", body_en="See {reference}.")
    ticket = TicketFactory.create(language="zh-hans", name="")
    assert macros.render(macro, ticket, agent).endswith(f"See {ticket.reference}.")


def test_the_reply_email_does_not_greet_twice(
    fraud_macro, agent, django_capture_on_commit_callbacks
):
    ticket = TicketFactory.create(name="Li Wei", language="en", assignee=agent)
    with django_capture_on_commit_callbacks(execute=True):
        message = ticket_reply(
            ticket=ticket, author=agent, body=macros.render(fraud_macro, ticket, agent)
        )
    email = build_email(ticket, "staff_replied", message_id=message.pk)
    assert email is not None
    assert email.body.count("Hello Li Wei,") == 1
    html = email.alternatives[0][0]
    assert str(html).count("Hello Li Wei,") == 1
    # A reply typed without a greeting still gets the e-mail's own.
    plain = ticket_reply(ticket=ticket, author=agent, body="We are checking.")
    assert build_email(ticket, "staff_replied", message_id=plain.pk).body.startswith(  # type: ignore[union-attr]
        "Hello Li Wei,"
    )


def test_chinese_greetings_are_recognised():
    assert macros.starts_with_greeting("李伟，您好：\n\n已处理。")
    assert macros.starts_with_greeting("您好，已处理。")
    assert macros.starts_with_greeting("Hi there")
    assert not macros.starts_with_greeting("已为您处理，款项将在 1–3 个工作日到账。")
    assert not macros.starts_with_greeting("History of your ticket")


# --- applying it on the ticket page --------------------------------------------------------


def test_applying_a_macro_sends_its_text_and_applies_its_actions_with_history(
    agent_client, agent, fraud_macro, django_capture_on_commit_callbacks
):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent, topic=Topic.WITHDRAWAL)
    page = page_of(agent_client, ticket)
    text = macros.render(fraud_macro, ticket, agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            change_url(ticket), {**page, "macro": fraud_macro.pk, "reply": text}
        )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING
    assert ticket.priority == Priority.URGENT
    assert ticket.topic == Topic.SECURITY
    assert [tag.name for tag in ticket.tags.all()] == ["fraud"]
    assert ticket.messages.get().body == text
    fields = set(ticket.events.values_list("field", flat=True))
    assert {"priority", "topic", "tags", "macro", "status"} <= fields
    assert queued_emails() == ["staff_replied"]


def test_a_status_the_agent_chose_wins_over_the_macros(agent_client, agent, fraud_macro):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    page = page_of(agent_client, ticket)
    response = agent_client.post(
        change_url(ticket),
        {**page, "macro": fraud_macro.pk, "reply": "Done.", "status_after_reply": "resolved"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.priority == Priority.URGENT  # the rest of the macro still applies


def test_a_refused_macro_action_saves_nothing(agent_client, agent, fraud_macro, make_staff):
    ticket = TicketFactory.create(status=Status.OPEN, assignee=agent)
    colleague = make_staff("agent-b")
    fraud_macro.owner = colleague
    fraud_macro.save()
    page = page_of(agent_client, ticket)
    response = agent_client.post(
        change_url(ticket), {**page, "macro": fraud_macro.pk, "reply": "Typed words."}
    )
    # A colleague's macro is not even offered: the choice is refused next to the field.
    assert response.status_code == 200
    assert "macro" in response.context["adminform"].form.errors
    assert "Typed words." in response.content.decode()
    ticket.refresh_from_db()
    assert not ticket.messages.exists() and ticket.priority == Priority.NORMAL


def test_the_macro_menu_offers_the_texts_filled_in_for_the_ticket(agent_client, fraud_macro):
    ticket = TicketFactory.create(name="Li Wei", language="en")
    html = agent_client.get(change_url(ticket)).content.decode()
    assert f'data-text="Hello Li Wei,\n\nTicket {ticket.reference} is now urgent.' in html
    assert 'data-actions="status → Waiting on customer · priority → Urgent' in html
    assert "js/admin-macros.js" in html


# --- shared and personal --------------------------------------------------------------------


def test_personal_macros_are_seen_only_by_their_owner(client_for, make_staff):
    mei, jun = make_staff("mei"), make_staff("jun")
    Macro.objects.create(title="Team reply", body_en="Team text")
    Macro.objects.create(title="Mei's own", body_en="Mine", owner=mei)
    ticket = TicketFactory.create()
    mei_page = client_for(mei).get(change_url(ticket)).content.decode()
    jun_page = client_for(jun).get(change_url(ticket)).content.decode()
    assert "Team reply" in mei_page and "Mei&#x27;s own" in mei_page
    assert "Team reply" in jun_page and "Mei&#x27;s own" not in jun_page
    assert "Mei&#x27;s own" not in client_for(jun).get("/admin/tickets/macro/").content.decode()


def test_an_agent_adds_a_personal_macro_and_cannot_change_a_shared_one(agent_client, agent):
    shared = Macro.objects.create(title="Team reply", body_en="Team text")
    response = agent_client.post(
        "/admin/tickets/macro/add/",
        {"title": "My follow-up", "body_zh_hans": "", "body_en": "Any news, {name}?"},
    )
    assert response.status_code == 302
    assert Macro.objects.get(title="My follow-up").owner == agent
    edit = agent_client.post(
        f"/admin/tickets/macro/{shared.pk}/change/", {"title": "Hijacked", "body_en": "x"}
    )
    assert edit.status_code == 403
    shared.refresh_from_db()
    assert shared.title == "Team reply"


def test_a_lead_manages_shared_macros(lead_client):
    response = lead_client.post(
        "/admin/tickets/macro/add/",
        {"title": "Team macro", "body_zh_hans": "团队回复", "body_en": "", "owner": ""},
    )
    assert response.status_code == 302
    assert Macro.objects.get(title="Team macro").is_shared


def test_a_macro_without_any_text_is_refused_next_to_the_field(agent_client):
    response = agent_client.post(
        "/admin/tickets/macro/add/", {"title": "Empty", "body_zh_hans": " ", "body_en": ""}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["body_zh_hans"] == [
        "Write the text in at least one language."
    ]


# --- the starter set ------------------------------------------------------------------------


def test_the_starter_set_loads_once_in_both_languages(db):
    out = StringIO()
    call_command("load_macros", stdout=out)
    assert "14 created" in out.getvalue()
    again = StringIO()
    call_command("load_macros", stdout=again)
    assert "0 created, 0 updated, 14 kept" in again.getvalue()
    assert Macro.objects.count() == 14
    assert not Macro.objects.filter(body_zh_hans="").exists()
    assert not Macro.objects.filter(body_en="").exists()
    keys = set(Macro.objects.values_list("key", flat=True))
    assert {"withdrawal-delay", "top-up-not-arrived", "password-reset", "suspected-fraud"} <= keys
    fraud = Macro.objects.get(key="suspected-fraud")
    assert fraud.set_priority == Priority.URGENT and fraud.add_tags.get().name == "fraud"
    # No shipped text writes its own greeting or a placeholder we do not fill.
    for macro in Macro.objects.all():
        for body in (macro.body_zh_hans, macro.body_en):
            assert not macros.starts_with_greeting(body), macro.key
            assert set(re.findall(r"\{(\w+)\}", body)) <= set(macros.PLACEHOLDERS), macro.key


def test_a_starter_macro_the_team_edited_is_kept_unless_forced(db):
    call_command("load_macros", stdout=StringIO())
    Macro.objects.filter(key="password-reset").update(title="Our own wording")
    call_command("load_macros", stdout=StringIO())
    assert Macro.objects.get(key="password-reset").title == "Our own wording"
    call_command("load_macros", "--force", stdout=StringIO())
    assert Macro.objects.get(key="password-reset").title == "Password reset by e-mail link"
