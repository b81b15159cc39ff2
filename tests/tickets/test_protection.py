""" "Is this really OK Wallet?" (tickets/channels.py) and the emergency lane."""

import re

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from tests.helpers import en, zh
from tests.tickets.conftest import VALID_TICKET
from tickets.channels import Verdict, check, classify, email_code_for
from tickets.models import Priority, Ticket, Topic
from tickets.protection_models import ChannelKind, OfficialChannel, ReportedContact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def our_channels(settings):
    settings.SUPPORT_HOTLINE = "400-000-0000"
    settings.SUPPORT_EMAIL = "support@okwallet.example"
    settings.DEFAULT_FROM_EMAIL = "OK Wallet Support <noreply@okwallet.example>"
    settings.SITE_URL = "https://help.okwallet.example"
    settings.SUPPORT_WECHAT = "OKWallet"
    settings.SUPPORT_WEIBO = "@OK钱包"


# --- Normalisation: what impostors change, and what does not matter -------------------------


@pytest.mark.parametrize(
    "typed",
    ["400-000-0000", "4000000000", "400 000 0000", "+86 400 000 0000", "0086-400-000-0000",
     "４００－０００－００００", "(400) 000 0000"],
)  # fmt: skip
def test_the_hotline_is_official_however_it_is_written(typed):
    result = check(typed, "en")
    assert result.verdict == Verdict.OFFICIAL and result.official is not None
    assert result.official.value == "400-000-0000"


@pytest.mark.parametrize(
    "typed",
    ["okwallet.example", "https://okwallet.example/", "WWW.OKWALLET.EXAMPLE",
     "https://help.okwallet.example/en/articles/x/", "ｏｋｗａｌｌｅｔ．ｅｘａｍｐｌｅ"],
)  # fmt: skip
def test_our_domain_and_its_sub_domains_are_official(typed):
    assert check(typed, "en").verdict == Verdict.OFFICIAL


@pytest.mark.parametrize(
    "typed",
    ["okwallet.example.evil.cn", "https://okwallet.example@evil.cn/login", "okwa11et.example",
     "0kwallet.example", "оkwallet.example", "okwallet-example.com", "help-okwallet.example.cn"],
)  # fmt: skip
def test_look_alike_domains_are_not_official_and_are_called_imitations(typed):
    result = check(typed, "en")
    assert result.verdict == Verdict.NOT_OFFICIAL
    assert result.imitates is not None, typed


def test_an_imitation_is_named_after_our_channel_of_the_same_kind():
    result = check("okwallet.example.evil.cn", "en")
    assert result.imitates is not None and result.imitates.kind == "web"


def test_the_report_form_shows_no_label_for_its_hidden_value(client):
    html = client.get(en("protection:verify"), {"q": "evil.cn"}).content.decode()
    assert 'type="hidden" name="reported" value="evil.cn"' in html
    assert ">Reported<" not in html


def test_an_unrelated_domain_is_not_official_and_not_an_imitation():
    result = check("example.org", "en")
    assert (result.verdict, result.imitates) == (Verdict.NOT_OFFICIAL, None)


@pytest.mark.parametrize(
    "typed,verdict",
    [
        ("support@okwallet.example", Verdict.OFFICIAL),
        ("OK Wallet <noreply@okwallet.example>", Verdict.OFFICIAL),
        ("Support@OKWallet.Example", Verdict.OFFICIAL),
        ("support@okwallet.example.cn", Verdict.NOT_OFFICIAL),
        ("okwallet.support@gmail.com", Verdict.NOT_OFFICIAL),
    ],
)
def test_email_senders(typed, verdict):
    assert check(typed, "en").verdict == verdict


@pytest.mark.parametrize(
    "typed,verdict,imitation",
    [
        ("OKWallet", Verdict.OFFICIAL, False),
        ("@okwallet", Verdict.OFFICIAL, False),
        ("@OK钱包", Verdict.OFFICIAL, False),
        ("OKWallet客服", Verdict.NOT_OFFICIAL, True),
        ("0KWa11et", Verdict.NOT_OFFICIAL, True),
        ("Alipay", Verdict.NOT_OFFICIAL, False),
    ],
)
def test_handles_and_app_names(typed, verdict, imitation):
    result = check(typed, "en")
    assert result.verdict == verdict
    assert (result.imitates is not None) == imitation


