"""The capture service: finding registers, the preview, saving with what the clerk saw, undo.

Organisation A's fixture (tests/conftest.py): meter ``stadt-a-M1`` of property ``stadt-a-1``,
previous reading 76414 on 16.01.2026, previous-year consumption 28, a citizen's online
reading 76440 as version 1; key date 31.12.2026. Here the property gets a dual-tariff
meter (HT/NT) too.
"""

import datetime
import threading
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    MeterKind,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.capture import (
    CaptureEntry,
    default_reading_date,
    do_capture_reading,
    do_undo_capture,
    expected_range,
    find_registers,
    lookup_candidates,
    preview,
)
from ablesung.core.services.readings import ReadingConflict, ReadingRefused, check_value
from ablesung.core.services.trash import do_restore_record
from ablesung.letters.reply_card import encode
from tests.conftest import OrgData

TODAY = datetime.date(2027, 1, 5)  # after the key date: the default reading date is the key date
KEY_DATE = datetime.date(2026, 12, 31)
CLERK = Actor.system("clerk")


@pytest.fixture
def dual(org_a: OrgData) -> Meter:
    """A dual-tariff electricity meter on organisation A's property, in the campaign."""
    with scopes_disabled():
        meter: Meter = Meter.objects.create(
            organisation=org_a.organisation,
            property=org_a.property,
            number="E-4711",
            kind=MeterKind.ELECTRICITY,
            digits=6,
        )
        for code, previous, year in (("HT", 20000, 3000), ("NT", 8000, 1200)):
            register = Register.objects.create(
                organisation=org_a.organisation, meter=meter, code=code
            )
            CampaignMeter.objects.create(
                organisation=org_a.organisation,
                campaign=org_a.campaign,
                register=register,
                previous_value=Decimal(previous),
                previous_date=datetime.date(2026, 1, 2),
                previous_year_consumption=Decimal(year),
            )
    return meter


def campaign_of(data: OrgData) -> Campaign:
    with organisation_scope(data.organisation):
        campaign: Campaign = Campaign.objects.select_related("organisation").get(
            pk=data.campaign.pk
        )
    return campaign


def lookup(data: OrgData, text: str) -> Any:
    with organisation_scope(data.organisation):
        return find_registers(campaign_of(data), text)


def capture(data: OrgData, entries: dict[int, CaptureEntry], **extra: Any) -> list[Reading]:
    extra.setdefault("source", ReadingSource.LETTER)
    recorded = do_capture_reading(
        campaign_of(data),
        entries,
        organisation=data.organisation,
        actor=CLERK,
        today=extra.pop("today", TODAY),
        **extra,
    )
    return [item.reading for item in recorded]


def versions(register: Register | int) -> list[tuple[int, int, str, bool, bool]]:
    """(version, value, source, effective, trashed) of the register, oldest first."""
    with scopes_disabled():
        return [
            (r.version, int(r.value), r.source, r.is_effective, r.deleted_at is not None)
            for r in Reading.with_trashed.filter(register=register).order_by("version")
        ]


def registers_of(meter: Meter) -> dict[str, int]:
    with scopes_disabled():
        return {register.code: register.pk for register in meter.registers.all()}


# --- finding registers -----------------------------------------------------------------------


def test_a_meter_number_finds_its_registers(org_a: OrgData, dual: Meter) -> None:
    found = lookup(org_a, "E-4711")
    assert found.matched == "meter"
    assert [line.register.code for line in found.lines] == ["HT", "NT"]
    assert found.property.pk == org_a.property.pk
    assert not found.problem


def test_an_object_number_offers_every_register_of_the_property(
    org_a: OrgData, dual: Meter
) -> None:
    found = lookup(org_a, "stadt-a-1")
    assert found.matched == "property"
    assert [(line.register.meter.number, line.register.code) for line in found.lines] == [
        ("E-4711", "HT"),
        ("E-4711", "NT"),
        ("stadt-a-M1", ""),
    ]


@pytest.mark.parametrize("typed", ["  E-4711 ", "E - 4711", "e-4711", "E-47 11\n"])
def test_typed_numbers_with_spaces_or_small_letters_are_found(
    org_a: OrgData, dual: Meter, typed: str
) -> None:
    assert lookup(org_a, typed).matched == "meter"


