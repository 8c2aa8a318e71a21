"""The campaign dashboard and list: figures as in the data, bounded queries, actions by
status and role."""

import datetime
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.backend.campaign_dashboard import url_with_query
from ablesung.core.models import AuditEntry, Campaign, CampaignStatus, ReleaseRun, Role
from ablesung.core.services.actor import Actor
from ablesung.core.services.campaign import CampaignRefused, do_update_campaign_window
from tests.conftest import OrgData, make_member
from tests.core.campaign_builder import Builder
from tests.core.test_campaign_open import brand
from tests.core.test_campaign_stats import every_kind
from tests.html_tree import find, find_all, parse, text

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 12, 10, 10, 0, tzinfo=BERLIN)
TODAY = NOW.date()
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def page_of(campaign: Campaign) -> str:
    return f"/o/stadt-a/ableseaktionen/{campaign.pk}/"


def client_for(data: OrgData, role: str) -> Client:
    client = Client()
    client.force_login(make_member(data.organisation, f"{role}@stadt-a.example", role))
    return client


def reload(campaign: Campaign) -> Campaign:
    with scopes_disabled():
        found: Campaign = Campaign.objects.get(pk=campaign.pk)
    return found


def campaign_actions() -> list[str]:
    with scopes_disabled():
        return list(
            AuditEntry.objects.filter(action__startswith="campaign.")
            .order_by("id")
            .values_list("action", flat=True)
        )


def figures_table(html: str) -> dict[str, str]:
    table = find(parse(html), "table", class_="figures-table")
    rows = {}
    for row in find_all(table, "tr")[1:]:
        label = text(find(row, "th")).split(" (")[0]
        rows[label] = text(find_all(row, "td")[0])
    return rows


# --- the figures ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_shows_the_counts_of_the_data(client_a: Client, org_a: OrgData) -> None:
    b = every_kind(org_a)
    response = client_a.get(page_of(b.campaign))
    assert response.status_code == 200
    assert figures_table(response.text) == {
        "Zählwerke gesamt": "14",
        "Online gemeldet": "4",
        "Von der Verwaltung erfasst": "5",
        "Mit Hinweis": "1",
        "Unplausibel, zur Prüfung": "1",
        "Freigegeben": "2",
        "Geschätzt": "2",
        "Fehlend": "3",
        "Kontrollablesung angefordert": "1",
        "Offene Nachrichten": "2",
    }
    assert "13 Zähler" in response.text  # the dual-tariff meter has two registers
    assert "9 von 14 Zählwerken abgelesen (64 %)." in response.text


@pytest.mark.django_db
def test_readings_per_day_as_chart_and_as_table(client_a: Client, org_a: OrgData) -> None:
    b = Builder.campaign_of(org_a.organisation, "Je Tag", status=CampaignStatus.OPEN)
    b.line("a")
    b.line("b")
    b.reading("a", 1365, created_at=datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))
    b.reading("b", 1365, created_at=datetime.datetime(2026, 12, 3, 10, tzinfo=BERLIN))
    tree = parse(client_a.get(page_of(b.campaign)).text)
    svg = find(tree, "svg", class_="daily-chart")
    assert dict(svg.attributes)["aria-hidden"] == "true"
    assert len(find_all(svg, "rect")) == 2  # the empty day has no bar
    rows = [
        [text(cell) for cell in find_all(row, "th") + find_all(row, "td")]
        for row in find_all(find(tree, "details"), "tr")[1:]
    ]
    assert rows == [
        ["Di, 01.12.2026", "1", "0", "1"],
        ["Mi, 02.12.2026", "0", "0", "0"],
        ["Do, 03.12.2026", "1", "0", "1"],
    ]


@pytest.mark.django_db
def test_without_readings_the_page_says_so(client_a: Client, org_a: OrgData) -> None:
    b = Builder.campaign_of(org_a.organisation, "Leer", status=CampaignStatus.DRAFT)
    response = client_a.get(page_of(b.campaign))
    assert "Noch keine Zählerstände eingegangen." in response.text
    assert "daily-chart" not in response.text
    assert "noch nicht geöffnet" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("until", "says"),
    [
        (datetime.date(2026, 12, 10), "endet heute"),
        (datetime.date(2026, 12, 11), "noch 1 Tag"),
        (datetime.date(2027, 1, 15), "noch 36 Tage"),
    ],
)
def test_days_until_the_end_of_the_window(
    client_a: Client, org_a: OrgData, until: datetime.date, says: str
) -> None:
    b = Builder.campaign_of(
        org_a.organisation, "Offen", status=CampaignStatus.OPEN, online_until=until
    )
    assert says in client_a.get(page_of(b.campaign)).text
    assert says in client_a.get("/o/stadt-a/").text


