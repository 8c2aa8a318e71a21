"""Review (Prüfung): the queue, its explanation, accept, correct, control readings.

``Town`` (one organisation, one open campaign, one register per named meter with a
previous reading of 1000 m³ and a previous-year consumption of 100 m³) is shared with the
release and view tests. With the reading date 30.12.2026: 1100 is plausible, 1200 a
warning, 1500 implausible.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    Organisation,
    Outcome,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import (
    ReadingConflict,
    ReadingRefused,
    Submission,
    do_record_readings,
)
from ablesung.core.services.release import do_release_reading
from ablesung.core.services.review import (
    QUEUE_CONFIRMED_WARNING,
    QUEUE_IMPLAUSIBLE,
    accepted_unreleased,
    do_accept_reading,
    do_clear_control_reading,
    do_correct_reading,
    do_request_control_reading,
    preview_correction,
    review_item,
    review_items,
    review_queue,
    with_note,
)
from ablesung.core.services.trash import do_delete_record

NOW = datetime.datetime(2026, 12, 30, 9, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
KEY_DATE = datetime.date(2026, 12, 31)
CLERK = Actor.system("clerk@pruefstadt.example")
CITIZEN = Actor.system("citizen")
OK, WARNING, IMPLAUSIBLE = 1100, 1200, 1500


@dataclass
class Town:
    organisation: Organisation
    campaign: Campaign
    lines: dict[str, CampaignMeter] = field(default_factory=dict)

    def line(self, number: str) -> CampaignMeter:
        return self.lines[number]

    def effective(self, number: str) -> Reading:
        line = self.line(number)
        with scopes_disabled():
            reading: Reading = Reading.objects.get(
                campaign=self.campaign, register_id=line.register_id, is_effective=True
            )
        return reading


def make_town(slug: str = "pruefstadt", meters: int = 6, *, prefix: str = "M") -> Town:
    """An open campaign with ``meters`` registers (meter numbers ``M1`` … on properties
    ``O1`` …), previous reading 1000 m³ on 02.01.2026, previous-year consumption 100 m³."""
    with scopes_disabled():
        org = Organisation.objects.create(slug=slug, name=f"Stadt {slug}")
        campaign = Campaign.objects.create(
            organisation=org,
            name="Jahresablesung 2026",
            key_date=KEY_DATE,
            status=CampaignStatus.OPEN,
            online_from=datetime.date(2026, 12, 1),
            online_until=datetime.date(2027, 1, 15),
        )
        town = Town(org, campaign)
        for number in range(1, meters + 1):
            add_meter(town, f"{prefix}{number}")
    return town


def add_meter(town: Town, number: str, **line_fields: Any) -> CampaignMeter:
    org = town.organisation
    with scopes_disabled():
        prop = Property.objects.create(
            organisation=org,
            object_number=f"O-{number}",
            customer_number=f"K-{number}",
            owner_last_name=f"Eigentümer {number}",
            street="Lindenstraße",
            house_number=number[-2:],
        )
        meter = Meter.objects.create(organisation=org, property=prop, number=number)
        register = Register.objects.create(organisation=org, meter=meter)
        values: dict[str, Any] = {
            "previous_value": Decimal(1000),
            "previous_date": datetime.date(2026, 1, 2),
            "previous_year_consumption": Decimal(100),
            **line_fields,
        }
        line = CampaignMeter.objects.create(
            organisation=org, campaign=town.campaign, register=register, **values
        )
        town.lines[number] = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=line.pk)
    return town.lines[number]


def record(
    town: Town,
    number: str,
    value: int | str,
    *,
    source: str = ReadingSource.PHONE,
    reason: str = "",
    note: str = "",
    confirmed: bool = True,
    actor: Actor = CLERK,
    today: datetime.date = TODAY,
) -> Reading:
    """Records a value through the readings service (a clerk confirms warnings; an
    implausible value gets a note unless one is given)."""
    line = town.line(number)
    if source != ReadingSource.ONLINE and not note and int(value) >= IMPLAUSIBLE:
        note = "laut Karte"
    with organisation_scope(town.organisation):
        lines = CampaignMeter.objects.filter(pk=line.pk)
    (recorded,) = do_record_readings(
        lines,
        {
            line.register_id: Submission(
                str(value), today, reason=reason, note=note, confirmed=confirmed
            )
        },
        organisation=town.organisation,
        source=source,
        actor=actor,
        today=today,
    )
    return recorded.reading


def actions(town: Town, action: str) -> list[AuditEntry]:
    with scopes_disabled():
        return list(AuditEntry.objects.filter(organisation=town.organisation, action=action))


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def town(db: Any) -> Town:
    return make_town()


def queue_numbers(town: Town, kind: str = "") -> list[str]:
    with organisation_scope(town.organisation):
        return [reading.register.meter.number for reading in review_queue(town.campaign, kind)]


# --- the queue ---------------------------------------------------------------------------------


def test_the_queue_holds_implausible_values_and_confirmed_warnings_oldest_first(
    town: Town,
) -> None:
    with time_machine.travel(NOW - datetime.timedelta(hours=3), tick=False):
        record(town, "M3", IMPLAUSIBLE)  # clerk with a note: implausible → queued
    with time_machine.travel(NOW - datetime.timedelta(hours=2), tick=False):
        record(town, "M2", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    with time_machine.travel(NOW - datetime.timedelta(hours=1), tick=False):
        record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    record(town, "M4", OK)  # plausible: not queued
    record(town, "M5", WARNING)  # a clerk's confirmed warning without a reason: not queued
    assert queue_numbers(town) == ["M3", "M2", "M1"]
    assert queue_numbers(town, QUEUE_IMPLAUSIBLE) == ["M3", "M1"]
    assert queue_numbers(town, QUEUE_CONFIRMED_WARNING) == ["M2"]


def test_accepted_released_superseded_and_trashed_readings_leave_the_queue(town: Town) -> None:
    for number in ("M1", "M2", "M3", "M4"):
        record(town, number, IMPLAUSIBLE)
    do_accept_reading(
        town.effective("M1").pk, organisation=town.organisation, actor=CLERK, note="geprüft"
    )
    do_release_reading(
        town.effective("M2").pk, organisation=town.organisation, actor=CLERK, note="ok so"
    )
    record(town, "M3", OK)  # a corrected value supersedes the implausible one
    do_delete_record(
        "meter",
        town.line("M4").register.meter_id,
        organisation=town.organisation,
        actor=CLERK,
    )
    assert queue_numbers(town) == []
    with organisation_scope(town.organisation):
        assert [r.register.meter.number for r in accepted_unreleased(town.campaign)] == ["M1"]


def test_each_item_explains_the_value_with_a_fresh_check_and_the_history(town: Town) -> None:
    reading = record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    with organisation_scope(town.organisation):
        item = review_item(Reading.objects.get(pk=reading.pk), today=TODAY)
    assert item is not None
    assert item.outcome == "implausible"
    assert item.needs_note
    assert item.messages == [
        "Ihr Verbrauch von 500 m³ ist mehr als dreimal so hoch wie erwartet (ca. 99 m³). "
        "Bitte prüfen Sie die Ablesung."
    ]
    assert [(point.label, point.value, point.current) for point in item.history] == [
        ("2025", Decimal(100), False),
        ("2026", Decimal(500), True),
    ]
    assert item.unit == "m³"
    assert not item.changed_since_capture
    # the thresholds change: the re-check judges the stored value anew
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(
            settings={"plausibility": {"implausible_factor": "6"}}
        )
        reading = Reading.objects.select_related("campaign__organisation").get(pk=reading.pk)
    with organisation_scope(town.organisation):
        item = review_item(reading, today=TODAY)
    assert item is not None
    assert item.outcome == "warning"
    assert item.changed_since_capture
    assert not item.needs_note


def test_a_page_of_items_costs_the_same_queries_whatever_its_length(town: Town) -> None:
    for number in ("M1", "M2", "M3", "M4", "M5", "M6"):
        record(town, number, IMPLAUSIBLE)
    counts = []
    for size in (1, 6):
        with organisation_scope(town.organisation):
            page = list(review_queue(town.campaign)[:size])
            with CaptureQueriesContext(connection) as queries:
                items = review_items(page, today=TODAY)
        assert len(items) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 2


def test_preview_of_a_correction_stores_nothing(town: Town) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    with organisation_scope(town.organisation):
        item = review_item(reading, today=TODAY)
        assert item is not None
        before = Reading.objects.count()
        assert preview_correction(item, "1150", TODAY, today=TODAY).outcome.key == "ok"
        assert preview_correction(item, "1200", TODAY, today=TODAY).outcome.key == "warning"
        assert Reading.objects.count() == before


# --- accept ------------------------------------------------------------------------------------


def test_an_implausible_value_is_accepted_only_with_a_note(town: Town) -> None:
    reading = record(town, "M1", IMPLAUSIBLE, note="Karte: 1500")
    with pytest.raises(ReadingRefused, match="nur mit einem Vermerk angenommen"):
        do_accept_reading(reading.pk, organisation=town.organisation, actor=CLERK, note="  ")
    assert town.effective("M1").state == ReviewState.SUBMITTED
    assert actions(town, "reading.reviewed") == []

    assert do_accept_reading(
        reading.pk, organisation=town.organisation, actor=CLERK, note="Pool befüllt (Anruf)"
    )
    accepted = town.effective("M1")
    assert accepted.state == ReviewState.REVIEWED
    assert accepted.note == "Karte: 1500\nPool befüllt (Anruf)"  # the earlier note is kept
    assert accepted.value == Decimal(IMPLAUSIBLE)  # nothing else changes
    (entry,) = actions(town, "reading.reviewed")
    assert entry.object_id == str(reading.pk)
    assert entry.data["note"] == "Pool befüllt (Anruf)"
    assert entry.data["outcome"] == "implausible"
    assert entry.actor_label == CLERK.label

    # accepting again changes nothing and writes nothing
    assert not do_accept_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    assert len(actions(town, "reading.reviewed")) == 1


def test_a_confirmed_warning_is_accepted_without_a_note(town: Town) -> None:
    reading = record(town, "M1", WARNING, source=ReadingSource.ONLINE, reason="more_people")
    assert do_accept_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    assert town.effective("M1").state == ReviewState.REVIEWED
    assert town.effective("M1").note == ""


def test_accepting_an_older_version_names_the_newer_value(town: Town) -> None:
    seen = record(town, "M1", IMPLAUSIBLE)
    record(town, "M1", 1180, source=ReadingSource.ONLINE, reason="vacancy")  # meanwhile
    with pytest.raises(ReadingConflict) as raised:
        do_accept_reading(seen.pk, organisation=town.organisation, actor=CLERK, note="x")
    assert "1180" in raised.value.messages[0]
    assert raised.value.current is not None
    assert raised.value.current.value == Decimal(1180)
    with scopes_disabled():
        assert Reading.objects.get(pk=seen.pk).state == ReviewState.SUBMITTED


def test_released_exported_and_unknown_readings_are_not_accepted(town: Town) -> None:
    reading = record(town, "M1", OK)
    do_release_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    with pytest.raises(ReadingRefused, match="bereits freigegeben"):
        do_accept_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    other = record(town, "M2", IMPLAUSIBLE)
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(status=CampaignStatus.EXPORTED)
    with pytest.raises(ReadingRefused, match="exportiert"):
        do_accept_reading(other.pk, organisation=town.organisation, actor=CLERK, note="x")
    with pytest.raises(ReadingRefused, match="gibt es nicht"):
        do_accept_reading(10**9, organisation=town.organisation, actor=CLERK)
    foreign = make_town("anderstadt", 1)
    with pytest.raises(ReadingRefused, match="gibt es nicht"):
        do_accept_reading(other.pk, organisation=foreign.organisation, actor=CLERK, note="x")
    with pytest.raises(ReadingRefused, match="500 Zeichen"):
        do_accept_reading(other.pk, organisation=town.organisation, actor=CLERK, note="x" * 501)
    assert actions(town, "reading.reviewed") == []


def test_with_note_keeps_what_was_noted() -> None:
    assert with_note("", " neu ") == "neu"
    assert with_note("alt", "") == "alt"
    assert with_note("alt", "alt") == "alt"
    assert with_note("alt", "neu") == "alt\nneu"


# --- correct -----------------------------------------------------------------------------------


def correct(
    town: Town,
    reading: Reading,
    value: int | str,
    *,
    source: str = ReadingSource.PHONE,
    note: str = "",
    confirmed: bool = False,
) -> Reading:
    return do_correct_reading(
        reading.pk,
        Submission(str(value), TODAY, note=note, confirmed=confirmed),
        source=source,
        organisation=town.organisation,
        actor=CLERK,
        today=TODAY,
    ).reading


def test_a_correction_is_a_new_version_with_the_source_kept_or_changed(town: Town) -> None:
    first = record(town, "M1", IMPLAUSIBLE, source=ReadingSource.LETTER)
    kept = correct(town, first, 1150, source=ReadingSource.LETTER)
    assert (kept.version, kept.value, kept.source) == (2, Decimal(1150), ReadingSource.LETTER)
    assert kept.is_effective
    assert kept.outcome == Outcome.OK
    changed = correct(town, kept, 1160, source=ReadingSource.STAFF)
    assert (changed.version, changed.source) == (3, ReadingSource.STAFF)
    with scopes_disabled():
        history = list(
            Reading.objects.filter(register_id=first.register_id)
            .order_by("version")
            .values_list("version", "value", "is_effective")
        )
    assert history == [
        (1, Decimal(IMPLAUSIBLE), False),
        (2, Decimal(1150), False),
        (3, Decimal(1160), True),
    ]
    assert [entry.data["supersedes"] for entry in actions(town, "reading.corrected")] == [
        kept.pk,
        first.pk,
    ]


def test_a_correction_follows_the_clerks_rules(town: Town) -> None:
    first = record(town, "M1", IMPLAUSIBLE)
    with pytest.raises(ReadingRefused, match="bestätigen Sie den Hinweis"):
        correct(town, first, WARNING)
    with pytest.raises(ReadingRefused, match="nur mit einem Vermerk gespeichert"):
        correct(town, first, 1600)
    with pytest.raises(ReadingRefused, match="woher der richtige Wert"):
        correct(town, first, OK, source=ReadingSource.ONLINE)
    with pytest.raises(ReadingRefused, match="ohne Nachkommastellen"):
        correct(town, first, "1100,5")
    assert town.effective("M1").pk == first.pk
    assert correct(town, first, WARNING, confirmed=True).outcome == Outcome.WARNING


def test_two_clerks_correcting_from_the_same_version_conflict(town: Town) -> None:
    seen = record(town, "M1", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    correct(town, seen, 1150)
    with pytest.raises(ReadingConflict, match="1150"):
        correct(town, seen, 1160)
    assert town.effective("M1").value == Decimal(1150)


# --- control readings --------------------------------------------------------------------------


def test_control_reading_flag_is_set_and_cleared_once_each(town: Town) -> None:
    line = town.line("M1")
    assert do_request_control_reading(line.pk, organisation=town.organisation, actor=CLERK)
    assert not do_request_control_reading(line.pk, organisation=town.organisation, actor=CLERK)
    with scopes_disabled():
        requested = CampaignMeter.objects.get(pk=line.pk).control_requested_at
    assert requested is not None
    assert abs(requested - timezone.now()) < datetime.timedelta(minutes=1)
    assert len(actions(town, "campaign_meter.control_requested")) == 1
    assert do_clear_control_reading(line.pk, organisation=town.organisation, actor=CLERK)
    assert not do_clear_control_reading(line.pk, organisation=town.organisation, actor=CLERK)
    with scopes_disabled():
        assert CampaignMeter.objects.get(pk=line.pk).control_requested_at is None
    (cleared,) = actions(town, "campaign_meter.control_cleared")
    assert cleared.object_id == str(line.pk)


def test_control_readings_of_exported_campaigns_and_other_organisations_are_refused(
    town: Town,
) -> None:
    line = town.line("M1")
    foreign = make_town("anderstadt", 1)
    with pytest.raises(CampaignMeter.DoesNotExist):
        do_request_control_reading(line.pk, organisation=foreign.organisation, actor=CLERK)
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(status=CampaignStatus.EXPORTED)
    with pytest.raises(ReadingRefused, match="exportiert"):
        do_request_control_reading(line.pk, organisation=town.organisation, actor=CLERK)
    with scopes_disabled():
        assert CampaignMeter.objects.get(pk=line.pk).control_requested_at is None
    assert actions(town, "campaign_meter.control_requested") == []
