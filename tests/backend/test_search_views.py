"""The meter and property list (backend:meter_list): search, filters in the URL, sorting,
keyset pages, bad input; and the query count of every backend page with data present."""

import datetime
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CitizenMessage,
    Organisation,
    Outcome,
    Reading,
    ReadingSource,
    ReviewState,
    Role,
)
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import import_meter_list_now
from ablesung.formats import FINANZ_PLUS_STANDARD
from tests.conftest import OrgData
from tests.test_isolation import member_client, org_routes, requests_for

pytestmark = pytest.mark.django_db

LIST = "/o/stadt-a/zaehler/"
MAX_QUERIES = 20
HEADER = (
    "Objektnummer;Kassenzeichen;Name;Vorname;Straße;Hausnummer;PLZ;Ort;Zählernummer;"
    "Zählerart;Stellen;Ablesedatum alt;Zählerstand alt;Vorjahresverbrauch;"
    "Ablesedatum neu;Zählerstand neu;Ableseart;Bemerkung"
)
NAMES = ["Müller", "Schäfer", "Weiß", "Groß"]
STREETS = ["Gartenstraße", "Am Mühlbach", "Lindenallee"]


def meter_list(count: int) -> bytes:
    lines = [HEADER]
    for number in range(count):  # two meters per property
        lines.append(
            f"2-{number // 2:03d};60.{number // 2:05d};{NAMES[number // 2 % 4]};Jörg;"
            f"{STREETS[number // 2 % 3]};{number // 2 % 9 + 1};09111;Musterstadt;"
            f"Z-{number:04d};{'Gartenwasserzähler' if number % 2 else 'Hauptwasserzähler'};5;"
            "15.12.2025;1000;100;;;;"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def add_readings(org: Organisation, campaign: Campaign) -> None:
    """Every second line a reading, some with a second version; outcomes, states and
    sources mixed; one control reading request."""
    outcomes = [Outcome.OK, Outcome.WARNING, Outcome.IMPLAUSIBLE]
    states = [ReviewState.SUBMITTED, ReviewState.REVIEWED, ReviewState.RELEASED]
    sources = [ReadingSource.ONLINE, ReadingSource.LETTER, ReadingSource.PHONE]
    with scopes_disabled():
        lines = list(
            CampaignMeter.objects.filter(
                campaign=campaign, register__meter__number__startswith="Z-"
            )
            .select_related("register__meter")
            .order_by("register__meter__number")
        )
        for index, line in enumerate(lines[::2]):
            versions = 2 if index % 5 == 0 else 1
            for version in range(1, versions + 1):
                Reading.objects.filter(
                    campaign=campaign, register_id=line.register_id, is_effective=True
                ).update(is_effective=False)
                Reading.objects.create(
                    organisation=org,
                    campaign=campaign,
                    register_id=line.register_id,
                    version=version,
                    is_effective=True,
                    value=Decimal(1100 + version),
                    reading_date=datetime.date(2026, 12, 30),
                    source=sources[index % 3],
                    outcome=outcomes[index % 3],
                    state=states[(index // 3) % 3],
                )
            CampaignMeter.objects.filter(pk=line.pk).update(last_version=versions)
        CampaignMeter.objects.filter(pk=lines[1].pk).update(
            control_requested_at=datetime.datetime(2027, 1, 5, tzinfo=datetime.UTC)
        )


@pytest.fixture
def town(org_a: OrgData) -> OrgData:
    """Org A's campaign with 120 more meters through the real import, readings, a message."""
    batch, _ = import_meter_list_now(
        org_a.campaign,
        ContentFile(meter_list(120), name="liste.csv"),
        original_name="liste.csv",
        profile=FINANZ_PLUS_STANDARD,
        organisation=org_a.organisation,
        actor=Actor.system("test"),
    )
    assert batch.status == "succeeded", batch.message
    add_readings(org_a.organisation, org_a.campaign)
    with scopes_disabled():
        CitizenMessage.objects.create(
            organisation=org_a.organisation,
            campaign=org_a.campaign,
            property=org_a.property,
            reason="meter_defect",
            text="Zähler klemmt",
        )
    return org_a


def meter_numbers(html: str) -> list[str]:
    """The meter numbers in the list's rows (their header cells), in order."""
    return re.findall(r'<th scope="row" class="kern-table__cell">([^<\s]+)', html)


def links(html: str, label: str) -> list[str]:
    return [
        href.replace("&amp;", "&")
        for href, text in re.findall(r'<a class="kern-link" href="([^"]*)"[^>]*>([^<]*)</a>', html)
        if text == label
    ]


# --- search and filters ---------------------------------------------------------------------


def test_search_finds_umlauts_both_ways_and_by_prefix(client_a: Client, town: OrgData) -> None:
    for term in ("Weiß", "weiss", "WEISS", "weiß m"):
        numbers = meter_numbers(client_a.get(LIST, {"q": term}).text)
        assert "stadt-a-M1" in numbers  # org A's own "Weiß, Monika"
    for term in ("Weiß", "WEISS J", "weiss jörg", "Weiss Joerg"):
        numbers = meter_numbers(client_a.get(LIST, {"q": term}).text)
        assert "Z-0004" in numbers, term
        assert "Z-0002" not in numbers, term
    assert "stadt-a-M1" not in meter_numbers(client_a.get(LIST, {"q": "weiss j"}).text)
    assert meter_numbers(client_a.get(LIST, {"q": "gartenstrasse"}).text)[:3] == [
        "stadt-a-M1",  # Gartenstraße 138
        "Z-0000",
        "Z-0001",
    ]
    assert meter_numbers(client_a.get(LIST, {"q": "z-011"}).text) == [
        f"Z-011{digit}" for digit in range(10)
    ]
    page = client_a.get(LIST, {"q": "gibtesnicht"})
    assert "Keine Zähler gefunden." in page.text
    assert "0 Treffer." in page.text


def test_the_newest_campaign_is_shown_until_another_is_chosen(
    client_a: Client, town: OrgData
) -> None:
    with scopes_disabled():
        older = Campaign.objects.create(
            organisation=town.organisation,
            name="Ablesung 2025",
            key_date=datetime.date(2025, 12, 31),
        )
    page = client_a.get(LIST, {"q": "z-0000"})
    assert page.context["campaign"] == town.campaign
    assert "Zählerstand" in page.text  # the reading columns
    assert client_a.get(LIST, {"q": "z-0000", "ableseaktion": older.pk}).context["page"].rows == []
    every = client_a.get(LIST, {"q": "z-0000", "ableseaktion": ""})
    assert every.context["campaign"] is None
    assert meter_numbers(every.text) == ["Z-0000"]
    assert "Alle Zähler, ohne Zählerstände." in every.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # readings on Z-0000, Z-0002, …: the i-th has outcome i % 3, state i // 3 % 3
        ({"ergebnis": "implausible"}, 20),
        ({"ergebnis": "warning"}, 20),
        ({"stand": "released"}, 18),
        ({"quelle": "phone"}, 20),
        ({"ohne_ablesung": "1"}, 60),
        ({"kontrollablesung": "1"}, 1),
        ({"zaehlerart": "water_garden"}, 60),
        ({"ergebnis": "implausible", "stand": "submitted", "q": "z-00"}, 6),
    ],
)
def test_filters_as_the_dashboard_links_them(
    client_a: Client, town: OrgData, query: dict[str, str], expected: int
) -> None:
    """The parameters are the ones the campaign dashboard links with (ableseaktion,
    ergebnis, ohne_ablesung, kontrollablesung); the result is counted over every page."""
    params = {"ableseaktion": str(town.campaign.pk), **query, "q": query.get("q", "z-")}
    total: list[str] = []
    url = f"{LIST}?" + "&".join(f"{key}={value}" for key, value in params.items())
    while url:
        page = client_a.get(url)
        assert page.status_code == 200
        total += meter_numbers(page.text)
        following = links(page.text, "Nächste Seite")
        url = following[0] if following else ""
        if url:
            assert parse_qs(urlsplit(url).query)["ableseaktion"] == [str(town.campaign.pk)]
            url = LIST + url
    assert len(total) == expected
    assert len(set(total)) == expected


def test_the_filter_is_kept_in_every_page_link(client_a: Client, town: OrgData) -> None:
    query = {"q": "z-", "ergebnis": "implausible", "sortierung": "-name", "ableseaktion": ""}
    refused = client_a.get(LIST, query)
    assert "gelten für eine Ableseaktion" in refused.text  # no reading filter without one
    query["ableseaktion"] = str(town.campaign.pk)
    query["ergebnis"] = ""
    first = client_a.get(LIST, query)
    (following,) = links(first.text, "Nächste Seite")
    (last,) = links(first.text, "Letzte Seite")
    for link in (following, last):
        params = parse_qs(urlsplit(link).query)
        assert params["q"] == ["z-"]
        assert params["sortierung"] == ["-name"]
        assert params["ableseaktion"] == [str(town.campaign.pk)]
    second = client_a.get(LIST + following)
    assert links(second.text, "Erste Seite")
    (previous,) = links(second.text, "Vorherige Seite")
    assert meter_numbers(client_a.get(LIST + previous).text) == meter_numbers(first.text)
    assert not links(client_a.get(LIST + last).text, "Nächste Seite")


def test_sorting_by_name_descending(client_a: Client, town: OrgData) -> None:
    page = client_a.get(LIST, {"q": "z-", "sortierung": "-name"})
    owners = [row.meter.property.owner_key for row in page.context["page"].rows]
    assert owners == sorted(owners, reverse=True)
    assert owners[0].startswith("weiss")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"ergebnis": "gibtesnicht"}, "Bitte eine gültige Auswahl treffen."),
        ({"ableseaktion": "abc"}, "Bitte eine gültige Auswahl treffen."),
        ({"ableseaktion": "999999"}, "Bitte eine gültige Auswahl treffen."),
        ({"q": "x" * 101}, "höchstens 100 Zeichen"),
        ({"ohne_ablesung": "1", "ergebnis": "ok"}, "lässt sich nicht mit"),
    ],
)
def test_bad_filters_get_a_german_message(
    client_a: Client, town: OrgData, query: dict[str, str], message: str
) -> None:
    page = client_a.get(LIST, query)
    assert page.status_code == 200
    assert message in page.text
    assert page.context["page"] is None