def test_our_number_written_with_letters_is_an_imitation_not_ours():
    # On a keypad 4OO-OOO-OOOO dials 466-666-6666.
    result = check("4OO-OOO-OOOO", "en")
    assert result.verdict == Verdict.NOT_OFFICIAL and result.imitates is not None


@pytest.mark.parametrize(
    "typed",
    ["https://evil.cn\\@okwallet.example/login", "https://evil.cn\\.okwallet.example/",
     "support@okwallet.example <evil@evil.cn>", "support@okwallet.example, evil@evil.cn",
     "support@okwallet.example)<evil@evil.cn>", '"support@okwallet.example" <x@evil.cn>'],
)  # fmt: skip
def test_tricks_that_hide_the_real_host_or_sender_are_not_official(typed):
    assert check(typed, "en").verdict == Verdict.NOT_OFFICIAL, typed


@pytest.mark.parametrize("typed", ["okwallet。example", "okwallet.example.", "OKWALLET.EXAMPLE/"])
def test_our_domain_typed_on_a_chinese_keyboard_or_with_a_trailing_dot_is_ours(typed):
    assert check(typed, "en").verdict == Verdict.OFFICIAL, typed


def test_a_support_address_at_a_mail_provider_does_not_make_the_provider_official(settings):
    settings.SUPPORT_EMAIL = "okwallet_support@qq.com"
    assert check("okwallet_support@qq.com", "en").verdict == Verdict.OFFICIAL
    assert check("qq.com", "en").verdict == Verdict.NOT_OFFICIAL
    assert check("scammer@qq.com", "en").verdict == Verdict.NOT_OFFICIAL


def test_a_short_service_number_staff_enter_is_found_as_customers_paste_it(lead_client):
    # Five digits read as a name, not a phone number: the channel takes the kind the
    # checker will read, whatever kind the person entering it had in mind.
    lead_client.post(
        "/admin/tickets/officialchannel/add/",
        {"value": "95188", "description_zh_hans": "支付热线", "description_en": "payment line"},
    )
    assert check("95188", "en").verdict == Verdict.OFFICIAL


def test_staff_cannot_make_a_shared_platform_official(lead_client):
    add = "/admin/tickets/officialchannel/add/"
    data = {"kind": "web", "value": "https://weibo.com/okwallet", "description_zh_hans": "微博",
            "description_en": "Weibo"}  # fmt: skip
    response = lead_client.post(add, data)
    assert response.status_code == 200 and "shared platform" in response.content.decode()
    assert not OfficialChannel.objects.exists()
    ok = {**data, "value": "pay.okwallet.example"}
    assert lead_client.post(add, ok).status_code == 302
    again = lead_client.post(add, ok)
    assert "already in the list" in again.content.decode()
    assert OfficialChannel.objects.count() == 1


def test_a_number_one_digit_away_from_the_hotline_is_an_imitation():
    result = check("400-000-0001", "en")
    assert result.verdict == Verdict.NOT_OFFICIAL and result.imitates is not None
    assert check("138 0013 8000", "en").imitates is None


def test_mobile_numbers_with_or_without_the_country_code_are_the_same():
    assert classify("+86 138-0013-8000") == classify("13800138000") == (
        ChannelKind.PHONE, "13800138000",
    )  # fmt: skip


# --- The registry staff keep, and reports --------------------------------------------------


def test_a_channel_staff_add_is_official_and_counts_its_checks():
    channel = OfficialChannel.objects.create(
        kind=ChannelKind.PHONE,
        value="95188-1",
        normalised=classify("95188-1")[1],
        description_zh_hans="信用卡中心",
        description_en="the credit card centre",
    )
    result = check("951881", "zh-hans")
    assert result.verdict == Verdict.OFFICIAL and result.official is not None
    assert result.official.description == "信用卡中心"
    channel.refresh_from_db()
    assert channel.check_count == 1


