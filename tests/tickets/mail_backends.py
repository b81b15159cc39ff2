"""An SMTP server that is down for the first N sends, then works (into django.core.mail.outbox)."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend

failures_left = {"count": 0}


class FlakyEmailBackend(EmailBackend):
    def send_messages(self, messages):
        if failures_left["count"] > 0:
            failures_left["count"] -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