@pytest.mark.parametrize("cursor", ["nach=999999999", "vor=abc", "nach=-1", "vor=" + "9" * 40])
def test_a_page_that_is_gone_shows_the_first_page(
    client_a: Client, town: OrgData, cursor: str
) -> None:
    page = client_a.get(f"{LIST}?q=z-&{cursor}")
    assert page.status_code == 200
    assert "Diese Seite gibt es nicht mehr. Hier ist die erste Seite." in page.text
    assert meter_numbers(page.text)[0] == "Z-0000"


def test_another_organisations_meters_are_never_listed(
    client_a: Client, town: OrgData, org_b: OrgData
) -> None:
    with scopes_disabled():
        foreign_line = CampaignMeter.objects.get(campaign=org_b.campaign)
    for query in ({"q": "stadt-b"}, {"q": "weiss"}, {"ableseaktion": ""}):
        numbers = meter_numbers(client_a.get(LIST, query).text)
        assert not [number for number in numbers if number.startswith("stadt-b")]
    # B's campaign is no choice for A, and B's row is no cursor
    assert client_a.get(LIST, {"ableseaktion": org_b.campaign.pk}).context["page"] is None
    page = client_a.get(LIST, {"nach": foreign_line.pk})
    assert "Diese Seite gibt es nicht mehr" in page.text


