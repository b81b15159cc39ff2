"""Who is asking: the client's address as far as the proxies we trust can tell. One rule for
the rate limits, the access log, the anonymous votes and the login throttling."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(request: HttpRequest) -> str:
    """The address of the customer's device, as far as the proxies we trust can tell.

    X-Forwarded-For is whatever the client wants it to be, except for the entries our own
    proxies add: each appends the address it was connected from. So the header is read only on
    a request from a trusted proxy (settings.TRUSTED_PROXIES), from the right, and the first
    address that is not a trusted proxy is the client. An entry that is not an address ends the
    walk: nothing left of it can be vouched for, so the last address that can (a proxy of ours)
    is used; that groups such clients under one limit, which is safe, unlike believing it.
    """
    remote_text = str(request.META.get("REMOTE_ADDR") or "")
    remote = _address(remote_text)
    if remote is None:
        return remote_text or "unknown"
    proxies = getattr(settings, "TRUSTED_PROXIES", [])
    client = remote
    if _is_trusted(remote, proxies):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        for entry in reversed(forwarded.split(",")):
            address = _address(entry)
            if address is None:
                break
            client = address
            if not _is_trusted(address, proxies):
                break
    return str(client)


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; they are the IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(
    address: IPAddress, proxies: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    # `in` is False, not an error, across IPv4 and IPv6.
    return any(address in network for network in proxies)


def login_client_ip(request: HttpRequest) -> str | None:
    """client_ip for django-axes, whose logs keep the address in an IP field: None when
    there is no address (a test client, a unix socket) rather than "unknown", which
    PostgreSQL's inet type refuses."""
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address
