"""Citizen access through the personal link and the typed access form (SECURITY.md probes)."""

import datetime
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import Campaign, CampaignStatus, Property
from ablesung.core.services.access import IssuedAccess, do_issue_access
from ablesung.core.services.actor import Actor
from ablesung.portal import access_views
from tests.conftest import OrgData

FAILURE = "Zugangscode oder Zählernummer stimmen nicht. Bitte prüfen Sie Ihre Angaben."
VOLATILE = re.compile(r'(name="csrfmiddlewaretoken" value=|nonce=)"[^"]*"')


def open_campaign(data: OrgData, **fields: Any) -> None:
    fields.setdefault("status", CampaignStatus.OPEN)
    with scopes_disabled():
        Campaign.objects.filter(pk=data.campaign.pk).update(**fields)


def issue(data: OrgData) -> IssuedAccess:
    [access] = do_issue_access(
        data.campaign, organisation=data.organisation, actor=Actor.system("test")
    )
    return access


@pytest.fixture
def access_a(org_a: OrgData) -> IssuedAccess:
    open_campaign(org_a)
    return issue(org_a)


def typed(client: Client, code: str, meter: str, **extra: Any) -> Any:
    return client.post("/zugang/", {"code": code, "meter_number": meter}, **extra)


def stable(body: bytes) -> str:
    return VOLATILE.sub(r"\1", body.decode())


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """Rate-limit windows are fixed minutes: a test must not straddle a boundary."""
    with time_machine.travel(time.time(), tick=False):
        yield


def test_link_opens_a_fresh_session_and_drops_the_token(access_a: IssuedAccess) -> None:
    client = Client()
    session = client.session
    session["earlier"] = "visit"
    session.save()
    before = str(session.session_key)
    client.cookies["sessionid"] = before
    response = client.get(f"/r/{access_a.token}")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert access_a.token not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert not SessionStore().exists(before)  # what the browser's session held is gone
    assert client.cookies["sessionid"].value == ""
    portal = response.cookies[settings.PORTAL_COOKIE_NAME]
    assert portal["httponly"] is True
    assert portal["samesite"] == "Lax"
    assert portal["max-age"] == settings.SESSION_COOKIE_AGE
    assert access_a.token not in portal.value
    page = client.get("/portal/")
    assert page.status_code == 200
    assert "stadt-a-M1" in page.text
    assert "Hauptwasserzähler" in page.text
    assert "76414" in page.text
    assert "16.01.2026" in page.text
    assert "no-cache" in page["Cache-Control"]
    assert not Session.objects.exists()  # a citizen's visit writes no session row


def test_link_with_trailing_slash_works_too(access_a: IssuedAccess) -> None:
    assert Client().get(f"/r/{access_a.token}/")["Location"] == "/portal/"


def test_each_link_visit_gets_a_new_session_cookie(access_a: IssuedAccess) -> None:
    client = Client()
    client.get(f"/r/{access_a.token}")
    first = client.cookies[settings.PORTAL_COOKIE_NAME].value
    client.get(f"/r/{access_a.token}")
    assert client.cookies[settings.PORTAL_COOKIE_NAME].value != first


def test_a_changed_or_expired_session_cookie_opens_nothing(access_a: IssuedAccess) -> None:
    client = Client()
    client.get(f"/r/{access_a.token}")
    genuine = client.cookies[settings.PORTAL_COOKIE_NAME].value
    payload, _, signature = genuine.partition(":")
    for changed in (f"{payload}x:{signature}", genuine[:-2], "", "kein-cookie"):
        client.cookies[settings.PORTAL_COOKIE_NAME] = changed
        response = client.get("/portal/")
        assert response.status_code == 302
        assert response["Location"] == "/zugang/"
        if changed:  # a cookie that opens nothing is removed
            assert response.cookies[settings.PORTAL_COOKIE_NAME].value == ""
    client.cookies[settings.PORTAL_COOKIE_NAME] = genuine
    assert client.get("/portal/").status_code == 200
    later = time.time() + settings.SESSION_COOKIE_AGE + 5
    with time_machine.travel(later, tick=False):
        assert client.get("/portal/")["Location"] == "/zugang/"