@pytest.mark.django_db
def test_last_import_release_runs_and_links(client_a: Client, org_a: OrgData) -> None:
    with scopes_disabled():
        ReleaseRun.objects.create(
            organisation=org_a.organisation,
            campaign=org_a.campaign,
            actor_label="clerk@stadt-a.example",
            scope="Ganze Ableseaktion",
            checked=3,
            released=2,
            refused=1,
        )
    html = client_a.get(page_of(org_a.campaign)).text
    batch = org_a.import_batch
    assert f'href="/o/stadt-a/importe/{batch.pk}/"' in html
    assert "2 freigegeben, 1 nicht freigegeben (clerk@stadt-a.example)" in html
    assert f'href="/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/schaetzung/"' in html
    assert "Letzter Export" in html
    for part in ("erfassung", "pruefung", "freigabe"):
        assert f'href="/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/{part}/"' in html


def test_links_carry_their_query() -> None:
    assert url_with_query("backend:inbox", {"status": "offen"}, org="x") == (
        "/o/x/nachrichten/?status=offen"
    )
    assert url_with_query("backend:inbox", org="x") == "/o/x/nachrichten/"


@pytest.mark.django_db
def test_the_dashboard_runs_a_bounded_number_of_queries(
    client_a: Client, org_a: OrgData, django_assert_max_num_queries: Any
) -> None:
    b = every_kind(org_a)
    for index in range(60):  # more than a page of meters
        b.line(f"extra{index}")
        day = datetime.datetime(2026, 12, 1 + index % 9, 9, tzinfo=BERLIN)
        b.reading(f"extra{index}", 1365, created_at=day)
    client_a.get("/o/stadt-a/")  # the session and the login's own writes
    with django_assert_max_num_queries(20):
        assert client_a.get(page_of(b.campaign)).status_code == 200
    with django_assert_max_num_queries(20):
        assert client_a.get(page_of(b.campaign), {"seite": "2"}).status_code == 200
    with django_assert_max_num_queries(20):
        assert client_a.get("/o/stadt-a/").status_code == 200


@pytest.mark.django_db
def test_the_campaign_list_shows_key_figures_and_open_messages(
    client_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    b = every_kind(org_a)
    every_kind(org_b)
    tree = parse(client_a.get("/o/stadt-a/").text)
    rows = {
        text(find(row, "th")): [text(cell) for cell in find_all(row, "td")]
        for row in find_all(find(tree, "tbody"), "tr")
    }
    assert set(rows) == {"Alle Fälle 2026", "Jahresablesung 2026"}
    cells = rows["Alle Fälle 2026"]
    assert cells[3:] == [
        "14",
        "9 (64 %)",
        "1",
        "2",
        "2",
        "3",
        "2 offene Nachrichten zu Alle Fälle 2026",
    ]
    assert (
        f'href="/o/stadt-a/nachrichten/?ableseaktion={b.campaign.pk}"'
        in client_a.get("/o/stadt-a/").text
    )


# --- actions by status ---------------------------------------------------------------------------


def window(start: str = "2026-12-15", end: str = "2027-01-31") -> dict[str, str]:
    return {"online_from": start, "online_until": end}


@pytest.mark.django_db
def test_a_draft_gets_a_window_without_being_opened(client_a: Client, org_a: OrgData) -> None:
    campaign = org_a.campaign
    html = client_a.get(page_of(campaign)).text
    assert f'formaction="{page_of(campaign)}zeitraum/"' in html
    response = client_a.post(f"{page_of(campaign)}zeitraum/", window(), follow=True)
    assert "Der Erfassungszeitraum ist gespeichert." in response.text
    stored = reload(campaign)
    assert (stored.status, stored.online_from, stored.online_until) == (
        CampaignStatus.DRAFT,
        datetime.date(2026, 12, 15),
        datetime.date(2027, 1, 31),
    )
    assert campaign_actions() == ["campaign.window_changed"]
    again = client_a.post(f"{page_of(campaign)}zeitraum/", window(), follow=True)
    assert "war bereits so; es wurde nichts geändert" in again.text
    assert campaign_actions() == ["campaign.window_changed"]


@pytest.mark.django_db
def test_an_open_campaign_changes_its_window_and_closes(client_a: Client, org_a: OrgData) -> None:
    campaign = org_a.campaign
    brand(org_a.organisation)
    client_a.post(f"{page_of(campaign)}oeffnen/", window("2026-12-01", "2027-01-15"))
    html = client_a.get(page_of(campaign)).text
    assert f'action="{page_of(campaign)}zeitraum/"' in html
    assert "Erfassungszeitraum ändern" in html
    assert f'action="{page_of(campaign)}schliessen/"' in html
    client_a.post(f"{page_of(campaign)}zeitraum/", window("2026-12-01", "2027-01-31"))
    stored = reload(campaign)
    assert (stored.status, stored.online_until) == (CampaignStatus.OPEN, datetime.date(2027, 1, 31))
    audit = campaign_actions()
    assert audit == ["campaign.opened", "campaign.window_changed"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (window("2026-12-01", "2026-12-09"), "liegt in der Vergangenheit"),
        (window("2027-01-31", "2027-01-15"), "liegt vor seinem Beginn"),
        ({"online_from": "2026-12-01"}, "Bitte geben Sie das Ende des Erfassungszeitraums an."),
        (window("gestern", "2027-01-15"), "Bitte geben Sie den Beginn als Datum an"),
    ],
)
def test_a_bad_window_changes_nothing(
    client_a: Client, org_a: OrgData, data: dict[str, str], message: str
) -> None:
    response = client_a.post(f"{page_of(org_a.campaign)}zeitraum/", data, follow=True)
    assert response.status_code == 200
    assert message in response.text
    assert reload(org_a.campaign).online_until is None
    assert campaign_actions() == []


