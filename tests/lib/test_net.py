from django.test import RequestFactory, override_settings

from ablesung.lib.net import client_ip

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
