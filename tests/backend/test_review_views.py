"""Review pages: the queue, one reading, accept, manual release, correct, control readings.

Plain forms without JavaScript; refusals re-render the reading's page with the German
message (400, a conflict 409) and change nothing.
"""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Reading,
    ReadingSource,
    ReleaseLogEntry,
    ReviewState,
    Role,
)
from tests.conftest import make_member
from tests.core.test_review import IMPLAUSIBLE, NOW, OK, WARNING, Town, make_town, record
from tests.html_tree import attributes, find, find_all, parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def town(db: Any) -> Town:
    return make_town()


def client_for(town: Town, role: str = Role.CLERK) -> Client:
    user = make_member(town.organisation, f"{role}@{town.organisation.slug}.example", role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk(town: Town) -> Client:
    return client_for(town)


def url(town: Town, name: str, **kwargs: Any) -> str:
    return reverse(f"backend:{name}", kwargs={"org": town.organisation.slug, **kwargs})


def queue_url(town: Town) -> str:
    return url(town, "review_queue", campaign_id=town.campaign.pk)


def state_of(reading: Reading) -> str:
    with scopes_disabled():
        return str(Reading.objects.get(pk=reading.pk).state)


# --- the queue ---------------------------------------------------------------------------------


def test_the_queue_shows_each_reading_with_its_explanation_and_history(
    town: Town, clerk: Client
) -> None:
    record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    record(town, "M2", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    record(town, "M3", OK)
    response = clerk.get(queue_url(town))
    assert response.status_code == 200
    text = response.text
    assert "2 Zählerstände warten auf die Prüfung" in text
    assert text.index("Zähler M1") < text.index("Zähler M2")  # oldest first
    assert "Zähler M3" not in text
    assert "mehr als dreimal so hoch wie erwartet (ca. 99 m³)" in text
    assert "Rohrbruch" in text
    assert "Leerstand" in text
    assert "Verbrauch je Jahr in m³" in text
    assert len(find_all(parse(text), "textarea", name="vermerk")) == 2  # a note per reading
    assert "Annehmen" in text
    assert "Sofort freigeben" in text


def test_the_queue_filters_its_two_kinds(town: Town, clerk: Client) -> None:
    record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    record(town, "M2", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    implausible = clerk.get(queue_url(town), {"art": "unplausibel"}).text
    assert "Zähler M1" in implausible
    assert "Zähler M2" not in implausible
    warnings = clerk.get(queue_url(town), {"art": "hinweis"}).text
    assert "Zähler M2" in warnings
    assert "Zähler M1" not in warnings
    everything = clerk.get(queue_url(town), {"art": "<script>"}).text
    assert "Zähler M1" in everything
    assert "Zähler M2" in everything


def test_a_viewer_reads_the_queue_without_forms(town: Town) -> None:
    record(town, "M1", IMPLAUSIBLE)
    viewer = client_for(town, Role.VIEWER)
    response = viewer.get(queue_url(town))
    assert response.status_code == 200
    assert "Zähler M1" in response.text
    assert 'name="vermerk"' not in response.text
    assert "Kontrollablesung anfordern" not in response.text
    item = viewer.get(url(town, "review_item", reading_id=town.effective("M1").pk))
    assert item.status_code == 200
    assert "Korrektur speichern" not in item.text


def test_the_queue_costs_the_same_queries_for_one_reading_or_a_full_page(
    town: Town, clerk: Client, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    record(town, "M1", IMPLAUSIBLE)
    with CaptureQueriesContext(connection) as one:
        clerk.get(queue_url(town))
    for number in ("M2", "M3", "M4", "M5", "M6"):
        record(town, number, IMPLAUSIBLE)
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as six:
        response = clerk.get(queue_url(town))
    assert response.text.count("<article") == 6
    assert len(six) == len(one)


# --- accept ------------------------------------------------------------------------------------


def test_accepting_an_implausible_value_needs_a_note(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    accept = url(town, "review_accept", reading_id=reading.pk)
    refused = clerk.post(accept, {"vermerk": "", "next": queue_url(town)})
    assert refused.status_code == 400
    assert "nur mit einem Vermerk angenommen" in refused.text
    assert state_of(reading) == ReviewState.SUBMITTED

    accepted = clerk.post(accept, {"vermerk": "Rohrbruch belegt", "next": queue_url(town)})
    assert accepted.status_code == 302
    assert accepted["Location"] == queue_url(town)
    assert state_of(reading) == ReviewState.REVIEWED
    page = clerk.get(accepted["Location"]).text
    assert "Der Zählerstand von Zähler M1 ist angenommen." in page
    assert "Im Moment wartet nichts auf die Prüfung." in page
    assert "1 angenommener Zählerstand ist noch nicht freigegeben." in page


def test_a_foreign_next_is_not_followed(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    response = clerk.post(
        url(town, "review_accept", reading_id=reading.pk), {"next": "https://evil.example/"}
    )
    assert response["Location"] == url(town, "review_item", reading_id=reading.pk)


def test_accepting_a_superseded_version_is_a_conflict(town: Town, clerk: Client) -> None:
    seen = record(town, "M1", IMPLAUSIBLE)
    record(town, "M1", 1180, source=ReadingSource.ONLINE, reason="vacancy")
    response = clerk.post(url(town, "review_accept", reading_id=seen.pk), {"vermerk": "x"})
    assert response.status_code == 409
    assert "Inzwischen wurde ein anderer Wert gespeichert: 1180" in response.text


# --- manual release ----------------------------------------------------------------------------


def test_a_manual_release_needs_a_note_for_an_implausible_value(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    release = url(town, "reading_release", reading_id=reading.pk)
    refused = clerk.post(release, {"vermerk": " "})
    assert refused.status_code == 400
    assert "nur mit einem Vermerk freigegeben" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert state_of(reading) == ReviewState.SUBMITTED
    released = clerk.post(release, {"vermerk": "Zähler getauscht, Foto liegt vor"})
    assert released.status_code == 302
    assert state_of(reading) == ReviewState.RELEASED
    with scopes_disabled():
        entry = ReleaseLogEntry.objects.get(reading_id=reading.pk)
    assert (entry.released, entry.reason) == (True, "Zähler getauscht, Foto liegt vor")


# --- correct -----------------------------------------------------------------------------------


def correction(value: str, **extra: str) -> dict[str, str]:
    return {"wert": value, "datum": "2026-12-30", "quelle": ReadingSource.PHONE, **extra}


def test_a_correction_becomes_a_new_version(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    page = clerk.get(url(town, "review_item", reading_id=reading.pk))
    assert page.status_code == 200
    assert attributes(find(parse(page.text), "input", name="wert"))["value"] == "1500"
    response = clerk.post(url(town, "review_correct", reading_id=reading.pk), correction("1150"))
    assert response.status_code == 302
    newer = town.effective("M1")
    assert (newer.version, newer.value, newer.source) == (2, Decimal(1150), ReadingSource.PHONE)
    assert response["Location"] == url(town, "review_item", reading_id=newer.pk)
    assert "Die Korrektur ist gespeichert (Version 2)." in clerk.get(response["Location"]).text


def test_a_warning_needs_confirming_and_the_page_says_why(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    target = url(town, "review_correct", reading_id=reading.pk)
    refused = clerk.post(target, correction("1200"))
    assert refused.status_code == 400
    assert "Bitte bestätigen Sie den Hinweis" in refused.text
    assert "weicht deutlich vom erwarteten Verbrauch" in refused.text  # the engine's reason
    assert attributes(find(parse(refused.text), "input", name="wert"))["value"] == "1200"
    assert town.effective("M1").pk == reading.pk
    confirmed = clerk.post(target, correction("1200", bestaetigt="on"))
    assert confirmed.status_code == 302
    assert town.effective("M1").value == Decimal(1200)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (correction(""), "Bitte geben Sie den richtigen Zählerstand ein."),
        (correction("1150", datum="gestern"), "als Datum an"),
        (correction("1150", quelle="online"), "woher der richtige Wert stammt"),
        (correction("1150", vermerk="x" * 501), "höchstens 500 Zeichen"),
        (correction("12a"), "Zahl"),
    ],
)
def test_bad_corrections_get_a_german_message_and_change_nothing(
    town: Town, clerk: Client, data: dict[str, str], message: str
) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    response = clerk.post(url(town, "review_correct", reading_id=reading.pk), data)
    assert response.status_code == 400
    assert message in response.text
    assert town.effective("M1").pk == reading.pk


def test_two_clerks_correcting_the_same_version_conflict(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    other = client_for(town, Role.ADMIN)
    target = url(town, "review_correct", reading_id=reading.pk)
    assert other.post(target, correction("1150")).status_code == 302
    conflict = clerk.post(target, correction("1160"))
    assert conflict.status_code == 409
    assert "Inzwischen wurde ein anderer Wert gespeichert: 1150" in conflict.text
    assert town.effective("M1").value == Decimal(1150)


# --- control readings --------------------------------------------------------------------------


def test_a_control_reading_is_requested_and_cleared_from_the_queue(
    town: Town, clerk: Client
) -> None:
    record(town, "M1", IMPLAUSIBLE)
    line = town.line("M1")
    back = queue_url(town)
    requested = clerk.post(
        url(town, "review_control_request", campaign_meter_id=line.pk), {"next": back}
    )
    assert requested["Location"] == back
    with scopes_disabled():
        assert CampaignMeter.objects.get(pk=line.pk).control_requested_at is not None
    page = clerk.get(back).text
    assert "Für Zähler M1 ist eine Kontrollablesung angefordert." in page
    assert "Kontrollablesung angefordert am 30.12.2026" in page  # the flag in the list
    assert "Kontrollablesung aufheben" in page
    cleared = clerk.post(url(town, "review_control_clear", campaign_meter_id=line.pk))
    assert cleared["Location"] == queue_url(town)
    with scopes_disabled():
        assert CampaignMeter.objects.get(pk=line.pk).control_requested_at is None
        actions = list(
            AuditEntry.objects.filter(action__startswith="campaign_meter.").values_list(
                "action", flat=True
            )
        )
    assert sorted(actions) == ["campaign_meter.control_cleared", "campaign_meter.control_requested"]


def test_an_exported_campaign_is_read_only(town: Town, clerk: Client) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(status=CampaignStatus.EXPORTED)
    page = clerk.get(queue_url(town)).text
    assert "Die Ableseaktion ist exportiert" in page
    assert 'name="vermerk"' not in page
    refused = clerk.post(url(town, "review_accept", reading_id=reading.pk), {"vermerk": "x"})
    assert refused.status_code == 400
    assert "exportiert" in refused.text
    control = clerk.post(url(town, "review_control_request", campaign_meter_id=town.line("M1").pk))
    assert control.status_code == 302
    assert "exportiert" in clerk.get(control["Location"]).text
    assert state_of(reading) == ReviewState.SUBMITTED


def test_the_pages_speak_english(town: Town, clerk: Client) -> None:
    record(town, "M1", IMPLAUSIBLE)
    clerk.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = clerk.get(queue_url(town)).text
    assert "waiting for review" in page
    assert "more than three times" in page  # the engine's explanation in English
