"""Release pages: scope, confirmation with the number of readings, the run and its log, CSV."""

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from ablesung.core.models import (
    Campaign,
    CampaignStatus,
    Meter,
    Reading,
    ReadingSource,
    ReleaseRun,
    ReviewState,
    Role,
)
from tests.backend.test_review_views import client_for, url
from tests.core.test_review import IMPLAUSIBLE, NOW, OK, WARNING, Town, make_town, record
from tests.html_tree import attributes, find_all, parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def town(db: Any) -> Town:
    return make_town()


@pytest.fixture
def clerk(town: Town) -> Client:
    return client_for(town)


def release_url(town: Town) -> str:
    return url(town, "release", campaign_id=town.campaign.pk)


def start_url(town: Town) -> str:
    return url(town, "release_start", campaign_id=town.campaign.pk)


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """The confirmation form's hidden fields (what the POST will send)."""
    tree = parse(html)
    [form] = [
        f for f in find_all(tree, "form") if "/freigabe/starten/" in str(attributes(f)["action"])
    ]
    return [
        (str(attributes(field)["name"]), str(attributes(field)["value"]))
        for field in find_all(form, "input", type="hidden")
        if attributes(field)["name"] != "csrfmiddlewaretoken"
    ]


def states(town: Town) -> dict[str, str]:
    with scopes_disabled():
        return dict(
            Reading.objects.filter(campaign=town.campaign, is_effective=True).values_list(
                "register__meter__number", "state"
            )
        )


# --- choosing and confirming -------------------------------------------------------------------


def test_the_whole_campaign_is_confirmed_with_its_count_then_released(
    town: Town, clerk: Client
) -> None:
    record(town, "M1", OK)
    record(town, "M2", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    record(town, "M3", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    first = clerk.get(release_url(town))
    assert first.status_code == 200
    assert "Bestätigen" not in first.text
    confirm = clerk.get(release_url(town), {"umfang": "alle"})
    assert confirm.status_code == 200
    assert "3 noch nicht freigegebene Zählerstände werden erneut geprüft" in confirm.text
    assert "3 Zählerstände prüfen und freigeben" in confirm.text
    assert states(town) == {"M1": "submitted", "M2": "submitted", "M3": "submitted"}  # GET only

    started = clerk.post(start_url(town), dict(hidden_fields(confirm.text)))
    assert started.status_code == 302
    with scopes_disabled():
        run = ReleaseRun.objects.get(campaign=town.campaign)
    assert started["Location"] == url(town, "release_run", release_run_id=run.pk)
    assert states(town) == {"M1": "released", "M2": "released", "M3": "submitted"}
    page = clerk.get(started["Location"])
    assert "Freigabe abgeschlossen: 3 geprüft, 2 freigegeben, 1 nicht freigegeben." in page.text
    assert "Unplausibel und in der Prüfung nicht angenommen" in page.text
    review = url(town, "review_item", reading_id=town.effective("M3").pk)
    assert f'href="{review}"' in page.text  # the refused reading links to its review
    listed = clerk.get(release_url(town)).text
    assert url(town, "release_run_csv", release_run_id=run.pk) in listed


def test_a_filter_and_a_selection_are_confirmed_with_their_counts(
    town: Town, clerk: Client
) -> None:
    record(town, "M1", OK, source=ReadingSource.LETTER)
    chosen = record(town, "M2", OK, source=ReadingSource.PHONE)
    record(town, "M3", OK, source=ReadingSource.LETTER)
    letters = clerk.get(release_url(town), {"umfang": "filter", "quelle": ReadingSource.LETTER})
    assert "Filter: Quelle: Ablesekarte. 2 noch nicht freigegebene" in letters.text
    assert ("quelle", ReadingSource.LETTER) in hidden_fields(letters.text)
    picked = clerk.get(release_url(town), {"umfang": "auswahl", "auswahl": str(chosen.pk)})
    assert "Auswahl: 1 Zählerstand. 1 noch nicht freigegebener Zählerstand" in picked.text
    assert clerk.post(start_url(town), dict(hidden_fields(picked.text))).status_code == 302
    assert states(town) == {"M1": "submitted", "M2": "released", "M3": "submitted"}


def test_the_queue_selection_reaches_the_release_page(town: Town, clerk: Client) -> None:
    first = record(town, "M1", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    queue = clerk.get(url(town, "review_queue", campaign_id=town.campaign.pk)).text
    [form] = find_all(parse(queue), "form", id="auswahl-form")
    assert str(attributes(form)["action"]).startswith(release_url(town))
    [box] = find_all(parse(queue), "input", name="auswahl")
    assert attributes(box)["form"] == "auswahl-form"
    assert attributes(box)["value"] == str(first.pk)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"umfang": "quatsch"}, "Bitte wählen Sie, was freigegeben werden soll."),
        ({"umfang": "auswahl", "auswahl": "abc"}, "Die Auswahl enthält ungültige Angaben."),
        (
            {"umfang": "filter", "quelle": "telepathie"},
            "Bitte wählen Sie einen Eintrag aus der Liste.",
        ),
        (
            {"umfang": "auswahl", "auswahl": [str(n) for n in range(1, 502)]},
            "höchstens 500 Zählerstände",
        ),
    ],
)
def test_bad_scopes_get_a_german_message(
    town: Town, clerk: Client, params: dict[str, Any], message: str
) -> None:
    record(town, "M1", OK)
    page = clerk.get(release_url(town), params)
    assert page.status_code == 400
    assert message in page.text
    started = clerk.post(start_url(town), params)
    assert started.status_code == 400
    assert message in started.text
    assert states(town) == {"M1": "submitted"}
    with scopes_disabled():
        assert not ReleaseRun.objects.exists()