def test_the_lookup_is_one_function_for_numbers_typed_or_scanned() -> None:
    assert lookup_candidates(" 66 978 001 ") == ["66 978 001", "66978001"]
    assert lookup_candidates("ab-1") == ["ab-1", "AB-1"]
    assert lookup_candidates("   ") == []
    assert len(lookup_candidates("9" * 500)[0]) == 50


def test_unknown_numbers_and_meters_of_other_campaigns_say_why(
    org_a: OrgData, org_b: OrgData
) -> None:
    assert lookup(org_a, "").problem == "Bitte geben Sie eine Zähler- oder Objektnummer ein."
    assert "Keine Zählernummer und keine Objektnummer „12345“" in lookup(org_a, "12345").problem
    # organisation B's meter is not found in A at all
    assert lookup(org_a, org_b.meter.number).matched == ""
    with scopes_disabled():
        other = Campaign.objects.create(
            organisation=org_a.organisation, name="Garten 2026", key_date=KEY_DATE
        )
        prop = Property.objects.create(
            organisation=org_a.organisation,
            object_number="stadt-a-9",
            customer_number="K9",
            owner_last_name="Ohne",
            street="Weg",
        )
        Meter.objects.create(organisation=org_a.organisation, property=prop, number="G-1")
    with organisation_scope(org_a.organisation):
        assert find_registers(other, "stadt-a-M1").problem == (
            "Der Zähler stadt-a-M1 gehört nicht zu dieser Ableseaktion."
        )
    assert lookup(org_a, "G-1").problem == "Der Zähler G-1 gehört nicht zu dieser Ableseaktion."
    assert lookup(org_a, "stadt-a-9").problem == (
        "Das Objekt stadt-a-9 hat keinen Zähler in dieser Ableseaktion."
    )


# --- a reply card's code ------------------------------------------------------------------------


def numbers(found: Any) -> list[tuple[str, str]]:
    return [(line.register.meter.number, line.register.code) for line in found.lines]


def test_a_reply_card_offers_its_meters_in_card_order(org_a: OrgData, dual: Meter) -> None:
    code = encode("stadt-a-1", ["stadt-a-M1", "E-4711"])
    found = lookup(org_a, code)
    assert found.matched == "card"
    assert found.property.pk == org_a.property.pk
    assert numbers(found) == [("stadt-a-M1", ""), ("E-4711", "HT"), ("E-4711", "NT")]
    assert (found.problem, found.notice) == ("", "")
    assert found.text == code  # the screen posts it back with the values
    # only the card's meters: a second card of the same property shows the others
    assert numbers(lookup(org_a, encode("stadt-a-1", ["E-4711"]))) == [
        ("E-4711", "HT"),
        ("E-4711", "NT"),
    ]
    # Caps Lock on while the scanner types
    assert numbers(lookup(org_a, code.lower())) == numbers(found)


def test_a_card_whose_meters_changed_offers_what_still_matches(org_a: OrgData, dual: Meter) -> None:
    with scopes_disabled():
        other = Property.objects.create(
            organisation=org_a.organisation,
            object_number="stadt-a-7",
            customer_number="K7",
            owner_last_name="Nachbar",
            street="Weg",
        )
        Meter.objects.filter(pk=dual.pk).update(property=other)  # moved to the neighbour
    found = lookup(org_a, encode("stadt-a-1", ["stadt-a-M1", "E-4711", "ALT-1"]))
    assert found.matched == "card"
    assert numbers(found) == [("stadt-a-M1", "")]
    assert found.notice.startswith(
        "Die Antwortkarte passt nicht mehr ganz: Die Zähler E-4711, ALT-1 gehören nicht (mehr)"
    )
    assert not found.problem
    one = lookup(org_a, encode("stadt-a-1", ["stadt-a-M1", "ALT-1"]))
    assert "Der Zähler ALT-1 gehört nicht (mehr) zu diesem Objekt" in one.notice
    # none of the card's meters is left (exchanged): the property's meters, with the notice
    exchanged = lookup(org_a, encode("stadt-a-1", ["ALT-1"]))
    assert numbers(exchanged) == [("stadt-a-M1", "")]
    assert exchanged.notice.startswith(
        "Die Antwortkarte passt nicht mehr zu diesem Objekt: Keiner ihrer Zähler (ALT-1)"
    )


