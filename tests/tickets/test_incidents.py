"""Known incidents (issue 16 part 3): leads post them, customers see them on the status page and
as banners, ask to hear when one is fixed, and the tickets filed during one are answered
together. The cached pages' side (a banner within seconds, ended by the clock) is in
tests/faq/test_incident_pages.py."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from tests.helpers import en, find, load_help_content, queued_emails, zh
from tests.tickets.factories import TicketFactory
from tickets import incidents as incident_reads
from tickets.incident_models import Incident, IncidentStatus, IncidentSubscription
from tickets.incident_services import (
    incident_answer_tickets,
    incident_resolve,
    incident_save,
    incident_subscribe,
)
from tickets.models import Message, Ticket
from tickets.protection_models import EmailCode

pytestmark = pytest.mark.django_db


def post_incident(**fields) -> Incident:
    values = {
        "title_zh_hans": "部分银行提现延迟",
        "title_en": "Withdrawals to some banks are delayed",
        "message_zh_hans": "提现到部分银行卡的到账时间延长，资金安全，无需重复提交。",
        "message_en": "Withdrawals to some bank cards take longer. Your money is safe: "
        "there is no need to withdraw again.",
        "topics": ["withdrawal"],
        "starts_at": timezone.now() - timedelta(minutes=30),
        **fields,
    }
    return incident_save(incident=Incident(**values))


def html_of(response) -> str:
    return response.content.decode()


# --- Who may post ---------------------------------------------------------------------------


ADMIN_ADD = "/admin/tickets/incident/add/"


def admin_form(**overrides):
    now = timezone.localtime()
    return {
        "title_zh_hans": "充值暂时失败",
        "title_en": "Top-ups are failing",
        "message_zh_hans": "我们正在处理。",
        "message_en": "We are working on it.",
        "topics": ["top-up"],
        "status": "investigating",
        "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": now.strftime("%H:%M:%S"),
        "ends_at_0": "",
        "ends_at_1": "",
        **overrides,
    }


def test_an_agent_sees_incidents_but_cannot_post_or_change_one(agent_client):
    incident = post_incident()
    assert agent_client.get("/admin/tickets/incident/").status_code == 200
    assert agent_client.get(f"/admin/tickets/incident/{incident.pk}/change/").status_code == 200
    assert agent_client.get(ADMIN_ADD).status_code == 403
    response = agent_client.post(
        f"/admin/tickets/incident/{incident.pk}/change/", admin_form(status="resolved")
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.INVESTIGATING


@pytest.mark.parametrize("role", ["lead", "superuser"])
def test_a_lead_posts_an_incident_in_the_admin(make_staff, client_for, role):
    poster = make_staff("lin", role)
    response = client_for(poster).post(ADMIN_ADD, admin_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get()
    assert incident.topics == ["top-up"] and incident.created_by == poster
    assert incident.reference.startswith("IN-")
    change = html_of(client_for(poster).get(f"/admin/tickets/incident/{incident.pk}/change/"))
    assert find(r'<input[^>]*value="top-up"[^>]*>', change).group(0).count("checked") == 1
    assert "充值暂时失败" in html_of(Client().get(zh("incidents:status")))


def test_the_admin_refuses_an_incident_without_topics_or_ending_before_it_starts(lead_client):
    response = lead_client.post(ADMIN_ADD, admin_form(topics=[]))
    assert response.status_code == 200
    assert "Choose at least one affected topic." in html_of(response)
    yesterday = timezone.localtime() - timedelta(days=1)
    response = lead_client.post(
        ADMIN_ADD,
        admin_form(
            ends_at_0=yesterday.strftime("%Y-%m-%d"), ends_at_1=yesterday.strftime("%H:%M:%S")
        ),
    )
    assert response.status_code == 200
    assert not Incident.objects.exists()


def test_an_agent_has_no_answer_all(agent_client):
    incident = post_incident(status=IncidentStatus.RESOLVED)
    url = f"/admin/tickets/incident/{incident.pk}/answer-tickets/"
    assert agent_client.get(url).status_code == 403


# --- The status page ------------------------------------------------------------------------


def test_the_status_page_lists_current_planned_and_recent_incidents_in_both_languages():
    now = timezone.now()
    post_incident(starts_at=now.replace(hour=7, minute=5) - timedelta(days=1))
    post_incident(
        title_zh_hans="系统维护",
        title_en="Planned maintenance of top-ups",
        topics=["top-up"],
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
    )
    fixed = post_incident(
        title_zh_hans="登录验证码延迟", title_en="Login codes were slow", topics=["account"]
    )
    incident_resolve(incident=fixed)
    old = post_incident(title_en="An old problem", starts_at=now - timedelta(days=40))
    incident_resolve(incident=old)
    Incident.objects.filter(pk=old.pk).update(resolved_at=now - timedelta(days=30))

    english = html_of(Client().get(en("incidents:status")))
    current = find(r'id="current-title".*?id="planned-title"', english).group(0)
    assert "Withdrawals to some banks are delayed" in current
    # 07:05 UTC is 15:05 in Beijing, as every time on the site.
    assert "15:05 (Beijing time)" in current
    assert "Investigating" in current and "Tell me when it's fixed" in current
    planned = find(r'id="planned-title".*?id="recent-title"', english).group(0)
    assert "Planned maintenance of top-ups" in planned
    recent = find(r'id="recent-title".*?</section>', english).group(0)
    assert "Login codes were slow" in recent and "Resolved" in recent
    assert "An old problem" not in english  # resolved a month ago

    chinese = html_of(Client().get(zh("incidents:status")))
    assert "部分银行提现延迟" in chinese and "登录验证码延迟" in chinese
    assert "系统维护" in chinese and "Withdrawals" not in chinese


def test_the_status_page_says_all_is_well_without_incidents():
    html = html_of(Client().get(en("incidents:status")))
    assert 'id="all-well"' in html


def test_the_status_page_is_in_the_footer_and_the_site_map(category):
    home = html_of(Client().get(zh("faq:home")))
    assert f'href="{zh("incidents:status")}"' in find(r"<footer.*</footer>", home).group(0)
    site_map = html_of(Client().get(en("faq:site-map")))
    assert f'href="{en("incidents:status")}"' in site_map


def test_the_status_page_costs_few_queries_and_none_once_cached(
    settings, django_assert_max_num_queries, django_assert_num_queries
):
    settings.FAQ_PAGE_CACHE_CHECK_SECONDS = 60
    for number in range(5):
        post_incident(title_en=f"Problem {number}")
    incident_reads.clear()
    with django_assert_max_num_queries(4):
        first = Client().get(en("incidents:status"))
    assert first.status_code == 200 and "Problem 4" in html_of(first)
    with django_assert_num_queries(0):
        again = Client().get(en("incidents:status"))
    assert again.status_code == 200 and not again.templates and "Problem 4" in html_of(again)


# --- Banners on the pages that are not cached whole -----------------------------------------


def test_the_ticket_form_shows_the_banner_of_the_topic_chosen_in_its_link():
    post_incident()
    chosen = html_of(Client().get(en("tickets:new") + "?topic=withdrawal"))
    banners = find(r'<div id="incident-banners".*?</form>', chosen).group(0)
    assert "Withdrawals to some banks are delayed" in banners
    other = html_of(Client().get(en("tickets:new") + "?topic=top-up"))
    assert "Withdrawals to some banks are delayed" not in other
    assert "Withdrawals to some banks are delayed" not in html_of(Client().get(en("tickets:new")))


def test_the_ticket_forms_topic_select_asks_for_the_banner_as_it_changes():
    post_incident()
    form = html_of(Client().get(en("tickets:new")))
    container = find(r'<div id="incident-banners"[^>]*>', form).group(0)
    assert 'data-hx-trigger="change from:#id_topic"' in container
    assert 'data-hx-include="#id_topic"' in container
    fragment = Client().get(
        en("incidents:banner"), {"topic": "withdrawal"}, headers={"HX-Request": "true"}
    )
    assert "Withdrawals to some banks are delayed" in html_of(fragment)
    assert "<html" not in html_of(fragment)
    none = Client().get(en("incidents:banner"), {"topic": "payment"})
    assert html_of(none).strip() == ""
    assert html_of(Client().get(en("incidents:banner"), {"topic": "x"})).strip() == ""


def test_the_banner_shows_on_the_ticket_form_again_with_errors():
    post_incident()
    response = Client().post(en("tickets:new"), {"topic": "withdrawal", "kind": "complaint"})
    assert "Withdrawals to some banks are delayed" in html_of(response)


# --- "Tell me when it's fixed" --------------------------------------------------------------


def test_a_customer_asks_to_hear_when_it_is_fixed_without_javascript():
    incident = post_incident()
    url = zh("incidents:subscribe", incident.reference)
    response = Client().post(url, {"email": "wang.fang@example.com"})
    assert response.status_code == 302
    assert response["Location"].startswith(zh("incidents:status") + "?subscribed=")
    page = html_of(Client().get(response["Location"]))
    answer = find(rf'id="subscribe-{incident.reference}".*?</div>', page).group(0)
    assert 'role="status"' in answer and "<form" not in answer
    subscription = IncidentSubscription.objects.get()
    assert subscription.email == "wang.fang@example.com" and subscription.language == "zh-hans"


def test_a_customer_asks_with_htmx_and_the_form_is_swapped_in_place():
    incident = post_incident()
    response = Client().post(
        en("incidents:subscribe", incident.reference),
        {"email": "li.wei@example.com"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = html_of(response)
    assert f'id="subscribe-{incident.reference}"' in html and "<html" not in html
    assert "we will e-mail you once" in html
    # Asking again is the same answer, and still one subscription.
    Client().post(
        en("incidents:subscribe", incident.reference),
        {"email": "LI.WEI@example.com"},
        headers={"HX-Request": "true"},
    )
    assert IncidentSubscription.objects.count() == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_an_invalid_address_is_refused_next_to_the_field_in_the_customers_language(htmx):
    incident = post_incident()
    headers = {"HX-Request": "true"} if htmx else {}
    response = Client().post(
        zh("incidents:subscribe", incident.reference), {"email": "wang@"}, headers=headers
    )
    assert response.status_code == 200
    html = html_of(response)
    field = find(
        rf'<div class="field has-error">.*?id="subscribe-{incident.reference}-email"', html
    )
    assert "请填写有效的邮箱地址" in field.group(0)
    assert 'value="wang@"' in html  # what was typed stays
    assert not IncidentSubscription.objects.exists()


def test_asking_is_rate_limited_like_the_other_forms(settings):
    settings.TICKETS_RATE_PER_IP = "2/3600"
    incident = post_incident()
    url = en("incidents:subscribe", incident.reference)
    visitor = Client()
    for number in range(2):
        assert visitor.post(url, {"email": f"c{number}@example.com"}).status_code == 302
    refused = visitor.post(url, {"email": "c3@example.com"})
    assert refused.status_code == 429
    assert "Too many attempts" in find(
        r'<div class="field has-error">.*?</div>', html_of(refused)
    ).group(0)
    assert IncidentSubscription.objects.count() == 2


def test_nobody_can_ask_about_an_incident_already_fixed():
    incident = post_incident()
    incident_resolve(incident=incident)
    response = Client().post(
        en("incidents:subscribe", incident.reference), {"email": "late@example.com"}
    )
    assert response.status_code == 200
    assert "This problem is already fixed." in html_of(response)
    assert not IncidentSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_resolving_emails_each_subscriber_once_even_when_resolved_twice(run_tasks):
    load_help_content()
    incident = post_incident()
    incident_subscribe(incident=incident, email="wang.fang@example.com", language="zh-hans")
    incident_subscribe(incident=incident, email="li.wei@example.com", language="en")
    incident.status = IncidentStatus.MONITORING
    incident_save(incident=incident)
    run_tasks()
    assert mail.outbox == []  # not fixed yet

    incident_resolve(incident=incident)
    # Reopened and resolved again, and a second worker's stale copy resolving it as well.
    incident.status = IncidentStatus.MONITORING
    incident_save(incident=incident)
    incident_resolve(incident=incident)
    incident_resolve(incident=Incident.objects.get(pk=incident.pk))
    run_tasks()
    run_tasks()

    assert sorted(message.to[0] for message in mail.outbox) == [
        "li.wei@example.com",
        "wang.fang@example.com",
    ]
    by_address = {message.to[0]: message for message in mail.outbox}
    chinese, english = by_address["wang.fang@example.com"], by_address["li.wei@example.com"]
    assert "部分银行提现延迟" in chinese.subject
    assert english.subject == "Fixed: Withdrawals to some banks are delayed"
    # The usual footer: never asks for codes, and an authenticity code the checker knows.
    code = find(r"OKV-[A-Z0-9]{4}-[A-Z0-9]{4}", str(english.body)).group(0)
    assert EmailCode.objects.get(code=code).reference == incident.reference
    assert "verification code" in english.body
    assert isinstance(english, EmailMultiAlternatives)
    html = str(english.alternatives[0][0])
    assert "/en/status/" in html and code in html
    assert IncidentSubscription.objects.filter(notified_at__isnull=True).count() == 0


# --- Tickets filed during an incident -------------------------------------------------------


def test_a_ticket_filed_on_the_topic_of_an_open_incident_is_linked_to_it(ticket_data):
    incident = post_incident()
    assert Client().post(en("tickets:new"), ticket_data).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.incident == incident
    assert ticket.events.filter(field="incident", new_value=incident.reference).exists()


def test_other_topics_and_ended_incidents_link_nothing(ticket_data):
    post_incident(topics=["top-up"])
    post_incident(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1)
    )
    planned = post_incident(starts_at=timezone.now() + timedelta(hours=1))
    assert Client().post(en("tickets:new"), ticket_data).status_code == 302
    assert Ticket.objects.get().incident is None
    assert planned.tickets.count() == 0


def test_the_incidents_admin_page_lists_its_tickets(lead_client):
    incident = post_incident()
    TicketFactory.create(incident=incident, subject="Where is my money?")
    page = html_of(lead_client.get(f"/admin/tickets/incident/{incident.pk}/change/"))
    assert "Where is my money?" in page


# --- Answering them all at once -------------------------------------------------------------


def test_a_lead_answers_every_open_ticket_of_a_resolved_incident_at_once(
    lead_client, lead, django_capture_on_commit_callbacks
):
    incident = post_incident()
    chinese = TicketFactory.create(incident=incident, language="zh-hans")
    english = TicketFactory.create(incident=incident, language="en")
    finished = TicketFactory.create(incident=incident, status="closed")
    unrelated = TicketFactory.create()
    url = f"/admin/tickets/incident/{incident.pk}/answer-tickets/"

    response = lead_client.post(url, {"body_zh_hans": "已修复。", "body_en": "It is fixed."})
    assert "Resolve the incident before answering its tickets." in html_of(response)
    assert not Message.objects.exists()

    incident_resolve(incident=incident)
    page = html_of(lead_client.get(f"/admin/tickets/incident/{incident.pk}/change/"))
    assert url in page
    assert lead_client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(
            url, {"body_zh_hans": "已修复。", "body_en": "It is fixed.", "resolve": "on"}
        )
    assert response.status_code == 302
    for ticket, body in ((chinese, "已修复。"), (english, "It is fixed.")):
        ticket.refresh_from_db()
        reply = ticket.messages.get()
        assert reply.body == body and reply.author == lead and not reply.is_internal
        assert ticket.status == "resolved" and ticket.first_response_at is not None
    assert not finished.messages.exists() and not unrelated.messages.exists()
    # Each customer gets the usual reply e-mail.
    assert queued_emails().count("staff_replied") == 2


def test_answer_all_needs_a_text(lead):
    incident = post_incident(status=IncidentStatus.RESOLVED)
    TicketFactory.create(incident=incident)
    with pytest.raises(Exception, match="Write the reply first"):
        incident_answer_tickets(
            incident=incident, actor=lead, body_zh_hans=" ", body_en="", resolve=False
        )


def test_incidents_past_their_planned_end_are_resolved_by_the_cron_command(
    django_capture_on_commit_callbacks,
):
    from django.core.management import call_command

    ended = post_incident(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(minutes=1)
    )
    going_on = post_incident(ends_at=timezone.now() + timedelta(hours=1))
    IncidentSubscription.objects.create(incident=ended, email="wang@example.com")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("resolve_ended_incidents")
        call_command("resolve_ended_incidents")
    ended.refresh_from_db()
    going_on.refresh_from_db()
    assert ended.is_resolved and not going_on.is_resolved
    assert IncidentSubscription.objects.get().notified_at is not None
    # One e-mail queued for the one subscriber (plus the page-version bumps of each save).
    queued = [c for c in callbacks if getattr(c, "func", None) is not None]
    assert len(queued) == 1


def test_two_workers_resolving_at_once_queue_one_email_per_subscriber(shared_database):
    import threading

    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    incident = post_incident()
    for number in range(3):
        incident_subscribe(incident=incident, email=f"c{number}@example.com", language="en")
    # Each worker loaded the incident before either saved.
    copies = [Incident.objects.get(pk=incident.pk) for _ in range(2)]
    start = threading.Barrier(len(copies))
    errors: list[BaseException] = []

    def resolve(copy: Incident) -> None:
        try:
            start.wait()
            incident_resolve(incident=copy)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=resolve, args=[copy]) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    queued = DBTaskResult.objects.filter(task_path__endswith=".send_incident_email")
    keys = sorted(task.args_kwargs["kwargs"]["key"] for task in queued)
    subscriptions = IncidentSubscription.objects.order_by("pk")
    assert keys == sorted(f"incident-fixed-{s.pk}" for s in subscriptions)
    assert all(s.notified_at is not None for s in subscriptions)


def test_answer_all_leaves_alone_a_ticket_resolved_meanwhile_and_never_sends_twice(
    lead, monkeypatch
):
    # While the replies go out one by one, a colleague resolves a ticket further down the
    # list (or a second click of "Send" got to it first): it gets no second reply.
    from tickets import services

    incident = post_incident(status=IncidentStatus.RESOLVED)
    first, second = (TicketFactory.create(incident=incident) for _ in range(2))
    reply = services.ticket_reply

    def reply_and_meanwhile(*, ticket, **kwargs):
        message = reply(ticket=ticket, **kwargs)
        if ticket.pk == first.pk:
            reply(ticket=second, author=lead, body="Fixed, sorry.", status_after="resolved")
        return message

    monkeypatch.setattr(services, "ticket_reply", reply_and_meanwhile)
    outcome = incident_answer_tickets(
        incident=incident, actor=lead, body_zh_hans="", body_en="It is fixed.", resolve=True
    )
    assert [ticket.pk for ticket in outcome.answered] == [first.pk]
    assert list(second.messages.values_list("body", flat=True)) == ["Fixed, sorry."]

    # Sent again (the button clicked twice, without resolving): the same text is not repeated.
    third = TicketFactory.create(incident=incident)
    monkeypatch.setattr(services, "ticket_reply", reply)
    for _ in range(2):
        incident_answer_tickets(
            incident=incident, actor=lead, body_zh_hans="", body_en="It is fixed.", resolve=False
        )
    assert third.messages.count() == 1


def test_answer_all_refuses_a_reply_too_long_next_to_the_field(lead_client):
    incident = post_incident(status=IncidentStatus.RESOLVED)
    TicketFactory.create(incident=incident)
    url = f"/admin/tickets/incident/{incident.pk}/answer-tickets/"
    response = lead_client.post(url, {"body_en": "x" * 5001, "resolve": "on"})
    assert response.status_code == 200
    assert "at most 5000 characters" in html_of(response)
    assert "Write the reply in at least one language" not in html_of(response)
    assert not Message.objects.exists()


def test_the_incident_list_counts_its_tickets_and_subscribers(lead_client):
    incident = post_incident()
    post_incident(title_en="Another problem")
    for _ in range(2):
        TicketFactory.create(incident=incident)
    for number in range(3):
        incident_subscribe(incident=incident, email=f"c{number}@example.com", language="en")
    page = html_of(lead_client.get("/admin/tickets/incident/"))
    row = find(rf"<tr[^>]*>(?:(?!</tr>).)*?/{incident.pk}/change/.*?</tr>", page).group(0)
    assert '<td class="field-ticket_count">2</td>' in row
    assert '<td class="field-subscriber_count">3</td>' in row
    change = html_of(lead_client.get(f"/admin/tickets/incident/{incident.pk}/change/"))
    assert (
        find(r'field-subscriber_count.*?<div class="readonly">(\d+)</div>', change).group(1) == "3"
    )


def test_the_cron_does_not_resolve_an_incident_whose_end_a_lead_just_moved_later(monkeypatch):
    from tickets import incident_services

    now = timezone.now()
    first, second = (
        post_incident(starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=1))
        for _ in range(2)
    )
    resolve = incident_services.incident_resolve
    later = now + timedelta(hours=1)

    extended: list[Incident] = []

    def resolve_while_the_lead_saves(*, incident, actor=None):
        # As the command resolves one, a lead extends the other's maintenance.
        if not extended:
            extended.append(second if incident.pk == first.pk else first)
            Incident.objects.filter(pk=extended[0].pk).update(ends_at=later)
        return resolve(incident=incident, actor=actor)

    monkeypatch.setattr(incident_services, "incident_resolve", resolve_while_the_lead_saves)
    assert incident_services.incidents_resolve_ended() == 1
    extended[0].refresh_from_db()
    assert not extended[0].is_resolved and extended[0].ends_at == later


def test_a_refused_address_shows_one_form_though_this_workers_copy_is_older():
    incident = post_incident()
    Client().get(en("incidents:status"))  # this worker's copy of the incidents
    # Edited on another worker: this one has not looked at the shared version yet.
    Incident.objects.filter(pk=incident.pk).update(message_en="Now also top-ups.")
    response = Client().post(en("incidents:subscribe", incident.reference), {"email": "wang@"})
    assert html_of(response).count(f'id="subscribe-{incident.reference}"') == 1
