"""The audit log page of an organisation: admins and viewers, filters, German texts, CSV."""

import datetime

import pytest
import time_machine
from django.test import Client

from ablesung.accounts.models import User
from ablesung.core.models import AuditEntry, Role
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from tests.conftest import OrgData, make_member


@pytest.fixture
def entries(org_a: OrgData, org_b: OrgData) -> None:
    org = org_a.organisation
    with time_machine.travel("2026-11-02 09:00 +0000", tick=False):
        audit.record(
            "campaign.opened",
            actor=Actor(label='=HYPERLINK("http://x")', ip="192.0.2.1"),
            organisation=org,
            obj=org_a.campaign,
        )
    with time_machine.travel("2026-11-20 09:00 +0000", tick=False):
        audit.record(
            "reading.released",
            actor=Actor(label="clerk@stadt-a.example", ip="192.0.2.2"),
            organisation=org,
            obj=org_a.reading,
        )
    audit.record(
        "campaign.closed",
        actor=Actor(label="b@stadt-b.example"),
        organisation=org_b.organisation,
        obj=org_b.campaign,
    )


def _client(org: OrgData, role: str) -> Client:
    client = Client()
    client.force_login(make_member(org.organisation, f"{role}@stadt-a.example", role))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_admins_and_viewers_read_the_log_with_german_texts(
    org_a: OrgData, entries: None, role: str
) -> None:
    page = _client(org_a, role).get("/o/stadt-a/protokoll/")
    assert page.status_code == 200
    assert "Ableseaktion geöffnet" in page.text
    assert "Zählerstand freigegeben" in page.text
    assert "192.0.2.2" in page.text
    texts = {row["text"] for row in page.context["rows"]}
    assert texts == {"Angemeldet", "Ableseaktion geöffnet", "Zählerstand freigegeben"}  # not B's
    assert "b@stadt-b.example" not in page.text


@pytest.mark.django_db
def test_clerks_do_not_see_the_log(org_a: OrgData, entries: None) -> None:
    client = _client(org_a, Role.CLERK)
    assert client.get("/o/stadt-a/protokoll/").status_code == 403
    assert client.get("/o/stadt-a/protokoll.csv").status_code == 403


@pytest.mark.django_db
def test_the_filters_narrow_the_list(org_a: OrgData, entries: None) -> None:
    client = _client(org_a, Role.VIEWER)

    def actions(**query: str) -> set[str]:
        response = client.get("/o/stadt-a/protokoll/", query)
        assert response.status_code == 200
        return {row["entry"].action for row in response.context["rows"]}

    assert actions(aktion="reading.released") == {"reading.released"}
    assert actions(akteur="clerk@") == {"reading.released"}
    assert actions(von="2026-11-01", bis="2026-11-10") == {"campaign.opened"}
    assert actions(von="15.11.2026") >= {"reading.released"}
    assert "campaign.opened" not in actions(von="15.11.2026")
    assert actions(objekt="reading", objekt_id=str(org_a.reading.pk)) == {"reading.released"}
    wrong = client.get("/o/stadt-a/protokoll/", {"von": "2026-11-10", "bis": "2026-11-01"})
    assert "„Bis“ liegt vor „Von“." in wrong.text
    assert client.get("/o/stadt-a/protokoll/", {"von": "kein Datum"}).status_code == 200


@pytest.mark.django_db
def test_the_csv_export_neutralises_formulas_and_keeps_utc(org_a: OrgData, entries: None) -> None:
    response = _client(org_a, Role.ADMIN).get(
        "/o/stadt-a/protokoll.csv", {"aktion": "campaign.opened"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="protokoll-stadt-a-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    lines = text.splitlines()
    assert lines[0].startswith("Zeit (UTC);Aktion;Beschreibung;Wer")
    assert len(lines) == 2
    assert "2026-11-02 09:00:00;campaign.opened;Ableseaktion geöffnet;" in lines[1]
    assert "'=HYPERLINK" in lines[1]


@pytest.mark.django_db
def test_logins_of_members_appear_in_their_organisations_log(org_a: OrgData, clerk_a: User) -> None:
    Client(REMOTE_ADDR="198.51.100.3").post(
        "/konto/anmelden/", {"username": clerk_a.email, "password": "falsch"}
    )
    entry = AuditEntry.objects.get(action="auth.login_failed")
    assert entry.organisation == org_a.organisation
    assert entry.created_at.tzinfo is not None
    assert entry.created_at.utcoffset() == datetime.timedelta(0)
    page = _client(org_a, Role.ADMIN).get("/o/stadt-a/protokoll/", {"aktion": "auth.login_failed"})
    assert "Anmeldung fehlgeschlagen" in page.text
    assert "198.51.100.3" in page.text