def test_a_card_of_another_campaign_or_an_unknown_object_says_why(org_a: OrgData) -> None:
    with scopes_disabled():
        prop = Property.objects.create(
            organisation=org_a.organisation,
            object_number="stadt-a-9",
            customer_number="K9",
            owner_last_name="Garten",
            street="Weg",
        )
        Meter.objects.create(organisation=org_a.organisation, property=prop, number="G-1")
    garden = lookup(org_a, encode("stadt-a-9", ["G-1"]))
    assert (garden.lines, garden.matched) == ([], "card")
    assert garden.problem == "Das Objekt stadt-a-9 hat keinen Zähler in dieser Ableseaktion."
    unknown = lookup(org_a, encode("stadt-a-404", ["M-1"]))
    assert (unknown.lines, unknown.property, unknown.matched) == ([], None, "")
    assert (
        unknown.problem == "Antwortkarte gelesen, aber keine Objektnummer „stadt-a-404“ gefunden."
    )


def test_a_card_never_finds_another_organisations_object(org_a: OrgData, org_b: OrgData) -> None:
    code = encode(org_b.property.object_number, [org_b.meter.number])
    found = lookup(org_a, code)
    assert (found.lines, found.property, found.matched) == ([], None, "")
    assert "keine Objektnummer „stadt-b-1“ gefunden" in found.problem
    # organisation B's own card, in B's campaign, is found there
    assert numbers(lookup(org_b, code)) == [("stadt-b-M1", "")]


def test_a_card_like_text_that_is_a_number_is_still_found_as_one(org_a: OrgData) -> None:
    with scopes_disabled():
        Meter.objects.filter(pk=org_a.meter.pk).update(number="AK1.5")
    found = lookup(org_a, "AK1.5")  # reads as a card for object "5", which does not exist
    assert found.matched == "meter"
    assert numbers(found) == [("AK1.5", "")]


def test_meters_in_the_trash_are_not_offered(org_a: OrgData, dual: Meter) -> None:
    with scopes_disabled():
        Meter.objects.filter(pk=dual.pk).update(deleted_at=datetime.datetime.now(datetime.UTC))
    assert lookup(org_a, "E-4711").lines == []
    assert [line.register.meter.number for line in lookup(org_a, "stadt-a-1").lines] == [
        "stadt-a-M1"
    ]


# --- the preview -------------------------------------------------------------------------------


def test_the_preview_shows_previous_expected_current_and_the_check(org_a: OrgData) -> None:
    found = lookup(org_a, "stadt-a-M1")
    with organisation_scope(org_a.organisation):
        [view] = preview(
            found.lines,
            {org_a.register.pk: "76700"},
            reading_date=KEY_DATE,
            today=TODAY,
        )
        assert view.current is not None
        assert view.current.value == 76440
        assert view.line.previous_value == 76414
        assert view.expected is not None
        # E = 28 × 349 / 365; the band −40 %/+70 %: 17 … 45 m³ consumption
        assert view.expected.consumption == Decimal("26.773")
        assert (view.expected.low, view.expected.high) == (Decimal(76431), Decimal(76459))
        assert view.outcome == "implausible"
        assert "mehr als dreimal so hoch" in view.messages[0]
    assert versions(org_a.register) == [(1, 76440, "online", True, False)]  # nothing stored


def _line(
    org_a: OrgData,
    *,
    previous: str = "76414",
    year: str = "28",
    digits: int = 5,
    decimals: int = 0,
    estimate: bool = False,
    previous_date: datetime.date = datetime.date(2026, 1, 16),
) -> CampaignMeter:
    with organisation_scope(org_a.organisation):
        line: CampaignMeter = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=org_a.campaign_meter.pk)
    line.previous_value = Decimal(previous)
    line.previous_year_consumption = Decimal(year)
    line.previous_was_estimate = estimate
    line.previous_date = previous_date
    line.register.meter.digits = digits
    line.register.meter.decimals = decimals
    return line


BAND_RULES = {
    "consumption.zero",
    "consumption.outside_band",
    "consumption.far_too_high",
    "consumption.far_too_low",
    "consumption.backwards",
}


