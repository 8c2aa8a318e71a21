"""Failed logins are limited: 10 per client address (IPv6 per /64) and 5 per account in
5 minutes block further tries for 5 minutes, on the staff login, the second-factor step and
the operator's admin login. The blocked answer is the same for unknown accounts."""

import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from ablesung.accounts.models import User
from ablesung.core.models import AuditEntry, Role
from tests.accounts.helpers import give_two_factor, is_signed_in, login_post, totp_code
from tests.conftest import PASSWORD, OrgData, make_member

BLOCKED = "Zu viele fehlgeschlagene Anmeldeversuche"
T0 = "2026-12-07 10:00:00 +0000"


def _fail_from_one_address(ip: str, times: int, path: str = "/konto/anmelden/") -> None:
    client = Client(REMOTE_ADDR=ip)
    for number in range(times):
        # a different (unknown) account each time: only the address's budget is spent
        response = client.post(path, {"username": f"x{number}@y.example", "password": "falsch"})
        assert response.status_code == 200
        assert BLOCKED not in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/konto/anmelden/", "/admin/login/"])
def test_the_11th_try_from_one_address_is_blocked_even_with_the_right_password(
    org_a: OrgData, path: str
) -> None:
    user = make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN)
    if path.startswith("/admin/"):
        User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    with time_machine.travel(T0, tick=False) as traveller:
        _fail_from_one_address("198.51.100.7", 10, path)
        client = Client(REMOTE_ADDR="198.51.100.7")
        blocked = client.post(path, {"username": user.email, "password": PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked["Retry-After"]) <= 300
        assert BLOCKED in blocked.text
        assert not is_signed_in(client)
        # another address is not affected
        other = Client(REMOTE_ADDR="198.51.100.8")
        assert other.post(path, {"username": user.email, "password": PASSWORD}).status_code == 302
        # five minutes later the address may try again
        traveller.shift(301)
        again = client.post(path, {"username": user.email, "password": PASSWORD})
        assert again.status_code == 302
        assert is_signed_in(client)
    assert AuditEntry.objects.filter(action="auth.login_blocked").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/konto/anmelden/", "/admin/login/"])
def test_the_6th_try_on_one_account_is_blocked_from_any_address(org_a: OrgData, path: str) -> None:
    user = make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN)
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    with time_machine.travel(T0, tick=False):
        for number in range(5):
            client = Client(REMOTE_ADDR=f"203.0.113.{number + 1}")
            assert (
                client.post(path, {"username": user.email, "password": "nein"}).status_code == 200
            )
        client = Client(REMOTE_ADDR="203.0.113.99")
        blocked = client.post(path, {"username": user.email, "password": PASSWORD})
        assert blocked.status_code == 429
        assert not is_signed_in(client)


@pytest.mark.django_db
def test_the_blocked_answer_does_not_tell_whether_the_account_exists(clerk_a: User) -> None:
    with time_machine.travel(T0, tick=False):
        answers = []
        for email in (clerk_a.email, "niemand@stadt-a.example"):
            for number in range(5):
                login_post(Client(REMOTE_ADDR=f"192.0.2.{number + 1}"), email, "falsch")
            answers.append(login_post(Client(REMOTE_ADDR="192.0.2.50"), email, "falsch"))
    known, unknown = answers
    assert known.status_code == unknown.status_code == 429
    assert known["Retry-After"] == unknown["Retry-After"]

    def normalised(response: Any, email: str) -> str:
        text = re.sub(r'nonce="[^"]+"', "", response.text)
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
        return text.replace(email, "X")

    assert normalised(known, clerk_a.email) == normalised(unknown, "niemand@stadt-a.example")


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_changes_nothing(clerk_a: User, settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    with time_machine.travel(T0, tick=False):
        for number in range(10):
            client = Client(REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
            login_post(client, f"x{number}@y.example", "falsch")
        client = Client(REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR="10.9.9.9")
        assert login_post(client, clerk_a.email, PASSWORD).status_code == 429
    entry = AuditEntry.objects.filter(action="auth.login_failed").first()
    assert entry is not None
    assert entry.client_ip == "198.51.100.20"


@pytest.mark.django_db
def test_ipv6_addresses_of_one_64_share_the_budget(clerk_a: User) -> None:
    with time_machine.travel(T0, tick=False):
        for number in range(10):
            client = Client(REMOTE_ADDR=f"2001:db8:1:2::{number + 1:x}")
            login_post(client, f"x{number}@y.example", "falsch")
        same_64 = Client(REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:ffff")
        assert login_post(same_64, clerk_a.email, PASSWORD).status_code == 429
        next_64 = Client(REMOTE_ADDR="2001:db8:1:3::1")
        assert login_post(next_64, clerk_a.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_failures_across_a_window_end_still_block(clerk_a: User) -> None:
    """Any 10 failures within 5 minutes block, even when a fixed window ends among them."""
    with time_machine.travel("2026-12-07 10:04:00 +0000", tick=False) as traveller:
        _fail_from_one_address("198.51.100.30", 5)
        traveller.shift(90)  # 10:05:30, a new 5-minute window
        client = Client(REMOTE_ADDR="198.51.100.30")
        for number in range(5):
            login_post(client, f"z{number}@y.example", "falsch")
        assert login_post(client, clerk_a.email, PASSWORD).status_code == 429


def _pending(user: User, ip: str) -> Client:
    client = Client(REMOTE_ADDR=ip)
    response = login_post(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/konto/anmelden/zweiter-faktor/"
    return client


@pytest.mark.django_db
def test_the_6th_second_factor_try_on_one_account_is_blocked_even_with_the_right_code(
    clerk_a: User,
) -> None:
    device, _codes = give_two_factor(clerk_a)
    with time_machine.travel(T0, tick=False):
        # six half-signed-in sessions from six addresses (a right password is no failure)
        clients = [_pending(clerk_a, f"203.0.113.{number + 1}") for number in range(6)]
        for client in clients[:5]:
            wrong = client.post("/konto/anmelden/zweiter-faktor/", {"code": "000000"})
            assert wrong.status_code == 200
            assert "Der Code ist falsch" in wrong.text
        blocked = clients[5].post("/konto/anmelden/zweiter-faktor/", {"code": totp_code(device)})
        assert blocked.status_code == 429
        assert BLOCKED in blocked.text
        assert not is_signed_in(clients[5])
        # the password step is locked for the account as well
        assert (
            login_post(Client(REMOTE_ADDR="203.0.113.88"), clerk_a.email, PASSWORD).status_code
            == 429
        )
    assert AuditEntry.objects.filter(action="auth.second_factor_failed").count() == 5


@pytest.mark.django_db
def test_the_11th_second_factor_try_from_one_address_is_blocked(org_a: OrgData) -> None:
    users = [make_member(org_a.organisation, f"p{n}@stadt-a.example") for n in range(3)]
    devices = [give_two_factor(user)[0] for user in users]
    ip = "198.51.100.40"
    with time_machine.travel(T0, tick=False):
        clients = [_pending(user, ip) for user in users]
        for client, tries in zip(clients, (4, 4, 2), strict=True):
            for _ in range(tries):
                response = client.post("/konto/anmelden/zweiter-faktor/", {"code": "000000"})
                assert response.status_code == 200
        blocked = clients[2].post(
            "/konto/anmelden/zweiter-faktor/", {"code": totp_code(devices[2])}
        )
        assert blocked.status_code == 429
        assert not is_signed_in(clients[2])
