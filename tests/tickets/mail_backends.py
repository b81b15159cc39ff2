"""An SMTP server that is down for the first N sends, then works (into django.core.mail.outbox).

The outage belongs to one test: the `mail_server_down` fixture (tests/tickets/conftest.py) puts
it in settings.TEST_MAIL_OUTAGE, and the settings fixture takes it away again after the test.
"""

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend


@dataclass
class MailOutage:
    failures_left: int = 0


class FlakyEmailBackend(EmailBackend):
    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        outage: MailOutage | None = getattr(settings, "TEST_MAIL_OUTAGE", None)
        if outage is not None and outage.failures_left > 0:
            outage.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