def _band_warns(line: CampaignMeter, value: Decimal) -> bool:
    """Rules 3 (backwards), 4, 5 and 6 say something (an overflow past 10^digits still asks
    for its own confirmation: that is rule 3's overflow warning, not the band)."""
    result = check_value(line, value, KEY_DATE, today=TODAY)
    assert result.outcome.key != "error", result.messages()
    return bool(BAND_RULES & set(result.codes))


@pytest.mark.parametrize(
    "shape",
    [
        {},
        {"year": "2"},  # tiny E: the minimum deviation sets both edges
        {"year": "0"},  # no consumption expected: 0 is fine
        {"year": "5000", "digits": 6},  # E ≥ 1000: the narrow band
        {"estimate": True},  # previous reading was an estimate: the band widens
        {"decimals": 3, "year": "28.5"},  # a grid of 0.001
        {"previous": "99990", "year": "50"},  # the range wraps at 10^5
        {"previous_date": datetime.date(2026, 10, 1), "year": "400"},
    ],
)
def test_the_expected_range_is_exactly_where_the_engine_stops_warning(
    org_a: OrgData, shape: dict[str, Any]
) -> None:
    line = _line(org_a, **shape)
    found = expected_range(line, KEY_DATE)
    assert found is not None
    step = Decimal(1).scaleb(-line.register.meter.decimals)
    modulus = Decimal(10) ** line.register.meter.digits
    assert not _band_warns(line, found.low)
    assert not _band_warns(line, found.high)
    if found.consumption > 0:
        below = (found.low - step) % modulus
        assert _band_warns(line, below), f"{below} should warn"
    assert _band_warns(line, (found.high + step) % modulus)


def test_no_expected_range_without_the_data_for_it(org_a: OrgData) -> None:
    line = _line(org_a)
    assert expected_range(line, datetime.date(2026, 1, 1)) is None  # before the previous date
    line.previous_year_consumption = None
    assert expected_range(line, KEY_DATE) is None
    line = _line(org_a)
    line.previous_value = None
    assert expected_range(line, KEY_DATE) is None


def test_the_default_reading_date_is_the_key_date_never_in_the_future(org_a: OrgData) -> None:
    campaign = campaign_of(org_a)
    assert default_reading_date(campaign, TODAY) == KEY_DATE
    assert default_reading_date(campaign, datetime.date(2026, 12, 7)) == datetime.date(2026, 12, 7)


# --- saving ------------------------------------------------------------------------------------


def test_ht_and_nt_are_stored_together_with_source_and_the_key_date(
    org_a: OrgData, dual: Meter
) -> None:
    ids = registers_of(dual)
    stored = capture(
        org_a,
        {ids["HT"]: CaptureEntry("22900"), ids["NT"]: CaptureEntry("9150")},
        source=ReadingSource.PHONE,
    )
    assert [(int(r.value), r.source, r.reading_date, r.version) for r in stored] == [
        (22900, "phone", KEY_DATE, 1),
        (9150, "phone", KEY_DATE, 1),
    ]
    with scopes_disabled():
        actions = list(
            AuditEntry.objects.filter(object_id__in=[str(r.pk) for r in stored]).values_list(
                "action", "data__source"
            )
        )
    assert actions == [("reading.submitted", "phone"), ("reading.submitted", "phone")]


def test_a_date_before_the_key_date_when_the_key_date_is_ahead(org_a: OrgData, dual: Meter) -> None:
    """Capturing in December for a key date of 31.12.: the default date is today."""
    ids = registers_of(dual)
    today = datetime.date(2026, 12, 7)
    [stored] = capture(org_a, {ids["HT"]: CaptureEntry("22800")}, today=today)
    assert stored.reading_date == today
    [other] = capture(
        org_a,
        {ids["NT"]: CaptureEntry("9100")},
        today=today,
        reading_date=datetime.date(2026, 12, 1),
    )
    assert other.reading_date == datetime.date(2026, 12, 1)


def test_all_or_nothing_over_the_registers(org_a: OrgData, dual: Meter) -> None:
    ids = registers_of(dual)
    with pytest.raises(ReadingRefused, match="keine Zahl"):
        capture(org_a, {ids["HT"]: CaptureEntry("22900"), ids["NT"]: CaptureEntry("neun")})
    assert versions(ids["HT"]) == versions(ids["NT"]) == []