def test_a_confirmed_report_warns_everyone_who_checks_it_later(client):
    client.post(
        en("protection:verify-report"),
        {"reported": "+86 170 1234 5678", "what_happened": "Said my account is frozen"},
    )
    contact = ReportedContact.objects.get()
    assert (contact.kind, contact.normalised, contact.report_count) == ("phone", "17012345678", 1)
    assert check("17012345678", "en").verdict == Verdict.NOT_OFFICIAL  # not confirmed yet
    ReportedContact.objects.filter(pk=contact.pk).update(confirmed_scam=True)  # staff confirm
    response = client.get(en("protection:verify"), {"q": "170-1234-5678"})
    assert 'data-verdict="reported-scam"' in response.content.decode()
    contact.refresh_from_db()
    assert contact.check_count == 2


# --- The pages ------------------------------------------------------------------------------


def test_the_checker_works_as_a_plain_get_in_both_languages(client):
    html = client.get(zh("protection:verify"), {"q": "okwallet.example.evil.cn"}).content.decode()
    assert 'data-verdict="not-official"' in html
    assert "这不是我们的渠道" in html
    html = client.get(en("protection:verify"), {"q": "400 000 0000"}).content.decode()
    assert 'data-verdict="official"' in html and "our customer service hotline" in html
    assert "Report it to us" not in html  # nothing to report about our own number


def test_an_empty_check_gets_an_error_next_to_the_field(client):
    html = client.get(en("protection:verify"), {"q": ""}).content.decode()
    assert "Paste what contacted you, then check it." in html
    assert "data-verdict" not in html


def test_a_report_files_an_urgent_security_ticket_with_the_value_masked(client):
    response = client.post(
        en("protection:verify-report"),
        {
            "reported": "www.okwallet-refund.cn",
            "what_happened": "They asked for my card 4111 1111 1111 1111 to refund me",
            "email": "li@example.com",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.topic) == (Priority.URGENT, Topic.SECURITY)
    assert "okwallet-refund.cn" in ticket.subject
    assert "4111 1111 1111 1111" not in ticket.description
    page = client.get(response["Location"]).content.decode()
    assert ticket.reference in page  # "your report has reached our security team"


def test_a_report_needs_no_email_and_sends_none(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            en("protection:verify-report"),
            {"reported": "fake-okwallet", "what_happened": "A fake app"},
        )
    assert Ticket.objects.get().email == ""
    assert callbacks == []  # no confirmation to nobody


def test_reports_are_rate_limited_like_the_other_forms(client, settings):
    settings.TICKETS_RATE_PER_IP = "2/3600"
    data = {"reported": "evil.cn", "what_happened": "phishing"}
    for _ in range(2):
        assert client.post(en("protection:verify-report"), data).status_code == 302
    refused = client.post(en("protection:verify-report"), data)
    assert refused.status_code == 429 and "phishing</textarea>" in refused.content.decode()
    assert Ticket.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_emergency_form_files_an_urgent_ticket_and_alerts_security_at_once(
    client, settings, run_tasks
):
    settings.SECURITY_ALERT_EMAILS = ["security@okwallet.example"]
    response = client.post(
        en("protection:emergency"),
        {"what_happened": "Someone moved 3000 yuan out", "when": "today 14:00",
         "phone": "138 0013 8000", "email": ""},
    )  # fmt: skip
    assert response["Location"] == en("tickets:submitted")
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.topic, ticket.phone) == ("urgent", "security", "138 0013 8000")
    run_tasks()
    alert = next(m for m in mail.outbox if m.to == ["security@okwallet.example"])
    assert ticket.reference in alert.subject and "138 0013 8000" in alert.body
    assert "today 14:00" in alert.body


