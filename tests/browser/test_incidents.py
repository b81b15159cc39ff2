"""A customer about to complain about a delayed withdrawal sees the known incident as soon as
the topic is chosen, and leaves an e-mail instead of a ticket (htmx, in place)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.test_journey import accessibility_violations
from tickets.incident_models import Incident, IncidentSubscription
from tickets.incident_services import incident_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_choosing_the_topic_shows_the_incident_and_the_customer_asks_to_be_told(
    page: Page, live_server
):
    incident_save(
        incident=Incident(
            title_zh_hans="Withdrawals to some banks are delayed",
            title_en="Withdrawals to some banks are delayed",
            message_zh_hans="Your money is safe.",
            message_en="Your money is safe.",
            topics=["withdrawal"],
            starts_at=timezone.now() - timedelta(minutes=10),
        )
    )
    page.goto(f"{live_server.url}/en/tickets/new/")
    banners = page.locator("#incident-banners")
    expect(banners).not_to_contain_text("Withdrawals to some banks are delayed")

    page.locator("#id_topic").select_option("withdrawal")
    expect(banners).to_contain_text("Withdrawals to some banks are delayed")
    page.locator("#id_topic").select_option("top-up")
    expect(banners).not_to_contain_text("Withdrawals to some banks are delayed")
    page.locator("#id_topic").select_option("withdrawal")

    field = banners.get_by_label("Tell me when it's fixed")
    field.fill("li.wei@")
    banners.get_by_role("button", name="E-mail me when it's fixed").click()
    expect(banners.locator(".field-error")).to_contain_text("valid email address")
    expect(banners.get_by_label("Tell me when it's fixed")).to_have_value("li.wei@")
    assert accessibility_violations(page) == []

    banners.get_by_label("Tell me when it's fixed").fill("li.wei@example.com")
    banners.get_by_role("button", name="E-mail me when it's fixed").click()
    expect(banners.get_by_role("status")).to_contain_text("we will e-mail you once")
    assert IncidentSubscription.objects.get().email == "li.wei@example.com"
    # What the customer typed in the ticket form is still there.
    expect(page.locator("#id_topic")).to_have_value("withdrawal")
