"""The estimates pages: the preview shows every input, storing needs "estimate", manual
estimates need a note, other organisations' ids are 404."""

import datetime
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import AuditEntry, Campaign, CampaignStatus, Reading, ReadingSource, Role
from tests.conftest import OrgData, make_member
from tests.core.campaign_builder import Builder
from tests.html_tree import find, find_all, parse, text

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2027, 1, 20, 9, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def b(org_a: OrgData) -> Builder:
    builder = Builder.campaign_of(org_a.organisation, "Schätzung 2026")
    builder.line("half", previous=1000, previous_date=datetime.date(2026, 7, 1), consumption=73)
    builder.line(
        "gas",
        kind="gas",
        decimals=3,
        previous=100,
        previous_date=datetime.date(2026, 10, 1),
        consumption=1000,
    )
    builder.line("garden", kind="water_garden", previous=500, consumption=None)
    builder.line("garden_q", kind="water_garden", previous=5, consumption=20)
    builder.reading("garden_q", 25)
    builder.line("no_previous", previous=None, previous_date=None)
    builder.line("read", previous=1000)
    builder.reading("read", 1360, source=ReadingSource.LETTER)
    return builder


def url(b: Builder, suffix: str = "") -> str:
    return f"/o/stadt-a/ableseaktionen/{b.campaign.pk}/schaetzung/{suffix}"


def line_url(b: Builder, name: str) -> str:
    return url(b, f"{b.lines[name].pk}/")


def stored(b: Builder) -> list[Reading]:
    with scopes_disabled():
        return list(
            Reading.objects.filter(
                campaign=b.campaign,
                source__in=[ReadingSource.ESTIMATE, ReadingSource.MANUAL_ESTIMATE],
            ).order_by("pk")
        )


def viewer(org: OrgData) -> Client:
    client = Client()
    client.force_login(make_member(org.organisation, "viewer@stadt-a.example", Role.VIEWER))
    return client


@pytest.mark.django_db
def test_the_summary_and_the_button(client_a: Client, b: Builder) -> None:
    page = client_a.get(url(b))
    assert page.status_code == 200
    tree = parse(page.text)
    values = {
        text(find(item, "dt")): text(find(item, "dd"))
        for item in find_all(tree, "div", class_="kern-description-list-item")
    }
    assert values["Zählwerke ohne Zählerstand"] == "4"
    assert values["Nicht schätzbar"] == "1 ohne Vorwert, 0 ohne Verbrauchsbasis"
    assert 'name="vorschau"' in page.text
    assert "Fehlende schätzen" in page.text


@pytest.mark.django_db
def test_the_preview_shows_the_inputs(client_a: Client, b: Builder) -> None:
    tree = parse(client_a.get(url(b), {"vorschau": "1"}).text)
    rows = {
        text(find(row, "th")).split(" ")[0]: [
            " ".join(text(cell).split()) for cell in find_all(row, "td")
        ]
        for row in find_all(find(tree, "tbody"), "tr")
    }
    meters = {name: b.lines[name].register.meter.number for name in b.lines}
    assert set(rows) == {meters["half"], meters["gas"], meters["garden"], meters["no_previous"]}
    half = rows[meters["half"]]
    assert half[1:] == [
        "1000 01.07.2026",
        "73 Vorjahresverbrauch",
        "183",
        "50,1 % gleichmäßig (jeder Tag gleich)",
        "37",
        "1037",
        "neu",
    ]
    assert rows[meters["gas"]][1:7] == [
        "100,000 01.10.2026",
        "1000 Vorjahresverbrauch",
        "91",
        "35,5 % Heizprofil (Standard)",
        "354,839",
        "454,839",
    ]
    assert rows[meters["garden"]][2] == "20 Median der Zählerart"
    assert rows[meters["garden"]][6] == "520"
    assert rows[meters["no_previous"]][-1] == "nicht schätzbar: kein Vorwert"
    assert "Schätzungen übernehmen" in text(tree)


@pytest.mark.django_db
def test_storing_and_running_again(client_a: Client, b: Builder) -> None:
    response = client_a.post(url(b), follow=True)
    assert response.redirect_chain == [(url(b) + "?vorschau=1", 302)]
    assert "Schätzungen gespeichert: 3 neu, 0 neu berechnet, 0 unverändert, 1 nicht schätzbar." in (
        response.text
    )
    assert [reading.value for reading in stored(b)] == [1037, Decimal("454.839"), 520]
    assert "unverändert" in response.text  # the preview now shows them as stored
    again = client_a.post(url(b), follow=True)
    assert "0 neu, 0 neu berechnet, 3 unverändert" in again.text
    assert len(stored(b)) == 3