def test_portal_without_session_goes_to_the_access_form(db: Any) -> None:
    response = Client().get("/portal/")
    assert response.status_code == 302
    assert response["Location"] == "/zugang/"


def test_invalid_link_is_a_404_page(access_a: IssuedAccess) -> None:
    response = Client().get("/r/" + "A" * 22)
    assert response.status_code == 404
    # the origin only, never the path with the token; posts keep a real Origin header
    assert response["Referrer-Policy"] == "strict-origin"
    assert "Link nicht gültig" in response.text


def test_typed_access_opens_the_portal(org_a: OrgData, access_a: IssuedAccess) -> None:
    client = Client(enforce_csrf_checks=True)
    form = client.get("/zugang/")
    assert form.status_code == 200
    token = form.context["csrf_token"]
    response = client.post(
        "/zugang/",
        {
            "code": access_a.code.lower().replace("-", " "),
            "meter_number": f" {org_a.meter.number} ",
            "csrfmiddlewaretoken": str(token),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_access_form_needs_csrf(org_a: OrgData, access_a: IssuedAccess) -> None:
    client = Client(enforce_csrf_checks=True)
    assert typed(client, access_a.code, org_a.meter.number).status_code == 403


def test_every_failure_looks_the_same(
    org_a: OrgData, org_b: OrgData, access_a: IssuedAccess
) -> None:
    open_campaign(org_b)
    access_b = issue(org_b)
    with scopes_disabled():
        stale = issue(org_a)  # revokes access_a
    attempts = {
        "unknown meter": (stale.code, "gibt-es-nicht"),
        "wrong code": ("ABCD-EFGH-JKM", org_a.meter.number),
        "foreign organisation": (access_b.code, org_a.meter.number),
        "revoked": (access_a.code, org_a.meter.number),
        "malformed": ("UUUU", org_a.meter.number),
        "empty": ("", ""),
    }
    bodies: dict[str, str] = {}
    for name, (code, meter) in attempts.items():
        response = typed(Client(REMOTE_ADDR=f"198.51.100.{len(bodies) + 1}"), code, meter)
        assert response.status_code == 200, name
        assert FAILURE in response.text, name
        assert code not in response.text or not code, name
        bodies[name] = stable(response.content)
    assert len(set(bodies.values())) == 1, bodies.keys()


def test_eleventh_failure_from_one_ip_is_429(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess
) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    for attempt in range(10):
        response = typed(client, "ABCD-EFGH-JKM", f"unbekannt-{attempt}")
        assert response.status_code == 200
    response = typed(client, access_a.code, org_a.meter.number)  # even the right code
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Zu viele Versuche" in response.text
    # links from that address are blocked as well, other addresses are not
    assert client.get(f"/r/{access_a.token}").status_code == 429
    assert (
        typed(Client(REMOTE_ADDR="203.0.113.8"), access_a.code, org_a.meter.number).status_code
        == 302
    )


def test_invalid_links_count_as_failures(frozen_clock: None, access_a: IssuedAccess) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(10):
        assert client.get("/r/" + "B" * 22).status_code == 404
    response = client.get(f"/r/{access_a.token}")
    assert response.status_code == 429
    assert response.has_header("Retry-After")


def test_successes_do_not_count(frozen_clock: None, org_a: OrgData, access_a: IssuedAccess) -> None:
    client = Client(REMOTE_ADDR="203.0.113.10")
    for _ in range(12):
        assert typed(client, access_a.code, org_a.meter.number).status_code == 302


def test_sixth_failure_on_one_meter_from_different_ips_is_429(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess
) -> None:
    for attempt in range(5):
        client = Client(REMOTE_ADDR=f"192.0.2.{attempt + 1}")
        assert typed(client, "ABCD-EFGH-JKM", org_a.meter.number).status_code == 200
    response = typed(Client(REMOTE_ADDR="192.0.2.99"), access_a.code, org_a.meter.number)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 900
    # another meter number is not locked
    other = typed(Client(REMOTE_ADDR="192.0.2.100"), "ABCD-EFGH-JKM", "anderer-zaehler")
    assert other.status_code == 200


def test_forwarded_for_is_ignored_without_a_trusted_proxy(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = []
    for attempt in range(10):
        client = Client(REMOTE_ADDR="198.51.100.50", HTTP_X_FORWARDED_FOR=f"10.9.9.{attempt}")
        assert typed(client, "ABCD-EFGH-JKM", f"x-{attempt}").status_code == 200
    spoofed = Client(REMOTE_ADDR="198.51.100.50", HTTP_X_FORWARDED_FOR="10.9.9.200")
    assert typed(spoofed, "ABCD-EFGH-JKM", "x-last").status_code == 429


def test_forwarded_for_counts_behind_a_trusted_proxy(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    for attempt in range(10):
        client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.77")
        assert typed(client, "ABCD-EFGH-JKM", f"y-{attempt}").status_code == 200
    blocked = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert typed(blocked, "ABCD-EFGH-JKM", "y-last").status_code == 429
    other_client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.78")
    assert typed(other_client, "ABCD-EFGH-JKM", "y-other").status_code == 200


def test_an_ipv6_network_shares_one_budget(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess
) -> None:
    """Every host of a /64 counts as one client: one subscriber usually holds the whole /64."""
    for host in range(10):
        client = Client(REMOTE_ADDR=f"2001:db8:aa:bb:{host:x}::1")
        assert typed(client, "ABCD-EFGH-JKM", f"v6-{host}").status_code == 200
    same_network = Client(REMOTE_ADDR="2001:db8:aa:bb:ffff:ffff:ffff:fffe")
    assert typed(same_network, access_a.code, org_a.meter.number).status_code == 429
    next_network = Client(REMOTE_ADDR="2001:db8:aa:bc::1")
    assert typed(next_network, access_a.code, org_a.meter.number).status_code == 302


@pytest.mark.parametrize(
    ("failing", "then"),
    [("::ffff:203.0.113.60", "203.0.113.60"), ("203.0.113.61", "::ffff:203.0.113.61")],
)
def test_an_ipv4_mapped_address_counts_as_ipv4(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess, failing: str, then: str
) -> None:
    for attempt in range(10):
        assert (
            typed(Client(REMOTE_ADDR=failing), "ABCD-EFGH-JKM", f"m-{attempt}").status_code == 200
        )
    assert typed(Client(REMOTE_ADDR=then), access_a.code, org_a.meter.number).status_code == 429


def test_printed_codes_survive_a_new_secret_key(
    org_a: OrgData, access_a: IssuedAccess, settings: Any
) -> None:
    """Codes are hashed with a pepper of their own: rotating SECRET_KEY keeps letters working."""
    settings.SECRET_KEY = "ein-ganz-anderer-geheimer-schluessel-" + "x" * 40
    response = typed(Client(), access_a.code, org_a.meter.number)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_a_new_pepper_invalidates_printed_codes(
    org_a: OrgData, access_a: IssuedAccess, settings: Any
) -> None:
    settings.ACCESS_CODE_PEPPER = "ein-anderer-pfeffer-" + "y" * 40
    response = typed(Client(), access_a.code, org_a.meter.number)
    assert response.status_code == 200
    assert FAILURE in response.text


def test_reissued_link_no_longer_opens_and_ends_the_old_session(
    org_a: OrgData, access_a: IssuedAccess
) -> None:
    client = Client()
    client.get(f"/r/{access_a.token}")
    assert client.get("/portal/").status_code == 200
    new = issue(org_a)
    assert Client().get(f"/r/{access_a.token}").status_code == 404
    assert client.get("/portal/")["Location"] == "/zugang/"
    assert Client().get(f"/r/{new.token}").status_code == 302


def dates(days_from: int, days_until: int) -> dict[str, datetime.date]:
    today = timezone.localdate()
    return {
        "online_from": today + datetime.timedelta(days=days_from),
        "online_until": today + datetime.timedelta(days=days_until),
    }


def test_after_the_window_the_link_answers_410(org_a: OrgData, access_a: IssuedAccess) -> None:
    with scopes_disabled():
        org_a.organisation.contact_email = "wasser@stadt-a.example"
        org_a.organisation.save()
    window = dates(-30, -1)
    open_campaign(org_a, **window)
    response = Client().get(f"/r/{access_a.token}")
    assert response.status_code == 410
    expected = (
        f"Die Online-Erfassung war vom {window['online_from']:%d.%m.%Y} "
        f"bis {window['online_until']:%d.%m.%Y} möglich."
    )
    assert expected in response.text
    assert "wasser@stadt-a.example" in response.text
    assert typed(Client(), access_a.code, org_a.meter.number).status_code == 410


def test_an_open_session_sees_the_window_page_once_it_is_over(
    org_a: OrgData, access_a: IssuedAccess
) -> None:
    client = Client()
    client.get(f"/r/{access_a.token}")
    open_campaign(org_a, **dates(-30, -1))
    assert client.get("/portal/").status_code == 410


def test_before_the_window_the_page_says_from_when(org_a: OrgData, access_a: IssuedAccess) -> None:
    window = dates(3, 40)
    open_campaign(org_a, **window)
    response = Client().get(f"/r/{access_a.token}")
    assert response.status_code == 200
    assert (
        f"Die Online-Erfassung ist vom {window['online_from']:%d.%m.%Y} "
        f"bis {window['online_until']:%d.%m.%Y} möglich."
    ) in response.text
    assert "sessionid" not in response.cookies or not response.cookies["sessionid"].value
    assert settings.PORTAL_COOKIE_NAME not in response.cookies


def test_a_campaign_that_is_not_open_shows_the_not_possible_page(
    org_a: OrgData, access_a: IssuedAccess
) -> None:
    open_campaign(org_a, status=CampaignStatus.DRAFT)
    response = Client().get(f"/r/{access_a.token}")
    assert response.status_code == 200
    assert "Die Online-Erfassung ist derzeit nicht möglich." in response.text


def test_imported_names_are_escaped(org_a: OrgData, access_a: IssuedAccess) -> None:
    with scopes_disabled():
        Property.objects.filter(pk=org_a.property.pk).update(
            owner_last_name="<script>alert(1)</script>", street='"><img src=x onerror=alert(2)>'
        )
    client = Client()
    client.get(f"/r/{access_a.token}")
    page = client.get("/portal/")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text


def test_no_token_or_code_in_the_logs(org_a: OrgData, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    open_campaign(org_a)
    access = issue(org_a)
    client = Client(REMOTE_ADDR="198.51.100.200")
    client.get(f"/r/{access.token}")
    client.get("/portal/")
    typed(client, access.code, org_a.meter.number)
    typed(client, access.code, "falsch")
    client.get("/r/" + access.token[:-1] + "x")
    for _ in range(11):
        typed(client, access.code, "falsch")
    client.get(f"/r/{access.token}")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    logged += caplog.text
    for secret in (access.token, access.code, access.code.replace("-", ""), access.token[:-1]):
        assert secret not in logged


def test_no_token_code_or_meter_number_in_the_logs_of_a_crash(
    org_a: OrgData, access_a: IssuedAccess, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    """A journey, then an unhandled error at the link: the lines name ``/r/…`` only."""
    caplog.set_level(logging.DEBUG)
    citizen = Client(REMOTE_ADDR="198.51.100.201")
    assert citizen.get(f"/r/{access_a.token}").status_code == 302
    stranger = Client(REMOTE_ADDR="198.51.100.202")
    assert typed(stranger, "ABCD-EFGH-JKM", org_a.meter.number).status_code == 200
    assert typed(stranger, access_a.code, "falsch-4711").status_code == 200
    submitted = citizen.post(
        f"/portal/zaehler/{org_a.meter.pk}/",
        {f"value_{org_a.register.pk}": "76450", "reading_date": timezone.localdate().isoformat()},
    )
    assert submitted.status_code == 302

    def crash(token: str) -> None:
        raise RuntimeError("Datenbank weg")

    monkeypatch.setattr(access_views, "resolve_token", crash)
    response = Client(raise_request_exception=False).get(f"/r/{access_a.token}")
    assert response.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records) + "\n" + caplog.text
    # the crash is logged twice (with its error id, and by Django), the path redacted
    assert re.search(r"unhandled error \w+ on /r/…", logged), logged
    assert "Internal Server Error: /r/…" in logged, logged
    assert "Datenbank weg" in logged  # with its trace
    for secret in (
        access_a.token,
        access_a.code,
        access_a.code.replace("-", ""),
        org_a.meter.number,
        "falsch-4711",
    ):
        assert secret not in logged, secret