@pytest.mark.django_db
def test_a_closed_campaign_is_reopened_not_edited(client_a: Client, org_a: OrgData) -> None:
    campaign = org_a.campaign
    brand(org_a.organisation)
    client_a.post(f"{page_of(campaign)}oeffnen/", window("2026-12-01", "2026-12-20"))
    client_a.post(f"{page_of(campaign)}schliessen/")
    html = client_a.get(page_of(campaign)).text
    assert "Ableseaktion wieder öffnen" in html
    assert f'action="{page_of(campaign)}oeffnen/"' in html
    refused = client_a.post(f"{page_of(campaign)}zeitraum/", window(), follow=True)
    assert "Öffnen Sie eine geschlossene Ableseaktion wieder" in refused.text
    reopened = client_a.post(
        f"{page_of(campaign)}oeffnen/", window("2026-12-01", "2027-01-31"), follow=True
    )
    assert "Die Ableseaktion ist wieder geöffnet." in reopened.text
    stored = reload(campaign)
    assert (stored.status, stored.online_until) == (CampaignStatus.OPEN, datetime.date(2027, 1, 31))
    assert campaign_actions() == ["campaign.opened", "campaign.closed", "campaign.opened"]


@pytest.mark.django_db
def test_an_exported_campaign_offers_no_status_actions(client_a: Client, org_a: OrgData) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(status=CampaignStatus.EXPORTED)
    html = client_a.get(page_of(org_a.campaign)).text
    assert "ändern sich nicht mehr" in html
    for action in ("oeffnen/", "zeitraum/", "schliessen/"):
        assert f"{page_of(org_a.campaign)}{action}" not in html
    with pytest.raises(CampaignRefused):
        do_update_campaign_window(
            reload(org_a.campaign),
            online_from=datetime.date(2026, 12, 15),
            online_until=datetime.date(2027, 1, 31),
            actor=ACTOR,
        )


@pytest.mark.django_db
def test_only_admins_see_and_use_the_trash_button(org_a: OrgData) -> None:
    delete = f"/o/stadt-a/loeschen/campaign/{org_a.campaign.pk}/"
    clerk = client_for(org_a, Role.CLERK)
    admin = client_for(org_a, Role.ADMIN)
    assert delete not in clerk.get(page_of(org_a.campaign)).text
    assert delete in admin.get(page_of(org_a.campaign)).text
    assert clerk.post(delete).status_code == 403
    assert reload(org_a.campaign).deleted_at is None
    assert admin.post(delete).status_code == 302
    with scopes_disabled():
        assert Campaign.with_trashed.get(pk=org_a.campaign.pk).deleted_at is not None


@pytest.mark.django_db
def test_a_viewer_sees_figures_but_no_actions(org_a: OrgData) -> None:
    viewer = client_for(org_a, Role.VIEWER)
    html = viewer.get(page_of(org_a.campaign)).text
    assert "Stand der Ablesung" in html
    for action in ("oeffnen/", "zeitraum/", "schliessen/", "loeschen/campaign"):
        assert action not in html
    assert viewer.post(f"{page_of(org_a.campaign)}zeitraum/", window()).status_code == 403
    assert reload(org_a.campaign).online_until is None
    assert campaign_actions() == []


@pytest.mark.django_db
def test_another_organisations_campaign_is_404(
    client_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    other = org_b.campaign.pk
    assert client_a.get(f"/o/stadt-a/ableseaktionen/{other}/").status_code == 404
    assert (
        client_a.post(f"/o/stadt-a/ableseaktionen/{other}/zeitraum/", window()).status_code == 404
    )
    assert (
        client_a.post(f"/o/stadt-b/ableseaktionen/{other}/zeitraum/", window()).status_code == 404
    )
    assert reload(org_b.campaign).online_until is None
    assert campaign_actions() == []
