"""Macros as the agent and the customer read them: the greeting, the placeholders filled in
for one ticket, in the customer's language. Applying a macro's actions is a service
(services.ticket_apply_macro); this module only writes text."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import gettext as _

from tickets.models import Macro, Ticket

PLACEHOLDERS = ("name", "reference", "agent")

# How replies commonly open, in both languages: "Hello Li,", "Hi", "Dear", "您好", "王女士，您好".
_GREETING = re.compile(
    r"^\s*(?:(?:hello|hi|dear|good (?:morning|afternoon|evening))\b"
    r"|您好|你好|尊敬的|亲爱的|[^\s，,：:。]{1,20}[，,]?\s*(?:您好|你好))",
    re.IGNORECASE,
)


def greeting(ticket: Ticket) -> str:
    """ "Hello Li Wei," / "Li Wei，您好：", or "Hello," / "您好：" without a name; never the
    e-mail address, which reads like a machine wrote it."""
    with translation.override(ticket.language):
        if ticket.name:
            return _("Hello %(name)s,") % {"name": ticket.name}
        return _("Hello,")


def starts_with_greeting(text: str) -> bool:
    """The reply greets the customer itself: the e-mail then adds no greeting of its own."""
    return bool(_GREETING.match(text))


def agent_display_name(agent: User | None) -> str:
    if agent is None:
        return ""
    return agent.first_name or agent.get_username()


def fill(text: str, ticket: Ticket, agent: User | None) -> str:
    """Replace only the placeholders we know: a stray "{" in a text is left alone (format_map
    would fail on it)."""
    with translation.override(ticket.language):
        name = ticket.name or _("customer")
    values = {"name": name, "reference": ticket.reference, "agent": agent_display_name(agent)}
    for key in PLACEHOLDERS:
        text = text.replace("{" + key + "}", values[key])
    return text


def render(macro: Macro, ticket: Ticket, agent: User | None) -> str:
    """The reply the macro writes for this ticket: a greeting unless the text has its own,
    then the text in the customer's language."""
    body = fill(macro.body_for(ticket.language), ticket, agent).strip()
    if starts_with_greeting(body):
        return body
    return f"{greeting(ticket)}\n\n{body}"


def actions_summary(macro: Macro) -> str:
    """What the macro does besides writing, shown to the agent choosing it."""
    parts = []
    if macro.set_status:
        parts.append(_("status → %(value)s") % {"value": macro.get_set_status_display()})
    if macro.set_priority:
        parts.append(_("priority → %(value)s") % {"value": macro.get_set_priority_display()})
    if macro.set_topic:
        parts.append(_("topic → %(value)s") % {"value": macro.get_set_topic_display()})
    tags = [tag.name for tag in macro.add_tags.all()]
    if tags:
        parts.append(_("tags: %(tags)s") % {"tags": ", ".join(tags)})
    return " · ".join(parts)
