"""Staff login with e-mail + password, organisation chooser and switch, session limits."""

from typing import Any

import pytest
import time_machine
from django.test import Client

from ablesung.accounts.models import User
from ablesung.core.models import Role
from tests.conftest import PASSWORD, OrgData, make_member


@pytest.mark.django_db
def test_one_membership_goes_straight_to_the_organisation(clerk_a: User, org_a: OrgData) -> None:
    client = Client()
    response = client.post(
        "/konto/anmelden/", {"username": "clerk@stadt-a.example", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/o/stadt-a/"
    assert "Stadt A" in response.text
    assert "Jahresablesung 2026" in response.text


@pytest.mark.django_db
def test_wrong_password_and_unknown_account_get_the_same_message(clerk_a: User) -> None:
    client = Client()
    wrong = client.post("/konto/anmelden/", {"username": clerk_a.email, "password": "nein"})
    unknown = client.post("/konto/anmelden/", {"username": "x@y.example", "password": "nein"})
    assert wrong.status_code == unknown.status_code == 200
    message = "E-Mail-Adresse oder Passwort ist falsch."
    assert message in wrong.text
    assert message in unknown.text


@pytest.mark.django_db
def test_member_of_two_organisations_chooses_and_switches(org_a: OrgData, org_b: OrgData) -> None:
    user = make_member(org_a.organisation, "both@example.org", Role.ADMIN)
    make_member(org_b.organisation, "both@example.org", Role.VIEWER)
    client = Client()
    client.force_login(user)
    chooser = client.get("/o/")
    assert chooser.status_code == 200
    assert "Stadt A" in chooser.text
    assert "Stadt B" in chooser.text
    switched = client.get("/o/", {"org": "stadt-b"}, follow=True)
    assert switched.redirect_chain[-1][0] == "/o/stadt-b/"
    assert switched.context["organisation"] == org_b.organisation
    foreign = client.get("/o/", {"org": "unbekannt"})
    assert foreign.status_code == 200  # unknown slug: the chooser again, no redirect


@pytest.mark.django_db
def test_campaign_and_meter_lists_show_the_organisations_data(
    client_a: Client, org_a: OrgData
) -> None:
    campaign = client_a.get(f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/")
    assert campaign.status_code == 200
    assert "stadt-a-M1" in campaign.text
    assert "76414" in campaign.text
    meters = client_a.get("/o/stadt-a/zaehler/", {"q": "Garten"})
    assert "stadt-a-M1" in meters.text
    assert "Weiß, Monika" in meters.text
    none = client_a.get("/o/stadt-a/zaehler/", {"q": "gibtesnicht"})
    assert "Keine Zähler gefunden." in none.text


@pytest.mark.django_db
def test_idle_session_ends_after_30_minutes(client_a: Client, org_a: OrgData) -> None:
    with time_machine.travel("2026-11-23 10:00 +0000", tick=False) as traveller:
        assert client_a.get("/o/stadt-a/").status_code == 200
        traveller.shift(29 * 60)
        assert client_a.get("/o/stadt-a/").status_code == 200
        traveller.shift(31 * 60)
        response = client_a.get("/o/stadt-a/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/anmelden/")


@pytest.mark.django_db
def test_deactivated_user_is_logged_out(client_a: Client, clerk_a: User) -> None:
    clerk_a.is_active = False
    clerk_a.save()
    response = client_a.get("/o/stadt-a/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_login_renews_the_session_id(clerk_a: User) -> None:
    client = Client()
    client.get("/konto/anmelden/")
    client.session.save()
    before = client.cookies.get("sessionid")
    client.post("/konto/anmelden/", {"username": clerk_a.email, "password": PASSWORD})
    after = client.cookies["sessionid"].value
    assert before is None or before.value != after


@pytest.mark.django_db
def test_operator_manages_organisations_in_the_admin(org_a: OrgData, admin_client: Any) -> None:
    response = admin_client.get("/admin/core/organisation/")
    assert response.status_code == 200
    assert "Stadt A" in response.text
    detail = admin_client.get(f"/admin/core/organisation/{org_a.organisation.pk}/change/")
    assert detail.status_code == 200


@pytest.mark.django_db
def test_login_error_is_linked_to_the_field(clerk_a: User) -> None:
    response = Client().post("/konto/anmelden/", {"username": "kein-mail", "password": "x"})
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="id_username_error"' in response.text
    assert 'id="id_username_error"' in response.text
