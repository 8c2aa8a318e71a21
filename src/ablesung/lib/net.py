"""Client IP address: from the trusted proxy's header only, never a raw X-Forwarded-For."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


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