def test_rows_link_to_the_property_page_and_show_the_reading(
    client_a: Client, town: OrgData
) -> None:
    page = client_a.get(LIST, {"q": "stadt-a-M1"}).text
    assert f'href="/o/stadt-a/objekte/{town.property.pk}/"' in page
    assert "76440" in page  # the effective reading, as the meter shows it
    assert "30.12.2026" in page
    assert "Online (Bürger:in)" in page


def test_viewers_search_but_may_not_delete(town: OrgData) -> None:
    viewer = member_client(town.organisation, Role.VIEWER)
    page = viewer.get(LIST, {"q": "z-0001"})
    assert meter_numbers(page.text) == ["Z-0001"]
    assert "löschen" not in page.text


# --- queries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "müller"},
        {"q": "z-0007"},
        {"ergebnis": "implausible", "sortierung": "-strasse"},
        {"ohne_ablesung": "1", "nach": "0"},
        {"ableseaktion": "", "sortierung": "objekt", "letzte": "1"},
    ],
)
def test_the_list_runs_a_fixed_number_of_queries(
    client_a: Client, town: OrgData, query: dict[str, str]
) -> None:
    client_a.get(LIST, query)
    with CaptureQueriesContext(connection) as captured:
        assert client_a.get(LIST, query).status_code == 200
    assert len(captured.captured_queries) <= MAX_QUERIES


def test_every_backend_page_runs_at_most_20_queries(town: OrgData) -> None:
    """Every GET page under /o/<org>/ with data present (120 meters, readings with versions,
    a message, an import), as an admin: counted, not timed."""
    with scopes_disabled():
        town.reading.photo.save("zaehler.jpg", ContentFile(b"\xff\xd8\xff\xd9"), save=True)
    admin = member_client(town.organisation, Role.ADMIN)
    counts: dict[str, int] = {}
    seen: dict[str, int] = {}
    for route, path in requests_for(org_routes(), "stadt-a", town.organisation, live_only=True):
        if seen.get(route.name, 0) >= 3:  # a few objects per route are enough
            continue
        seen[route.name] = seen.get(route.name, 0) + 1
        with CaptureQueriesContext(connection) as captured:
            response = admin.get(path)
        if response.status_code in (302, 405):  # POST only, or a step that is over
            continue
        if route.name == "backend:reading_photo" and response.status_code == 404:
            continue  # a reading without a photo
        assert response.status_code == 200, path
        counts[path] = len(captured.captured_queries)
    too_many = {path: count for path, count in counts.items() if count > MAX_QUERIES}
    assert not too_many, too_many
    assert any("/zaehler/" in path for path in counts)
    assert any("/objekte/" in path for path in counts)


def test_query_count_does_not_grow_with_the_page(client_a: Client, town: OrgData) -> None:
    def count(query: dict[str, Any]) -> int:
        with CaptureQueriesContext(connection) as captured:
            client_a.get(LIST, query)
        return len(captured.captured_queries)

    one = count({"q": "z-0001"})
    fifty = count({"q": "z-0"})
    assert fifty == one