def test_two_clerks_from_the_same_screen_the_second_is_told_the_newer_value(
    org_a: OrgData, dual: Meter
) -> None:
    ids = registers_of(dual)
    capture(org_a, {ids["HT"]: CaptureEntry("22900")}, source=ReadingSource.PHONE)
    with pytest.raises(ReadingConflict, match="22900") as conflict:
        capture(org_a, {ids["HT"]: CaptureEntry("22950")})  # its screen showed no value
    assert "Telefon" in conflict.value.messages[0]
    assert versions(ids["HT"]) == [(1, 22900, "phone", True, False)]


def test_an_existing_value_is_replaced_only_after_the_explicit_choice(org_a: OrgData) -> None:
    seen = org_a.reading.pk
    register = org_a.register.pk
    with pytest.raises(ReadingRefused, match="Vorhandenen Wert ersetzen"):
        capture(org_a, {register: CaptureEntry("76450", seen=seen)})
    assert versions(register) == [(1, 76440, "online", True, False)]
    [stored] = capture(org_a, {register: CaptureEntry("76450", seen=seen, replace=True)})
    assert versions(register) == [
        (1, 76440, "online", False, False),
        (2, 76450, "letter", True, False),
    ]
    with scopes_disabled():
        assert AuditEntry.objects.get(object_id=str(stored.pk)).action == "reading.corrected"


def test_replacing_a_released_value_needs_a_note(org_a: OrgData) -> None:
    with scopes_disabled():
        Reading.objects.filter(pk=org_a.reading.pk).update(state=ReviewState.RELEASED)
    entry = CaptureEntry("76450", seen=org_a.reading.pk, replace=True)
    with pytest.raises(ReadingRefused, match="freigegeben"):
        capture(org_a, {org_a.register.pk: entry})
    [stored] = capture(org_a, {org_a.register.pk: replace(entry, note="Karte korrigiert")})
    assert stored.note == "Karte korrigiert"


@pytest.mark.parametrize(
    ("value", "entry", "source", "problem"),
    [
        ("76700", {}, ReadingSource.LETTER, "unplausibler Wert wird nur mit einem Vermerk"),
        ("76700", {"confirmed": True}, ReadingSource.LETTER, "nur mit einem Vermerk"),
        ("76464", {}, ReadingSource.PHONE, "bestätigen Sie den Hinweis"),
        ("76450", {}, ReadingSource.MANUAL_ESTIMATE, "Schätzung braucht einen Vermerk"),
    ],
)
def test_warnings_need_the_confirmation_implausible_values_and_estimates_a_note(
    org_a: OrgData, value: str, entry: dict[str, Any], source: str, problem: str
) -> None:
    shown = CaptureEntry(value, seen=org_a.reading.pk, replace=True, **entry)
    with pytest.raises(ReadingRefused, match=problem):
        capture(org_a, {org_a.register.pk: shown}, source=source)
    assert len(versions(org_a.register)) == 1
    fixed = (
        replace(shown, confirmed=True)
        if "Hinweis" in problem
        else replace(shown, note="Rückruf: stimmt")
    )
    [stored] = capture(org_a, {org_a.register.pk: fixed}, source=source)
    assert (int(stored.value), stored.source, stored.version) == (int(value), source, 2)


@pytest.mark.parametrize("source", [ReadingSource.ONLINE, ReadingSource.ESTIMATE, "fax", ""])
def test_only_a_clerks_sources(org_a: OrgData, dual: Meter, source: str) -> None:
    ids = registers_of(dual)
    with pytest.raises(ReadingRefused, match="wie der Zählerstand eingegangen ist"):
        capture(org_a, {ids["HT"]: CaptureEntry("22900")}, source=source)


def test_nothing_to_store_and_foreign_registers_are_refused(org_a: OrgData, org_b: OrgData) -> None:
    with pytest.raises(ReadingRefused, match="mindestens einen Zählerstand"):
        capture(org_a, {})
    with pytest.raises(ReadingRefused, match="gehört nicht"):
        capture(org_a, {org_b.register.pk: CaptureEntry("76450")})
    assert versions(org_b.register) == [(1, 76440, "online", True, False)]


def test_an_exported_campaign_is_refused(org_a: OrgData, dual: Meter) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(status=CampaignStatus.EXPORTED)
    ids = registers_of(dual)
    with pytest.raises(ReadingRefused, match="bereits exportiert"):
        capture(org_a, {ids["HT"]: CaptureEntry("22900")})
    assert versions(ids["HT"]) == []


