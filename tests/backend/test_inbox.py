"""The backend inbox of citizens' messages: list, filter, state, assignee, note."""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import AuditEntry, CitizenMessage, Role
from tests.conftest import OrgData, make_member
from tests.core.campaign_builder import Builder

pytestmark = pytest.mark.django_db


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


# --- state, assignee, note, filter ----------------------------------------------------------------

UPDATE = "/o/stadt-a/nachrichten/bearbeiten/"


def reload(found: CitizenMessage) -> CitizenMessage:
    with scopes_disabled():
        fresh: CitizenMessage = CitizenMessage.objects.get(pk=found.pk)
    return fresh


def message_actions() -> list[AuditEntry]:
    with scopes_disabled():
        return list(AuditEntry.objects.filter(action="citizen_message.updated").order_by("id"))


def update(client: Client, found: CitizenMessage, *, follow: bool = False, **data: Any) -> Any:
    fields = {"message": found.pk, "note": "", "aktion": "speichern", **data}
    return client.post(UPDATE, fields, follow=follow)


def test_open_messages_first_and_the_filter_stays_in_the_url(
    client_a: Client, org_a: OrgData
) -> None:
    waiting = message(org_a, "Bitte zurückrufen")
    done = message(org_a, "Erledigte Sache")
    with scopes_disabled():
        CitizenMessage.objects.filter(pk=done.pk).update(handled_at=timezone.now())
    default = client_a.get("/o/stadt-a/nachrichten/").text
    assert "Bitte zurückrufen" in default
    assert "Erledigte Sache" not in default
    assert "1 offen, 1 erledigt." in default
    finished = client_a.get("/o/stadt-a/nachrichten/", {"status": "erledigt"}).text
    assert "Erledigte Sache" in finished
    assert "Bitte zurückrufen" not in finished
    both = client_a.get("/o/stadt-a/nachrichten/", {"status": "alle"}).text
    assert "Erledigte Sache" in both
    assert "Bitte zurückrufen" in both
    unknown = client_a.get("/o/stadt-a/nachrichten/", {"status": "kaputt", "ableseaktion": "x"})
    assert unknown.status_code == 200
    assert "Bitte zurückrufen" in unknown.text
    assert waiting.pk != done.pk


def test_the_campaign_filter_and_pagination_keep_the_filter(
    client_a: Client, org_a: OrgData
) -> None:
    other = Builder.campaign_of(org_a.organisation, "Zwischenablesung")
    other.line("a")
    other.message("a")
    for index in range(26):
        message(org_a, f"Nachricht {index}")
    campaign = org_a.campaign.pk
    first = client_a.get("/o/stadt-a/nachrichten/", {"ableseaktion": campaign})
    assert "Zähler klemmt" not in first.text  # the other campaign's message
    assert f'href="?status=offen&amp;ableseaktion={campaign}&amp;seite=2"' in first.text
    second = client_a.get(
        "/o/stadt-a/nachrichten/", {"ableseaktion": str(campaign), "status": "offen", "seite": "2"}
    )
    assert "Nachricht 0" in second.text  # the oldest, on the last page
    mine = client_a.get("/o/stadt-a/nachrichten/", {"ableseaktion": other.campaign.pk})
    assert "Zähler klemmt" in mine.text
    assert "Nachricht 0" not in mine.text


def test_assign_note_done_and_reopen_are_audited(
    client_a: Client, org_a: OrgData, clerk_a: Any
) -> None:
    found = message(org_a, "Zähler defekt, bitte tauschen")
    colleague = make_member(org_a.organisation, "kollegin@stadt-a.example", Role.ADMIN)
    page = client_a.get("/o/stadt-a/nachrichten/").text
    assert f'<option value="{colleague.pk}">kollegin@stadt-a.example</option>' in page
    back = "/o/stadt-a/nachrichten/?status=alle"
    response = update(
        client_a,
        found,
        assignee=colleague.pk,
        note="Termin vereinbart",
        aktion="erledigt",
        next=back,
    )
    assert response.status_code == 302
    assert response["Location"] == back
    fresh = reload(found)
    assert (fresh.assignee_id, fresh.note) == (colleague.pk, "Termin vereinbart")
    assert fresh.handled_at is not None
    [entry] = message_actions()
    assert entry.data == {
        "fields": ["assignee", "note", "handled_at"],
        "handled": True,
        "assignee": colleague.pk,
        "property": org_a.property.pk,
    }
    assert "Termin vereinbart" not in str(entry.data)  # the note is not copied into the log
    assert entry.actor_label == "clerk@stadt-a.example"
    done_page = client_a.get(back).text
    assert "Wieder öffnen" in done_page
    reopened = update(
        client_a, found, assignee=colleague.pk, note="Termin vereinbart", aktion="oeffnen"
    )
    assert reopened["Location"] == "/o/stadt-a/nachrichten/"
    assert reload(found).handled_at is None
    unchanged = client_a.post(
        UPDATE,
        {
            "message": found.pk,
            "assignee": colleague.pk,
            "note": "Termin vereinbart",
            "aktion": "speichern",
        },
        follow=True,
    )
    assert "war bereits so" in unchanged.text
    assert len(message_actions()) == 2


def test_bad_input_changes_nothing(client_a: Client, org_a: OrgData, org_b: OrgData) -> None:
    found = message(org_a, "Bitte zurückrufen")
    stranger = make_member(org_b.organisation, "fremd@stadt-b.example", Role.CLERK)
    reader = make_member(org_a.organisation, "leser@stadt-a.example", Role.VIEWER)
    for assignee in (stranger.pk, reader.pk):
        response = update(client_a, found, assignee=assignee, follow=True)
        assert "Zuständig kann nur ein Mitglied der Organisation sein" in response.text
    too_long = update(client_a, found, note="x" * 2001, follow=True)
    assert "höchstens 2000 Zeichen" in too_long.text
    assert update(client_a, found, aktion="loeschen").status_code == 302
    assert update(client_a, found, assignee="niemand").status_code == 302
    foreign = message(org_b, "Nachricht aus Stadt B")
    assert update(client_a, foreign, note="gelesen").status_code == 404
    assert client_a.post(UPDATE, {"aktion": "speichern"}).status_code == 404
    assert reload(found).note == ""
    assert reload(foreign).note == ""
    assert message_actions() == []


def test_viewers_read_but_do_not_change(org_a: OrgData) -> None:
    found = message(org_a, "Bitte zurückrufen")
    client = Client()
    client.force_login(make_member(org_a.organisation, "viewer@stadt-a.example", Role.VIEWER))
    page = client.get("/o/stadt-a/nachrichten/").text
    assert "bearbeiten/" not in page
    assert "niemand" in page
    assert update(client, found, note="gelesen", aktion="erledigt").status_code == 403
    assert reload(found).handled_at is None
    assert message_actions() == []


def test_the_message_links_to_its_property(client_a: Client, org_a: OrgData) -> None:
    message(org_a, "Bitte zurückrufen")
    page = client_a.get("/o/stadt-a/nachrichten/").text
    assert f'href="/o/stadt-a/objekte/{org_a.property.pk}/"' in page
    assert "Gartenstraße 138" in page


def test_the_campaign_dashboard_counts_open_messages(client_a: Client, org_a: OrgData) -> None:
    message(org_a, "eins")
    done = message(org_a, "zwei")
    update(client_a, done, aktion="erledigt")
    page = client_a.get(f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/").text
    assert f'href="/o/stadt-a/nachrichten/?ableseaktion={org_a.campaign.pk}"' in page
    with scopes_disabled():
        assert CitizenMessage.objects.filter(handled_at__isnull=True).count() == 1
