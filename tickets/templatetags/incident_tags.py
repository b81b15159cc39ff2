"""`{% open_incidents as incidents %}`: the known incidents open now, from the worker's copy
(tickets/incidents.py, no query), for templates/includes/incident_banner.html."""

from __future__ import annotations

from django import template

from tickets.incidents import IncidentView, open_incidents, open_incidents_of_category

register = template.Library()


@register.simple_tag
def open_incidents_on(topic: str | None = None, category: str | None = None) -> list[IncidentView]:
    """Every open incident; or those on one ticket topic; or on one help category's topic."""
    if category:
        return open_incidents_of_category(category)
    if topic is not None:
        return open_incidents([topic]) if topic else []
    return open_incidents()
