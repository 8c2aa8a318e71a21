import pytest
from django.test import RequestFactory, override_settings

from ablesung.lib.net import client_ip, limit_subject

rf = RequestFactory()


def test_forwarded_header_is_ignored_without_a_trusted_proxy() -> None:
    request = rf.get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "198.51.100.1"


@override_settings(TRUSTED_PROXIES=["10.0.0.1"])
def test_trusted_proxy_passes_the_client_address() -> None:
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert (
        client_ip(request) == "203.0.113.9"
    )  # the rightmost untrusted hop, not the spoofable first


@override_settings(TRUSTED_PROXIES=["10.0.0.1"])
def test_garbage_in_the_forwarded_header_falls_back_to_the_proxy() -> None:
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(request) == "10.0.0.1"


@pytest.mark.parametrize(
    ("address", "subject"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped, as a dual-stack socket reports
        ("::FFFF:cb00:7109", "203.0.113.9"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:0DB8:0001:0002:0:0:0:7", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::1", "::/64"),
        (None, "unknown"),
        ("kein-ip", "unknown"),
    ],
)
def test_rate_limits_count_ipv6_per_64_and_mapped_ipv4_as_ipv4(
    address: str | None, subject: str
) -> None:
    assert limit_subject(address) == subject


def test_the_client_address_itself_stays_complete() -> None:
    """The audit log records the full address; only the rate limits group by network."""
    request = rf.get("/", REMOTE_ADDR="2001:db8:1:2::1")
    assert client_ip(request) == "2001:db8:1:2::1"
