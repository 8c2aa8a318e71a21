"""Typed access by customer number, the organisation's choice of methods, property switching."""

import datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessMethod,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    Organisation,
    Property,
    Register,
)
from ablesung.core.services.access import do_issue_access
from ablesung.core.services.actor import Actor
from tests.conftest import OrgData

GENERIC_FAILURE = "Die Angaben stimmen nicht mit unseren Unterlagen überein."


@pytest.fixture(autouse=True)
def _clock() -> Any:
    with time_machine.travel(datetime.datetime(2026, 12, 30, 10, tzinfo=datetime.UTC), tick=False):
        yield


def configure(data: OrgData, *methods: str) -> None:
    with scopes_disabled():
        Organisation.objects.filter(pk=data.organisation.pk).update(access_methods=list(methods))
        Campaign.objects.filter(pk=data.campaign.pk).update(status=CampaignStatus.OPEN)


def post(client: Client, slug: str, method: str, **fields: str) -> Any:
    data = {"method": method, **{f"{method}-{key}": value for key, value in fields.items()}}
    return client.post(f"/zugang/{slug}/", data)


def test_page_offers_only_the_organisations_methods(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CUSTOMER_NAME)
    page = Client().get("/zugang/stadt-a/")
    assert page.status_code == 200
    assert "Mit Kassenzeichen und Nachname" in page.text
    assert "Mit Zugangscode" not in page.text
    assert "Mit Kassenzeichen und Zählernummer" not in page.text


def test_customer_number_and_meter_number_open_the_portal(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CUSTOMER_METER)
    client = Client()
    response = post(
        client, "stadt-a", "customer_meter", customer_number="stadt-a-K1", meter_number="stadt-a-M1"
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert "stadt-a-M1" in client.get("/portal/").text


@pytest.mark.parametrize("typed", ["Weiß", "weiss", "  WEISS ", "Weiss"])
def test_customer_number_and_last_name_compare_kindly(org_a: OrgData, typed: str) -> None:
    configure(org_a, AccessMethod.CUSTOMER_NAME)
    response = post(
        Client(), "stadt-a", "customer_name", customer_number="stadt-a-K1", last_name=typed
    )
    assert response.status_code == 302


def test_every_customer_failure_looks_the_same(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CUSTOMER_METER, AccessMethod.CUSTOMER_NAME)
    attempts = [
        ("customer_meter", {"customer_number": "stadt-a-K1", "meter_number": "falsch"}),
        ("customer_meter", {"customer_number": "unbekannt", "meter_number": "stadt-a-M1"}),
        ("customer_name", {"customer_number": "stadt-a-K1", "last_name": "Müller"}),
        ("customer_name", {"customer_number": "", "last_name": ""}),
    ]
    for method, fields in attempts:
        response = post(Client(), "stadt-a", method, **fields)
        assert response.status_code == 200
        assert GENERIC_FAILURE in response.text
        assert "stadt-a-K1" not in response.text  # nothing typed is echoed


def test_a_method_the_organisation_does_not_accept_fails(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CODE_METER)
    response = post(
        Client(),
        "stadt-a",
        "customer_meter",
        customer_number="stadt-a-K1",
        meter_number="stadt-a-M1",
    )
    assert response.status_code == 200
    assert "Zugangscode oder Zählernummer stimmen nicht" in response.text


def test_another_organisations_customer_number_does_not_work(
    org_a: OrgData, org_b: OrgData
) -> None:
    configure(org_a, AccessMethod.CUSTOMER_METER)
    configure(org_b, AccessMethod.CUSTOMER_METER)
    response = post(
        Client(),
        "stadt-a",
        "customer_meter",
        customer_number="stadt-b-K1",
        meter_number="stadt-b-M1",
    )
    assert response.status_code == 200
    assert GENERIC_FAILURE in response.text


def test_sixth_failure_on_one_customer_number_is_429(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CUSTOMER_NAME)
    for index in range(5):
        client = Client(REMOTE_ADDR=f"198.51.100.{index + 1}")
        assert (
            post(
                client, "stadt-a", "customer_name", customer_number="stadt-a-K1", last_name="X"
            ).status_code
            == 200
        )
    locked = post(
        Client(REMOTE_ADDR="198.51.100.99"),
        "stadt-a",
        "customer_name",
        customer_number="stadt-a-K1",
        last_name="Weiß",
    )
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0


def test_unknown_organisation_page_is_404(db: Any) -> None:
    assert Client().get("/zugang/gibt-es-nicht/").status_code == 404


def second_property(data: OrgData, email: str) -> Property:
    with scopes_disabled():
        other: Property = Property.objects.create(
            organisation=data.organisation,
            object_number="stadt-a-2",
            customer_number="stadt-a-K2",
            owner_last_name="Weiß",
            street="Bergstraße",
            house_number="2",
            email=email,
        )
        meter = Meter.objects.create(organisation=data.organisation, property=other, number="B-7")
        register = Register.objects.create(organisation=data.organisation, meter=meter)
        CampaignMeter.objects.create(
            organisation=data.organisation, campaign=data.campaign, register=register
        )
    return other


def test_switching_to_a_property_with_the_same_email(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CUSTOMER_METER)
    with scopes_disabled():
        Property.objects.filter(pk=org_a.property.pk).update(email="Monika@Example.org")
    other = second_property(org_a, "monika@example.org")
    client = Client()
    post(
        client, "stadt-a", "customer_meter", customer_number="stadt-a-K1", meter_number="stadt-a-M1"
    )
    home = client.get("/portal/")
    assert "Bergstraße 2" in home.text
    response = client.post(f"/portal/objekt/{other.pk}/")
    assert response.status_code == 302
    switched = client.get("/portal/")
    assert "B-7" in switched.text
    assert "stadt-a-M1" not in switched.text


def test_switching_to_a_stranger_is_404(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CUSTOMER_METER)
    with scopes_disabled():
        Property.objects.filter(pk=org_a.property.pk).update(email="monika@example.org")
    other = second_property(org_a, "nachbar@example.org")
    client = Client()
    post(
        client, "stadt-a", "customer_meter", customer_number="stadt-a-K1", meter_number="stadt-a-M1"
    )
    assert "Bergstraße" not in client.get("/portal/").text
    assert client.post(f"/portal/objekt/{other.pk}/").status_code == 404
    assert "stadt-a-M1" in client.get("/portal/").text


def test_after_switching_a_revoked_link_still_ends_the_session(org_a: OrgData) -> None:
    configure(org_a, AccessMethod.CODE_METER)
    with scopes_disabled():
        Property.objects.filter(pk=org_a.property.pk).update(email="monika@example.org")
    other = second_property(org_a, "monika@example.org")
    issued = do_issue_access(
        org_a.campaign, organisation=org_a.organisation, actor=Actor.system("test")
    )
    token = next(access.token for access in issued if access.property.pk == org_a.property.pk)
    client = Client()
    assert client.get(f"/r/{token}").status_code == 302
    assert client.post(f"/portal/objekt/{other.pk}/").status_code == 302
    assert "B-7" in client.get("/portal/").text
    do_issue_access(org_a.campaign, organisation=org_a.organisation, actor=Actor.system("test"))
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"] == "/zugang/"