# --- undo --------------------------------------------------------------------------------------


def undo(data: OrgData, reading: Reading | int, **extra: Any) -> Any:
    return do_undo_capture(
        reading if isinstance(reading, int) else reading.pk,
        organisation=data.organisation,
        actor=CLERK,
        **extra,
    )


def test_undo_stores_a_copy_of_the_version_before_it(org_a: OrgData) -> None:
    with scopes_disabled():
        Reading.objects.filter(pk=org_a.reading.pk).update(
            reason="vacancy", confirmation_reason="", note="alt"
        )
    entry = CaptureEntry("76450", seen=org_a.reading.pk, replace=True)
    [captured] = capture(org_a, {org_a.register.pk: entry})
    undone = undo(org_a, captured, campaign_id=org_a.campaign.pk)
    assert undone.restored is not None
    assert not undone.trashed
    assert versions(org_a.register) == [
        (1, 76440, "online", False, False),
        (2, 76450, "letter", False, False),
        (3, 76440, "online", True, False),
    ]
    with scopes_disabled():
        copy = Reading.objects.get(pk=undone.restored.pk)
        entry_data = AuditEntry.objects.get(action="reading.undone").data
        assert CampaignMeter.objects.get(pk=org_a.campaign_meter.pk).last_version == 3
    assert (copy.comment, copy.reason, copy.note) == ("Zähler im Keller", "vacancy", "alt")
    assert entry_data["restores"] == org_a.reading.pk
    assert entry_data["restored_version"] == 3
    assert entry_data["trashed"] is False


def test_undo_back_to_a_released_value_keeps_it_released(org_a: OrgData) -> None:
    """The clerk replaced a released value (with a note) and undoes it: the copy is the
    released value again, released as it was, so citizens still cannot change it."""
    released_at = datetime.datetime(2027, 1, 2, 9, 0, tzinfo=datetime.UTC)
    with scopes_disabled():
        Reading.objects.filter(pk=org_a.reading.pk).update(
            state=ReviewState.RELEASED, released_at=released_at
        )
    entry = CaptureEntry("76450", seen=org_a.reading.pk, replace=True, note="Karte falsch")
    [captured] = capture(org_a, {org_a.register.pk: entry})
    assert captured.state == ReviewState.SUBMITTED
    restored = undo(org_a, captured).restored
    assert (restored.state, restored.released_at, int(restored.value)) == (
        ReviewState.RELEASED,
        released_at,
        76440,
    )


def test_undo_without_a_version_before_puts_the_capture_in_the_trash(
    org_a: OrgData, dual: Meter
) -> None:
    ids = registers_of(dual)
    [captured] = capture(org_a, {ids["HT"]: CaptureEntry("22900")})
    undone = undo(org_a, captured)
    assert undone.trashed
    assert versions(ids["HT"]) == [(1, 22900, "letter", False, True)]
    with scopes_disabled():
        assert AuditEntry.objects.get(action="reading.undone").data["trashed"] is True
    # restorable from the trash: it is the register's value again
    do_restore_record("reading", captured.pk, organisation=org_a.organisation, actor=CLERK)
    assert versions(ids["HT"]) == [(1, 22900, "letter", True, False)]


def test_after_an_undo_into_the_trash_the_next_capture_is_the_next_version(
    org_a: OrgData, dual: Meter
) -> None:
    ids = registers_of(dual)
    [captured] = capture(org_a, {ids["HT"]: CaptureEntry("22900")})
    undo(org_a, captured)
    capture(org_a, {ids["HT"]: CaptureEntry("22910")})  # the screen shows no value
    assert versions(ids["HT"]) == [
        (1, 22900, "letter", False, True),
        (2, 22910, "letter", True, False),
    ]


def test_undo_copies_the_photo_of_the_version_before(org_a: OrgData) -> None:
    name = default_storage.save("photos/2026/12/original.jpg", ContentFile(b"jpeg-bytes"))
    with scopes_disabled():
        Reading.objects.filter(pk=org_a.reading.pk).update(photo=name)
    entry = CaptureEntry("76450", seen=org_a.reading.pk, replace=True)
    [captured] = capture(org_a, {org_a.register.pk: entry})
    restored = undo(org_a, captured).restored
    assert restored.photo.name != name
    with default_storage.open(restored.photo.name, "rb") as copy:
        assert copy.read() == b"jpeg-bytes"
    assert default_storage.exists(name)