def test_the_emergency_form_needs_a_way_to_reach_the_customer(client):
    html = client.post(
        en("protection:emergency"), {"what_happened": "hacked", "phone": "", "email": ""}
    ).content.decode()
    assert "Give a phone number or an e-mail address, so that we can reach you." in html
    assert "hacked</textarea>" in html and not Ticket.objects.exists()


def test_the_emergency_page_says_whether_the_hotline_answers_now(client, settings):
    settings.SUPPORT_HOURS = "00:00–24:00"
    assert "The hotline is answering now" in client.get(en("protection:emergency")).content.decode()
    settings.SUPPORT_HOURS = "00:00–00:00"
    html = client.get(en("protection:emergency")).content.decode()
    assert "The hotline is closed now" in html and "It opens again at" in html
    assert 'href="tel:4000000000"' in html


@pytest.mark.parametrize(
    "query,link",
    [("账户被盗了怎么办", "emergency"), ("帳戶被盜", "emergency"), ("account hacked", "emergency"),
     ("接到假客服电话", "verify"), ("is this a scam", "verify")],
)  # fmt: skip
def test_searches_about_theft_or_impostors_offer_the_right_lane_first(client, query, link):
    html = client.get(zh("faq:search"), {"q": query}).content.decode()
    assert f'href="{zh(f"protection:{link}")}"' in html.split('id="search-results"', 1)[1]


def test_an_ordinary_search_offers_neither(client):
    html = client.get(zh("faq:search"), {"q": "提现多久到账"}).content.decode()
    assert "urgent-help" not in html


def test_the_home_page_and_the_security_page_lead_to_both_lanes(client):
    for page in ("faq:home", "faq:security"):
        html = client.get(zh(page)).content.decode()
        assert zh("protection:emergency") in html and zh("protection:verify") in html


# --- E-mails customers can verify --------------------------------------------------------------


def code_in(body: str) -> str:
    found = re.search(r"OKV-[2-9A-Z]{4}-[2-9A-Z]{4}", body)
    assert found, body
    return found.group()


@pytest.mark.django_db(transaction=True)
def test_an_emails_code_proves_who_it_was_sent_to_and_about_what(client, run_tasks):
    client.post(en("tickets:new"), {**VALID_TICKET, "email": "li.wei@example.com"})
    run_tasks()
    ticket = Ticket.objects.get()
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    code = code_in(str(message.body))
    assert code in str(message.alternatives[0][0])
    assert "We never ask for your password" in str(message.body)

    typed = code.lower().replace("-", " ")  # however the customer types it
    page = client.get(en("protection:verify"), {"q": typed}).content.decode()
    assert 'data-verdict="official"' in page
    assert "l*****@example.com" in page and ticket.reference in page
    assert "li.wei@example.com" not in page


def test_a_code_we_never_issued_is_called_a_copy(client):
    page = client.get(en("protection:verify"), {"q": "OKV-2345-6789"}).content.decode()
    assert 'data-verdict="not-official"' in page
    assert "We did not send an e-mail with this code" in page
    assert "Report it to us" not in page


def test_another_customers_code_shows_whose_it_is_masked(client):
    code = email_code_for(
        key="k1", reference="OK-AAAA-BBBB", address="wang@example.org", template="confirmation"
    )
    page = client.get(zh("protection:verify"), {"q": code}).content.decode()
    assert "w***@example.org" in page and "OK-AAAA-BBBB" in page
    assert "如果收件地址不是您的" in page


def test_a_retried_email_keeps_its_code():
    first = email_code_for(key="same", reference="OK-1", address="a@b.c", template="x")
    again = email_code_for(key="same", reference="OK-1", address="a@b.c", template="x")
    other = email_code_for(key="other", reference="OK-1", address="a@b.c", template="x")
    assert first == again != other
    assert classify("ｏｋｖ－" + first[4:].lower()) == ("code", first)


def test_an_emergency_ticket_without_email_is_not_confirmed_to_nobody(client):
    response = client.post(
        en("protection:emergency"), {"what_happened": "hacked", "phone": "138 0013 8000"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "We will call you at 138 0013 8000" in page
    assert "We have sent a confirmation to" not in page
