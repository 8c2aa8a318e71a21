"""Two-factor login: TOTP codes once each, recovery codes once each and stored hashed,
enforcement per organisation and platform-wide leads through setup, the operator's admin."""

from typing import Any

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from ablesung.accounts import twofactor
from ablesung.accounts.models import RecoveryCode, User
from ablesung.core.models import AuditEntry, Organisation, Role
from tests.accounts.helpers import give_two_factor, is_signed_in, login_post, totp_code
from tests.conftest import PASSWORD, OrgData, make_member

SECOND = "/konto/anmelden/zweiter-faktor/"
SETUP = "/konto/zwei-faktor/einrichten/"
T0 = "2026-12-07 10:00:00 +0000"


@pytest.mark.django_db
def test_password_alone_does_not_sign_in_a_user_with_two_factor(clerk_a: User) -> None:
    give_two_factor(clerk_a)
    client = Client()
    response = login_post(client, clerk_a.email, PASSWORD)
    assert response["Location"] == SECOND
    assert not is_signed_in(client)
    assert client.get("/o/stadt-a/").status_code == 302


@pytest.mark.django_db
def test_a_right_code_signs_in_with_new_session_ids_and_a_used_code_fails(
    clerk_a: User, org_a: OrgData
) -> None:
    device, _codes = give_two_factor(clerk_a)
    with time_machine.travel(T0, tick=False):
        client = Client()
        client.get("/konto/anmelden/")
        first_id = client.session.session_key
        login_post(client, clerk_a.email, PASSWORD)
        pending_id = client.session.session_key
        wrong = client.post(SECOND, {"code": totp_code(device, offset=5)})
        assert wrong.status_code == 200
        assert "Der Code ist falsch oder wurde schon verwendet." in wrong.text
        code = totp_code(device)
        ok = client.post(SECOND, {"code": code})
        assert ok.status_code == 302
        assert is_signed_in(client)
        signed_in_id = client.session.session_key
        assert len({first_id, pending_id, signed_in_id}) == 3
        assert client.get("/o/stadt-a/").status_code == 200
        # the same code again, in another browser: refused
        other = Client()
        login_post(other, clerk_a.email, PASSWORD)
        reused = other.post(SECOND, {"code": code})
        assert reused.status_code == 200
        assert not is_signed_in(other)
    failed = AuditEntry.objects.filter(action="auth.second_factor_failed")
    assert failed.count() == 2
    assert {entry.organisation_id for entry in failed} == {org_a.organisation.pk}


@pytest.mark.django_db
def test_a_recovery_code_works_once_and_is_stored_hashed(clerk_a: User) -> None:
    _device, codes = give_two_factor(clerk_a)
    stored = list(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not set(codes) & set(stored)
    assert all(code.replace("-", "") not in "".join(stored) for code in codes)
    client = Client()
    login_post(client, clerk_a.email, PASSWORD)
    assert client.post(SECOND, {"code": codes[3].upper()}).status_code == 302
    assert is_signed_in(client)
    again = Client()
    login_post(again, clerk_a.email, PASSWORD)
    assert again.post(SECOND, {"code": codes[3]}).status_code == 200
    assert not is_signed_in(again)
    assert twofactor.remaining_recovery_codes(clerk_a) == 9
    assert AuditEntry.objects.filter(action="auth.recovery_code_used").count() == 1


def _set_up(client: Client, user: User) -> list[str]:
    """Walks the setup page: reads the offered key from the session, types its code."""
    page = client.get(SETUP)
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text  # the QR code
    key = client.session[twofactor.SETUP_KEY]
    assert twofactor.key_base32(key) in page.text  # the key as text, for typing
    right = twofactor.totp_for_key(key).token()
    wrong = client.post(SETUP, {"code": f"{(right + 500_000) % 1_000_000:06d}"})
    assert "Der Code stimmt nicht" in wrong.text
    done = client.post(SETUP, {"code": f"{right:06d}"})
    assert done.status_code == 200
    codes: list[str] = done.context["codes"]
    assert len(codes) == 10
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    return codes


@pytest.mark.django_db
def test_an_organisation_that_requires_it_leads_members_through_setup(clerk_a: User) -> None:
    Organisation.objects.filter(slug="stadt-a").update(two_factor_required=True)
    client = Client()
    response = login_post(client, clerk_a.email, PASSWORD)
    assert response["Location"] == SETUP
    # nothing else opens before the setup is done
    blocked = client.get("/o/stadt-a/")
    assert blocked.status_code == 302
    assert blocked["Location"] == SETUP
    _set_up(client, clerk_a)
    assert client.get("/o/stadt-a/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.two_factor_enabled").exists()
    # the next login asks for the code
    nxt = Client()
    assert login_post(nxt, clerk_a.email, PASSWORD)["Location"] == SECOND


@pytest.mark.django_db
def test_the_operator_can_require_it_platform_wide(clerk_a: User, settings: Any) -> None:
    settings.TWO_FACTOR_REQUIRED = True
    client = Client()
    assert login_post(client, clerk_a.email, PASSWORD)["Location"] == SETUP
    assert client.get("/o/").status_code == 302


@pytest.mark.django_db
def test_without_a_requirement_setup_is_voluntary(clerk_a: User) -> None:
    client = Client()
    assert login_post(client, clerk_a.email, PASSWORD)["Location"] == "/"
    security = client.get("/konto/")
    assert "Nicht eingerichtet." in security.text
    codes = _set_up(client, clerk_a)
    assert codes
    renewed = client.post("/konto/zwei-faktor/wiederherstellungscodes/")
    assert renewed.status_code == 200
    assert set(renewed.context["codes"]).isdisjoint(codes)
    assert twofactor.remaining_recovery_codes(clerk_a) == 10


@pytest.mark.django_db
def test_the_operator_admin_asks_for_the_second_factor(org_a: OrgData) -> None:
    operator = User.objects.create_superuser("betrieb@example.org", PASSWORD)
    device, _codes = give_two_factor(operator)
    client = Client()
    login = client.get("/admin/login/?next=/admin/")
    assert login.status_code == 200
    assert "Anmeldung für den Betreiber" in login.text
    step = client.post(
        "/admin/login/?next=/admin/", {"username": operator.email, "password": PASSWORD}
    )
    assert step["Location"] == SECOND
    assert client.get("/admin/").status_code == 302  # not signed in yet
    done = client.post(SECOND, {"code": totp_code(device)})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_signed_in_member_who_is_no_operator_gets_403_at_the_admin(org_a: OrgData) -> None:
    user = make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/login/").status_code == 403