def test_undo_of_a_capture_that_is_no_longer_effective_names_the_value(org_a: OrgData) -> None:
    entry = CaptureEntry("76450", seen=org_a.reading.pk, replace=True)
    [first] = capture(org_a, {org_a.register.pk: entry})
    capture(
        org_a,
        {org_a.register.pk: CaptureEntry("76452", seen=first.pk, replace=True)},
        source=ReadingSource.PHONE,
    )
    with pytest.raises(ReadingRefused, match=r"inzwischen gilt 76452 \(Telefon, 31\.12\.2026\)"):
        undo(org_a, first)
    assert len(versions(org_a.register)) == 3
    # the same undo twice: the second finds the first one's copy effective
    with scopes_disabled():
        latest = Reading.objects.get(register=org_a.register, is_effective=True)
    undo(org_a, latest)
    with pytest.raises(ReadingRefused, match=r"gilt nicht mehr: inzwischen gilt 76450"):
        undo(org_a, latest)


def test_undo_refuses_released_exported_and_citizens_readings(org_a: OrgData) -> None:
    with pytest.raises(ReadingRefused, match="Nur erfasste Zählerstände"):
        undo(org_a, org_a.reading)  # the citizen's online value
    entry = CaptureEntry("76450", seen=org_a.reading.pk, replace=True)
    [captured] = capture(org_a, {org_a.register.pk: entry})
    with scopes_disabled():
        Reading.objects.filter(pk=captured.pk).update(state=ReviewState.RELEASED)
    with pytest.raises(ReadingRefused, match="bereits freigegeben"):
        undo(org_a, captured)
    with scopes_disabled():
        Reading.objects.filter(pk=captured.pk).update(state=ReviewState.SUBMITTED)
        Campaign.objects.filter(pk=org_a.campaign.pk).update(status=CampaignStatus.EXPORTED)
    with pytest.raises(ReadingRefused, match="bereits exportiert"):
        undo(org_a, captured)
    assert len(versions(org_a.register)) == 2
    with scopes_disabled():
        assert not AuditEntry.objects.filter(action="reading.undone").exists()


def test_undo_of_an_unknown_or_foreign_reading_does_not_exist(
    org_a: OrgData, org_b: OrgData
) -> None:
    with pytest.raises(Reading.DoesNotExist):
        undo(org_a, org_b.reading)
    with pytest.raises(Reading.DoesNotExist):
        undo(org_a, 999_999)
    with scopes_disabled():
        other = Campaign.objects.create(
            organisation=org_a.organisation, name="Andere", key_date=KEY_DATE
        )
    with pytest.raises(Reading.DoesNotExist):
        undo(org_a, org_a.reading, campaign_id=other.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_clerks_saving_at_the_same_moment_one_wins_the_other_is_told(
    org_a: OrgData, round_: int
) -> None:
    """Two real connections, the same card on both screens (the citizen's value shown and
    the replace chosen): exactly one new version; the other clerk gets the conflict."""
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def save(value: str, label: str) -> None:
        try:
            with organisation_scope(org_a.organisation):
                campaign = Campaign.objects.select_related("organisation").get(pk=org_a.campaign.pk)
            barrier.wait(timeout=10)
            entry = CaptureEntry(value, seen=org_a.reading.pk, replace=True)
            do_capture_reading(
                campaign,
                {org_a.register.pk: entry},
                organisation=org_a.organisation,
                source=ReadingSource.PHONE,
                actor=Actor.system(label),
                today=TODAY,
            )
            outcomes[label] = "stored"
        except BaseException as error:  # reported below
            outcomes[label] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=("76450", "first")),
        threading.Thread(target=save, args=("76452", "second")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stored = [label for label, outcome in outcomes.items() if outcome == "stored"]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, ReadingConflict)]
    assert len(stored) == 1, outcomes
    assert len(refused) == 1, outcomes
    winner = "76450" if stored == ["first"] else "76452"
    assert f"Inzwischen wurde ein anderer Wert gespeichert: {winner}" in refused[0].messages[0]
    assert versions(org_a.register) == [
        (1, 76440, "online", False, False),
        (2, int(winner), "phone", True, False),
    ]
