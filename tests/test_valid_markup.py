"""Details the Nu Html Checker refuses (scripts/audit_customer.py runs it over every page):
one id per element, one autofocus per page."""

import re
from collections import Counter

import pytest

from tests.helpers import en, zh

pytestmark = pytest.mark.django_db


def duplicate_ids(html: str) -> list[str]:
    return [
        name for name, count in Counter(re.findall(r'\sid="([^"]+)"', html)).items() if count > 1
    ]


def test_two_forms_on_the_tracking_page_give_their_email_fields_two_ids(client):
    # The tracking form and "lost your reference?" both ask for an e-mail address.
    for html in (
        client.get(zh("tickets:track")).content.decode(),
        client.post(en("tickets:track"), {"reference": "", "email": ""}).content.decode(),
    ):
        assert html.count('type="email"') == 2
        assert duplicate_ids(html) == []


def test_a_report_with_errors_focuses_its_error_summary_alone(client):
    html = client.post(
        en("protection:verify-report"), {"reported": "okwa11et-help.example", "what_happened": ""}
    ).content.decode()
    assert 'id="error-summary"' in html
    assert len(re.findall(r"\sautofocus[\s>=]", html)) == 1
    assert re.search(r'id="error-summary"[^>]*autofocus', html)
    assert duplicate_ids(html) == []
