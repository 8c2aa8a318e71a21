"""Client IP address: from the trusted proxy's header only, never a raw X-Forwarded-For."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

#: an IPv6 client is counted by its network: one subscriber usually holds a whole /64
IPV6_LIMIT_PREFIX = 64


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    trusted = set(getattr(settings, "TRUSTED_PROXIES", []))
    if remote is None or remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    # Walk from the right: the last address not belonging to a trusted proxy is the client.
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _valid_ip(hop)
        if address is None:
            return remote
        if address not in trusted:
            return address
    return remote


def limit_subject(ip: str | None) -> str:
    """What the per-IP rate limits count: an IPv4 address, or an IPv6 client's /64.

    ``::ffff:1.2.3.4`` (IPv4-mapped, as dual-stack sockets report IPv4 clients) counts as
    ``1.2.3.4``; every host of ``2001:db8:1:2::/64`` counts as that network. The audit log
    keeps the full address (:func:`client_ip`); this is only the counter's subject.
    """
    if ip is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False))
    return str(address)
