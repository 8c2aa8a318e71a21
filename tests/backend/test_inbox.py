"""The backend list of citizens' messages."""

from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import CitizenMessage, Role
from tests.conftest import OrgData, make_member


def message(data: OrgData, text: str) -> CitizenMessage:
    with scopes_disabled():
        created: CitizenMessage = CitizenMessage.objects.create(
            organisation=data.organisation,
            campaign=data.campaign,
            property=data.property,
            reason="meter_defect",
            text=text,
            phone="0371 123",
        )
    return created


def test_inbox_lists_the_organisations_messages_escaped(
    client_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    message(org_a, "Zähler <b>klemmt</b>")
    message(org_b, "Nachricht aus Stadt B")
    page = client_a.get("/o/stadt-a/nachrichten/")
    assert page.status_code == 200
    assert "Zähler &lt;b&gt;klemmt&lt;/b&gt;" in page.text
    assert "Zähler defekt" in page.text
    assert "stadt-a-1" in page.text
    assert "0371 123" in page.text
    assert "Stadt B" not in page.text
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


def test_viewers_may_read_the_inbox(org_a: OrgData) -> None:
    message(org_a, "Bitte zurückrufen")
    client = Client()
    client.force_login(make_member(org_a.organisation, "viewer@stadt-a.example", Role.VIEWER))
    assert "Bitte zurückrufen" in client.get("/o/stadt-a/nachrichten/").text


def test_empty_inbox_says_so(client_a: Client) -> None:
    assert "Noch keine Nachrichten." in client_a.get("/o/stadt-a/nachrichten/").text