@pytest.mark.django_db
def test_while_the_window_runs_nothing_is_stored(client_a: Client, b: Builder) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=b.campaign.pk).update(
            status=CampaignStatus.OPEN, online_until=datetime.date(2027, 1, 31)
        )
    preview = client_a.get(url(b), {"vorschau": "1"}).text
    assert "läuft noch bis zum 31.01.2027" in preview
    assert "Schätzungen übernehmen" not in preview
    response = client_a.post(url(b), follow=True)
    assert "läuft noch bis zum 31.01.2027" in response.text
    assert 'role="alert"' in response.text
    assert stored(b) == []


@pytest.mark.django_db
def test_a_viewer_sees_the_preview_but_cannot_store(org_a: OrgData, b: Builder) -> None:
    client = viewer(org_a)
    preview = client.get(url(b), {"vorschau": "1"})
    assert preview.status_code == 200
    assert "Schätzungen übernehmen" not in preview.text
    assert client.post(url(b)).status_code == 403
    line_page = client.get(line_url(b, "garden"))
    assert line_page.status_code == 200
    assert "Manuelle Schätzung speichern" not in line_page.text
    assert client.post(line_url(b, "garden"), {"value": "1", "note": "x"}).status_code == 403
    assert stored(b) == []


@pytest.mark.django_db
def test_the_line_page_explains_and_takes_a_manual_estimate(client_a: Client, b: Builder) -> None:
    page = client_a.get(line_url(b, "garden"))
    assert "Median der Zählerart" in page.text
    assert "Schätzwert zum Stichtag" in page.text
    missing_note = client_a.post(line_url(b, "garden"), {"value": "530", "note": ""})
    assert missing_note.status_code == 400
    assert "Eine manuelle Schätzung braucht einen Vermerk." in missing_note.text
    bad = client_a.post(line_url(b, "garden"), {"value": "abc", "note": "Anruf"})
    assert bad.status_code == 400
    assert "abc" in bad.text
    assert 'role="alert"' in bad.text
    assert stored(b) == []
    done = client_a.post(line_url(b, "garden"), {"value": "530", "note": "Anruf"}, follow=True)
    assert "Die manuelle Schätzung für Zähler" in done.text
    [reading] = stored(b)
    assert (reading.value, reading.source, reading.note) == (
        Decimal(530),
        "estimate_manual",
        "Anruf",
    )
    assert reading.reading_date == datetime.date(2026, 12, 31)


@pytest.mark.django_db
def test_a_conflict_names_the_newer_value_and_then_replaces_it_knowingly(
    client_a: Client, b: Builder
) -> None:
    page = client_a.get(line_url(b, "garden"))
    seen = dict(find(parse(page.text), "input", name="seen").attributes).get("value")
    assert not seen  # no reading yet
    client_a.post(url(b))  # meanwhile, a colleague stores the automatic estimates
    conflict = client_a.post(line_url(b, "garden"), {"value": "530", "note": "Anruf", "seen": ""})
    assert conflict.status_code == 400
    assert "Inzwischen wurde ein anderer Wert gespeichert: 520" in conflict.text
    fresh = dict(find(parse(conflict.text), "input", name="seen").attributes)["value"]
    [automatic] = [r for r in stored(b) if r.register_id == b.lines["garden"].register_id]
    assert fresh == str(automatic.pk)
    client_a.post(line_url(b, "garden"), {"value": "530", "note": "Anruf", "seen": fresh})
    assert [reading.value for reading in stored(b)][-1] == 530


@pytest.mark.django_db
def test_a_register_with_a_real_reading_gets_no_estimate(client_a: Client, b: Builder) -> None:
    page = client_a.get(line_url(b, "read"))
    assert "eine Schätzung ersetzt ihn nicht" in page.text
    assert "Manuelle Schätzung speichern" not in page.text
    refused = client_a.post(line_url(b, "read"), {"value": "1400", "note": "x"})
    assert refused.status_code == 400
    assert stored(b) == []


@pytest.mark.django_db
def test_other_organisations_and_other_campaigns_are_404(
    client_a: Client, b: Builder, org_a: OrgData, org_b: OrgData
) -> None:
    other = Builder.campaign_of(org_b.organisation, "B")
    other.line("x")
    foreign = f"/o/stadt-a/ableseaktionen/{other.campaign.pk}/schaetzung/"
    assert client_a.get(foreign).status_code == 404
    assert client_a.post(foreign).status_code == 404
    assert client_a.get(url(b, f"{other.lines['x'].pk}/")).status_code == 404
    # a line of this organisation's other campaign is not a line of this one
    wrong = f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/schaetzung/{b.lines['garden'].pk}/"
    assert client_a.get(wrong).status_code == 404
    assert client_a.post(wrong, {"value": "1", "note": "x"}).status_code == 404
    with scopes_disabled():
        assert not Reading.objects.filter(source__startswith="estimate").exists()
        assert not AuditEntry.objects.filter(action="reading.estimated").exists()