def test_nothing_left_to_release_is_said_and_changes_nothing(town: Town, clerk: Client) -> None:
    confirm = clerk.get(release_url(town), {"umfang": "alle"})
    assert "Darin gibt es keine Zählerstände, die noch freizugeben sind." in confirm.text
    refused = clerk.post(start_url(town), {"umfang": "alle"})
    assert refused.status_code == 409
    assert "keine Zählerstände (mehr)" in refused.text
    with scopes_disabled():
        assert not ReleaseRun.objects.exists()


def test_an_exported_campaign_offers_no_release(town: Town, clerk: Client) -> None:
    record(town, "M1", OK)
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(status=CampaignStatus.EXPORTED)
    page = clerk.get(release_url(town), {"umfang": "alle"})
    assert "es kann nichts mehr freigegeben werden" in page.text
    assert "prüfen und freigeben" not in page.text
    refused = clerk.post(start_url(town), {"umfang": "alle"})
    assert refused.status_code == 409
    assert states(town) == {"M1": "submitted"}


def test_a_viewer_sees_the_runs_but_no_form(town: Town, clerk: Client) -> None:
    record(town, "M1", OK)
    clerk.post(start_url(town), {"umfang": "alle"})
    viewer = client_for(town, Role.VIEWER)
    page = viewer.get(release_url(town), {"umfang": "alle"})
    assert page.status_code == 200
    assert "Freigabeläufe dieser Ableseaktion" in page.text
    assert "Weiter" not in page.text
    assert viewer.post(start_url(town), {"umfang": "alle"}).status_code == 403


def test_release_pages_stay_within_the_query_budget(
    town: Town, clerk: Client, django_assert_max_num_queries: Any
) -> None:
    for number in ("M1", "M2", "M3"):
        record(town, number, IMPLAUSIBLE)
    clerk.post(start_url(town), {"umfang": "alle"})
    with scopes_disabled():
        run = ReleaseRun.objects.get()
    for path, params in (
        (release_url(town), {"umfang": "alle"}),
        (url(town, "release_run", release_run_id=run.pk), {}),
        (url(town, "review_item", reading_id=town.effective("M1").pk), {}),
    ):
        with django_assert_max_num_queries(20):
            assert clerk.get(path, params).status_code == 200


# --- the log as CSV ----------------------------------------------------------------------------


def test_the_log_downloads_as_german_csv_with_formula_cells_neutralised(
    town: Town, clerk: Client
) -> None:
    with scopes_disabled():
        Meter.objects.filter(pk=town.line("M1").register.meter_id).update(
            number="=HYPERLINK(1)", decimals=1, digits=6
        )
    record(town, "M1", "1500,5", note="laut Karte")
    record(town, "M2", OK)
    clerk.post(start_url(town), {"umfang": "alle"})
    with scopes_disabled():
        run = ReleaseRun.objects.get()
    response = clerk.get(url(town, "release_run_csv", release_run_id=run.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="freigabeprotokoll-')
    body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert rows[0] == [
        "Objektnummer",
        "Zählernummer",
        "Zählwerk",
        "Zählerstand",
        "Ablesedatum",
        "Plausibilität",
        "Freigegeben",
        "Grund",
    ]
    assert len(rows) == 2
    (object_number, number, code, value, date, outcome, released, reason) = rows[1]
    assert (object_number, number, code) == ("O-M1", "'=HYPERLINK(1)", "")
    assert (value, date, outcome, released) == ("1500,5", "30.12.2026", "unplausibel", "nein")
    assert reason.startswith("Unplausibel und in der Prüfung nicht angenommen: Ihr Verbrauch")


def test_the_csv_is_german_even_for_an_english_clerk(town: Town, clerk: Client) -> None:
    record(town, "M1", IMPLAUSIBLE)
    clerk.post("/i18n/setlang/", {"language": "en", "next": "/"})
    clerk.post(start_url(town), {"umfang": "alle"})
    with scopes_disabled():
        run = ReleaseRun.objects.get()
    body = b"".join(
        clerk.get(url(town, "release_run_csv", release_run_id=run.pk)).streaming_content  # type: ignore[attr-defined]
    ).decode("utf-8")
    assert "Zählernummer;" in body
    assert ";unplausibel;nein;Unplausibel und" in body
    assert states(town) == {"M1": ReviewState.SUBMITTED}


def test_runs_of_another_campaign_are_not_found_under_this_one(town: Town, clerk: Client) -> None:
    other = make_town("anderstadt", 1)
    record(other, "M1", OK)
    other_clerk = client_for(other)
    other_clerk.post(
        reverse(
            "backend:release_start",
            kwargs={"org": other.organisation.slug, "campaign_id": other.campaign.pk},
        ),
        {"umfang": "alle"},
    )
    with scopes_disabled():
        run = ReleaseRun.objects.get(campaign=other.campaign)
    assert clerk.get(url(town, "release_run", release_run_id=run.pk)).status_code == 404
    assert clerk.get(url(town, "release_run_csv", release_run_id=run.pk)).status_code == 404
