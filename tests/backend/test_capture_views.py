"""The capture screen without JavaScript: look up, type, Enter; what it asks; roles.

The clock stands on 05.01.2027, after the key date 31.12.2026 of organisation A's campaign
(tests/conftest.py), so the reading date defaults to the key date.
"""

import datetime
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    MeterKind,
    Reading,
    ReadingSource,
    Register,
    Role,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.capture import CaptureEntry, do_capture_reading
from ablesung.letters.reply_card import encode
from tests.conftest import OrgData, make_member
from tests.test_isolation import assert_unchanged, snapshot

NOW = datetime.datetime(2027, 1, 5, 10, 0, tzinfo=datetime.UTC)
KEY_DATE = datetime.date(2026, 12, 31)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def dual(org_a: OrgData) -> dict[str, int]:
    """A dual-tariff meter ``E-4711`` without readings: register ids by code."""
    ids = {}
    with scopes_disabled():
        meter = Meter.objects.create(
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
            ids[code] = register.pk
    return ids


def url(data: OrgData, suffix: str = "") -> str:
    return f"/o/{data.organisation.slug}/ableseaktionen/{data.campaign.pk}/erfassung/{suffix}"


def post_values(
    client: Client, data: OrgData, number: str, values: dict[int, str], **extra: Any
) -> Any:
    """What the screen posts on Enter: the number, date, source, and per register the value
    and the id of the value it showed (``seen``)."""
    form: dict[str, str] = {
        "nummer": number,
        "datum": extra.pop("datum", "2026-12-31"),
        "quelle": extra.pop("quelle", ReadingSource.LETTER),
        "bestaetigen": "1",
    }
    seen: dict[int, int] = extra.pop("seen", {})
    for register_id, value in values.items():
        form[f"wert_{register_id}"] = value
        form[f"gesehen_{register_id}"] = str(seen.get(register_id, ""))
    form.update(extra)
    return client.post(url(data), form)


def stored(register_id: int) -> list[tuple[int, int, str, datetime.date, bool]]:
    with scopes_disabled():
        return [
            (r.version, int(r.value), r.source, r.reading_date, r.is_effective)
            for r in Reading.with_trashed.filter(register_id=register_id).order_by("version")
        ]


def autofocused(html: str) -> list[str]:
    """The name (or id) of each element with ``autofocus``."""
    found = []
    for tag in re.findall(r"<(?:input|button)[^>]*\bautofocus\b[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag) or re.search(r'id="([^"]*)"', tag)
        found.append(name.group(1) if name else tag)
    return found


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert match, f"no hidden {name}"
    return match.group(1)


# --- the no-JS flow ------------------------------------------------------------------------


def test_an_empty_screen_waits_for_a_number(client_a: Client, org_a: OrgData) -> None:
    page = client_a.get(url(org_a))
    assert page.status_code == 200
    assert autofocused(page.text) == ["nummer"]
    assert "Noch nichts erfasst." in page.text
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


def test_a_number_shows_previous_expected_current_with_the_cursor_in_the_value(
    client_a: Client, org_a: OrgData
) -> None:
    page = client_a.get(url(org_a), {"nummer": "stadt-a-M1"})
    assert page.status_code == 200
    text = page.text
    assert "76414 m³ (16.01.2026)" in text
    assert "76431 – 76459 m³" in text  # the engine's band up to the key date
    assert "76440 m³</strong> (Online (Bürger:in), 30.12.2026" in text
    assert "Vorhandenen Wert ersetzen" in text
    assert autofocused(text) == [f"wert_{org_a.register.pk}"]
    assert hidden(text, f"gesehen_{org_a.register.pk}") == str(org_a.reading.pk)
    assert 'value="2026-12-31"' in text  # the key date
    assert '<option value="letter" selected>' in text  # no source chosen yet: the reply card


def test_enter_saves_both_registers_and_the_screen_is_ready_for_the_next_card(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    page = client_a.get(url(org_a), {"nummer": "stadt-a-1"})  # the object number
    assert [f"wert_{dual['HT']}", f"wert_{dual['NT']}"] == re.findall(
        r'name="(wert_\d+)"', page.text
    )[:2]
    saved = post_values(
        client_a, org_a, "stadt-a-1", {dual["HT"]: "22900", dual["NT"]: "9150"}, quelle="phone"
    )
    assert saved.status_code == 302
    assert saved["Location"] == url(org_a)
    assert stored(dual["HT"]) == [(1, 22900, "phone", KEY_DATE, True)]
    assert stored(dual["NT"]) == [(1, 9150, "phone", KEY_DATE, True)]
    assert stored(org_a.register.pk) == [(1, 76440, "online", datetime.date(2026, 12, 30), True)]
    after = client_a.get(saved["Location"])
    assert "Gespeichert: Zähler E-4711 HT: 22900, E-4711 NT: 9150 (Telefon, 31.12.2026)." in (
        after.text
    )
    assert autofocused(after.text) == ["nummer"]
    assert after.text.count("Rückgängig<span") == 2  # the last entries, with undo
    # the source chosen last is the default of the next card
    assert '<option value="phone" selected>' in client_a.get(url(org_a), {"nummer": "E-4711"}).text


def test_a_scanned_reply_card_opens_its_meters_as_a_reply_card_and_saves(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    # the last card was a phone call: the source stays "Telefon" for numbers …
    post_values(client_a, org_a, "E-4711", {dual["NT"]: "9150"}, quelle="phone")
    code = encode("stadt-a-1", ["E-4711", "stadt-a-M1"])
    assert len(code) > 50  # longer than any meter or object number
    page = client_a.get(url(org_a), {"nummer": code})
    assert page.status_code == 200
    text = page.text
    assert "Antwortkarte: Objekt stadt-a-1" in text
    assert re.findall(r'name="(wert_\d+)"', text) == [
        f"wert_{dual['HT']}",
        f"wert_{dual['NT']}",
        f"wert_{org_a.register.pk}",
    ]
    assert autofocused(text) == [f"wert_{dual['HT']}"]
    # … but a scanned card is captured as one ("Ablesekarte", exported as K)
    assert '<option value="letter" selected>' in text
    assert hidden(text, "nummer") == code
    saved = post_values(
        client_a,
        org_a,
        code,
        {dual["HT"]: "22900", dual["NT"]: "9160"},
        seen={dual["NT"]: _effective(dual)[dual["NT"]]},
        **{f"ersetzen_{dual['NT']}": "on"},
    )
    assert saved.status_code == 302
    assert stored(dual["HT"]) == [(1, 22900, "letter", KEY_DATE, True)]
    assert stored(dual["NT"])[-1] == (2, 9160, "letter", KEY_DATE, True)


def test_a_card_that_no_longer_matches_explains_and_offers_the_rest(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    page = client_a.get(url(org_a), {"nummer": encode("stadt-a-1", ["ALT-1", "E-4711"])})
    assert page.status_code == 200
    assert "Der Zähler ALT-1 gehört nicht (mehr) zu diesem Objekt" in page.text
    assert re.findall(r'name="(wert_\d+)"', page.text) == [
        f"wert_{dual['HT']}",
        f"wert_{dual['NT']}",
    ]
    for text, message in (
        (encode("stadt-a-404", ["M-1"]), "keine Objektnummer „stadt-a-404“ gefunden"),
        (encode("stadt-b-1", ["stadt-b-M1"]), "keine Objektnummer „stadt-b-1“ gefunden"),
        ("AK1.%ZZ.M1", "Keine Zählernummer und keine Objektnummer „AK1.%ZZ.M1“"),
        ("AK1." + "9" * 4000, "Keine Zählernummer und keine Objektnummer"),  # cut short
        ("AK1." + "9" * 51 + ".M1", "Keine Zählernummer und keine Objektnummer"),
    ):
        missed = client_a.get(url(org_a), {"nummer": text})
        assert missed.status_code == 200, text
        assert message in missed.text, text
        assert "wert_" not in missed.text


def test_a_warning_is_shown_once_and_saved_with_one_confirming_key_press(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    values = {dual["HT"]: "25000", dual["NT"]: "9150"}  # HT: well above the expected ~2984 kWh
    first = post_values(client_a, org_a, "E-4711", values)
    assert first.status_code == 200
    assert "Bitte prüfen Sie den Hinweis" in first.text
    assert "Bestätigen und speichern" in first.text
    assert autofocused(first.text) == ["bestaetigen"]  # Enter confirms
    assert hidden(first.text, f"geprueft_{dual['HT']}") == "25000"
    assert stored(dual["HT"]) == stored(dual["NT"]) == []
    # Enter on the focused button posts the same values with the button's name
    checked = {f"geprueft_{dual['HT']}": "25000", f"geprueft_{dual['NT']}": "9150"}
    confirmed = post_values(client_a, org_a, "E-4711", values, **checked)
    assert confirmed.status_code == 302
    assert [row[1] for row in stored(dual["HT"])] == [25000]
    with scopes_disabled():
        assert Reading.objects.get(register_id=dual["HT"]).outcome == "warning"


def _form(data: OrgData, number: str, values: dict[int, str], **extra: str) -> dict[str, str]:
    form = {"nummer": number, "datum": "2026-12-31", "quelle": "letter", "bestaetigen": "1"}
    for register_id, value in values.items():
        form[f"wert_{register_id}"] = value
        form[f"gesehen_{register_id}"] = ""
    form.update(extra)
    return form


def test_a_warning_is_not_confirmed_without_the_button(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    form = _form(org_a, "E-4711", {dual["HT"]: "25000"}, **{f"geprueft_{dual['HT']}": "25000"})
    del form["bestaetigen"]
    refused = client_a.post(url(org_a), form)
    assert refused.status_code == 400  # asked before for this very value
    assert "Bitte prüfen Sie den Hinweis" in refused.text
    assert stored(dual["HT"]) == []


def test_a_changed_value_is_checked_again_instead_of_confirmed(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    """The warning was shown for 25000; the clerk types 25100 and presses Enter."""
    changed = post_values(
        client_a, org_a, "E-4711", {dual["HT"]: "25100"}, **{f"geprueft_{dual['HT']}": "25000"}
    )
    assert changed.status_code == 200
    assert hidden(changed.text, f"geprueft_{dual['HT']}") == "25100"
    assert stored(dual["HT"]) == []


def test_an_implausible_value_asks_for_a_note_and_is_saved_with_it(
    client_a: Client, org_a: OrgData
) -> None:
    register = org_a.register.pk
    seen = {register: org_a.reading.pk}
    choice = {f"ersetzen_{register}": "on"}
    first = post_values(client_a, org_a, "stadt-a-M1", {register: "76700"}, seen=seen, **choice)
    assert first.status_code == 200
    assert "Der Wert ist unplausibel. Stimmt er, speichern Sie ihn mit einem Vermerk" in first.text
    assert autofocused(first.text) == [f"vermerk_{register}"]
    checked = {f"geprueft_{register}": "76700", **choice}
    without = post_values(client_a, org_a, "stadt-a-M1", {register: "76700"}, seen=seen, **checked)
    assert without.status_code == 400
    assert len(stored(register)) == 1
    note = {f"vermerk_{register}": "Rückruf: Pool befüllt"}
    saved = post_values(
        client_a, org_a, "stadt-a-M1", {register: "76700"}, seen=seen, **checked, **note
    )
    assert saved.status_code == 302
    with scopes_disabled():
        reading = Reading.objects.get(register_id=register, is_effective=True)
    assert (reading.value, reading.note, reading.outcome) == (
        76700,
        "Rückruf: Pool befüllt",
        "implausible",
    )


def test_an_existing_value_is_replaced_only_when_the_clerk_chooses_so(
    client_a: Client, org_a: OrgData
) -> None:
    register = org_a.register.pk
    seen = {register: org_a.reading.pk}
    asked = post_values(client_a, org_a, "stadt-a-M1", {register: "76450"}, seen=seen)
    assert asked.status_code == 200
    assert "hat bereits einen Wert" in asked.text
    assert autofocused(asked.text) == [f"ersetzen_{register}"]
    assert len(stored(register)) == 1
    replaced = post_values(
        client_a,
        org_a,
        "stadt-a-M1",
        {register: "76450"},
        seen=seen,
        **{f"ersetzen_{register}": "on"},
    )
    assert replaced.status_code == 302
    assert [(v, value, effective) for v, value, _s, _d, effective in stored(register)] == [
        (1, 76440, False),
        (2, 76450, True),
    ]


def test_a_value_stored_by_someone_else_in_between_is_a_conflict_naming_it(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    """Two clerks had the same card on screen (no value yet); the other one saved first."""
    do_capture_reading(
        org_a.campaign,
        {dual["HT"]: CaptureEntry("22950")},
        organisation=org_a.organisation,
        source=ReadingSource.PHONE,
        actor=Actor.system("other clerk"),
    )
    conflict = post_values(client_a, org_a, "E-4711", {dual["HT"]: "22900"})
    assert conflict.status_code == 409
    assert "Inzwischen wurde ein anderer Wert gespeichert: 22950 (Telefon, 31.12.2026)" in (
        conflict.text
    )
    assert [row[1] for row in stored(dual["HT"])] == [22950]
    with scopes_disabled():
        newer = Reading.objects.get(register_id=dual["HT"])
    # the screen now shows the newer value; replacing it is the clerk's explicit choice
    assert hidden(conflict.text, f"gesehen_{dual['HT']}") == str(newer.pk)
    assert f'name="ersetzen_{dual["HT"]}" value="on" checked' not in conflict.text


def test_the_replace_choice_does_not_carry_over_to_a_newer_value(
    client_a: Client, org_a: OrgData
) -> None:
    """The clerk chose to replace the citizen's 76440; meanwhile a colleague stored 76445."""
    register = org_a.register.pk
    do_capture_reading(
        org_a.campaign,
        {register: CaptureEntry("76445", seen=org_a.reading.pk, replace=True)},
        organisation=org_a.organisation,
        source=ReadingSource.PHONE,
        actor=Actor.system("other clerk"),
    )
    conflict = post_values(
        client_a,
        org_a,
        "stadt-a-M1",
        {register: "76450"},
        seen={register: org_a.reading.pk},
        **{f"ersetzen_{register}": "on"},
    )
    assert conflict.status_code == 409
    assert "76445 (Telefon" in conflict.text
    assert [row[1] for row in stored(register)] == [76440, 76445]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datum": "32.13.2026"}, "Bitte geben Sie ein gültiges Datum an"),
        ({"datum": ""}, "Bitte geben Sie das Ablesedatum an."),
        ({"quelle": "online"}, "Bitte wählen Sie, wie der Zählerstand eingegangen ist."),
        ({"wert": "zwölf"}, "keine Zahl"),
        ({"wert": "-5"}, "negativ"),
        ({"wert": ""}, "Bitte geben Sie mindestens einen Zählerstand ein."),
        ({"wert": "1" * 40}, "höchstens 30 Zeichen"),
        ({"datum": "2027-02-01"}, "in der Zukunft"),
        ({"nummer": "gibt-es-nicht"}, "Keine Zählernummer und keine Objektnummer"),
        ({"vermerk": "x" * 501}, "Der Vermerk darf höchstens 500 Zeichen lang sein."),
    ],
)
def test_bad_input_is_a_400_with_a_german_message_and_changes_nothing(
    client_a: Client, org_a: OrgData, dual: dict[str, int], change: dict[str, str], message: str
) -> None:
    form = _form(org_a, "E-4711", {dual["HT"]: "22900"})
    if "wert" in change:
        form[f"wert_{dual['HT']}"] = change.pop("wert")
    if "vermerk" in change:
        form[f"vermerk_{dual['HT']}"] = change.pop("vermerk")
    form.update(change)
    before = snapshot()
    response = client_a.post(url(org_a), form)
    assert response.status_code == 400
    assert message in response.text
    assert_unchanged(before)


def test_an_exported_campaign_shows_why_and_refuses_to_store(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(status=CampaignStatus.EXPORTED)
    page = client_a.get(url(org_a), {"nummer": "E-4711"})
    assert page.status_code == 200
    assert "bereits exportiert; Zählerstände können nicht mehr erfasst werden" in page.text
    assert 'name="wert_' not in page.text
    refused = post_values(client_a, org_a, "E-4711", {dual["HT"]: "22900"})
    assert refused.status_code == 400
    assert "bereits exportiert" in refused.text
    assert stored(dual["HT"]) == []


# --- undo ----------------------------------------------------------------------------------------


def test_undo_from_the_list_stores_a_new_version(client_a: Client, org_a: OrgData) -> None:
    register = org_a.register.pk
    post_values(
        client_a,
        org_a,
        "stadt-a-M1",
        {register: "76450"},
        seen={register: org_a.reading.pk},
        **{f"ersetzen_{register}": "on"},
    )
    with scopes_disabled():
        captured = Reading.objects.get(register_id=register, is_effective=True)
    page = client_a.get(url(org_a))
    undo_url = url(org_a, f"{captured.pk}/rueckgaengig/")
    assert f'action="{undo_url}"' in page.text
    undone = client_a.post(undo_url)
    assert undone.status_code == 302
    assert [(v, value, effective) for v, value, _s, _d, effective in stored(register)] == [
        (1, 76440, False),
        (2, 76450, False),
        (3, 76440, True),
    ]
    after = client_a.get(url(org_a))
    assert "Für Zähler stadt-a-M1 gilt wieder 76440 (Online (Bürger:in), 30.12.2026)" in after.text
    assert "nicht mehr gültig" in after.text
    assert f'action="{undo_url}"' not in after.text  # no second undo offered
    again = client_a.post(undo_url, follow=True)
    assert "Diese Erfassung gilt nicht mehr" in again.text
    assert len(stored(register)) == 3


def test_undo_of_a_first_capture_moves_it_to_the_trash(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    post_values(client_a, org_a, "E-4711", {dual["HT"]: "22900"})
    with scopes_disabled():
        captured = Reading.objects.get(register_id=dual["HT"])
    page = client_a.post(url(org_a, f"{captured.pk}/rueckgaengig/"), follow=True)
    assert "liegt im Papierkorb; das Zählwerk hat wieder keinen Wert" in page.text
    assert "rückgängig gemacht (Papierkorb)" in page.text
    with scopes_disabled():
        assert Reading.with_trashed.get(pk=captured.pk).deleted_at is not None
        assert AuditEntry.objects.filter(action="reading.undone").count() == 1


# --- htmx: the check while typing -------------------------------------------------------------


def test_the_check_while_typing_stores_nothing(client_a: Client, org_a: OrgData) -> None:
    register = org_a.register.pk
    check = url(org_a, "pruefen/")
    before = snapshot()
    warning = client_a.get(
        check, {"zaehlwerk": str(register), f"wert_{register}": "76470", "datum": "2026-12-31"}
    )
    assert warning.status_code == 200
    assert "Hinweis" in warning.text
    assert "fragt die Erfassung nach einer Bestätigung" in warning.text
    ok = client_a.get(check, {"zaehlwerk": str(register), f"wert_{register}": "76450"})
    assert "Der Wert ist plausibel." in ok.text
    assert client_a.get(check).text == ""
    assert client_a.get(check, {"zaehlwerk": "x"}).text == ""
    assert_unchanged(before)


def test_the_check_of_a_register_outside_the_campaign_is_404(
    client_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    response = client_a.get(url(org_a, "pruefen/"), {"zaehlwerk": org_b.register.pk})
    assert response.status_code == 404


def test_the_value_fields_check_while_typing_with_htmx(client_a: Client, org_a: OrgData) -> None:
    page = client_a.get(url(org_a), {"nummer": "stadt-a-M1"})
    register = org_a.register.pk
    assert f'hx-get="{url(org_a, "pruefen/")}?zaehlwerk={register}"' in page.text
    assert f'hx-target="#pruefung-{register}"' in page.text
    assert f'id="pruefung-{register}" class="capture-check" aria-live="polite"' in page.text


# --- roles --------------------------------------------------------------------------------------


def test_a_viewer_looks_up_read_only_and_cannot_save_or_undo(
    org_a: OrgData, dual: dict[str, int]
) -> None:
    viewer = Client()
    viewer.force_login(make_member(org_a.organisation, "viewer@stadt-a.example", Role.VIEWER))
    page = viewer.get(url(org_a), {"nummer": "E-4711"})
    assert page.status_code == 200
    assert "20000 kWh (02.01.2026)" in page.text
    assert "Zählerstände erfassen nur Mitarbeitende mit dem Recht zur Erfassung" in page.text
    assert f'<form method="post" action="{url(org_a)}"' not in page.text
    assert 'name="wert_' not in page.text
    before = snapshot()
    assert post_values(viewer, org_a, "E-4711", {dual["HT"]: "22900"}).status_code == 403
    assert viewer.post(url(org_a, f"{org_a.reading.pk}/rueckgaengig/")).status_code == 403
    assert_unchanged(before)


@pytest.mark.parametrize("role", [Role.CLERK, Role.ADMIN])
def test_clerks_and_admins_capture(org_a: OrgData, dual: dict[str, int], role: str) -> None:
    client = Client()
    client.force_login(make_member(org_a.organisation, f"{role}@stadt-a.example", role))
    assert post_values(client, org_a, "E-4711", {dual["HT"]: "22900"}).status_code == 302
    assert [row[1] for row in stored(dual["HT"])] == [22900]


def test_another_organisations_campaign_and_readings_are_404(
    client_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    slug = org_a.organisation.slug
    before = snapshot()
    assert (
        client_a.get(f"/o/{slug}/ableseaktionen/{org_b.campaign.pk}/erfassung/").status_code == 404
    )
    foreign_undo = (
        f"/o/{slug}/ableseaktionen/{org_a.campaign.pk}/erfassung/{org_b.reading.pk}/rueckgaengig/"
    )
    assert client_a.post(foreign_undo).status_code == 404
    # organisation B's meter number is not found in A's campaign
    page = client_a.get(url(org_a), {"nummer": org_b.meter.number})
    assert "Keine Zählernummer und keine Objektnummer" in page.text
    assert_unchanged(before)


# --- the session --------------------------------------------------------------------------------


def test_the_list_keeps_the_last_twenty_entries(client_a: Client, org_a: OrgData) -> None:
    with scopes_disabled():
        meters = []
        for index in range(22):
            meter = Meter.objects.create(
                organisation=org_a.organisation, property=org_a.property, number=f"W-{index:02d}"
            )
            register = Register.objects.create(organisation=org_a.organisation, meter=meter)
            CampaignMeter.objects.create(
                organisation=org_a.organisation, campaign=org_a.campaign, register=register
            )
            meters.append((meter.number, register.pk))
    for number, register_id in meters:
        assert post_values(client_a, org_a, number, {register_id: "100"}).status_code == 302
    page = client_a.get(url(org_a)).text.split('id="zuletzt"')[1]  # the list, not the messages
    assert page.count('class="capture-recent__item') == 20
    assert "Zähler W-21:" in page
    assert "Zähler W-01:" not in page
    with organisation_scope(org_a.organisation):
        assert Reading.objects.filter(source=ReadingSource.LETTER).count() == 22


def test_the_check_while_typing_does_not_write_the_session(
    client_a: Client, org_a: OrgData, dual: dict[str, int]
) -> None:
    """A check can still be running when Enter has saved the card; sessions are saved
    whole, so a check that saved its (older) copy would drop the entry just listed."""
    client_a.get(url(org_a))
    listed_at = client_a.session["_last_seen"]
    with time_machine.travel(NOW + datetime.timedelta(minutes=1), tick=False):
        check = client_a.get(
            url(org_a, "pruefen/"), {"zaehlwerk": str(dual["HT"]), f"wert_{dual['HT']}": "1"}
        )
        assert check.status_code == 200
        assert client_a.session["_last_seen"] == listed_at
        client_a.get(url(org_a))  # a page does refresh the idle timer
        assert client_a.session["_last_seen"] > listed_at


def test_looking_up_and_saving_take_few_queries_whatever_the_number_of_registers(
    client_a: Client, org_a: OrgData, dual: dict[str, int], django_assert_max_num_queries: Any
) -> None:
    """A card is two requests and a redirect; reading them does not grow with the registers
    of the property (one meter here, three registers on the object number)."""
    post_values(client_a, org_a, "E-4711", {dual["NT"]: "9150"})  # a last entry to list
    for number in ("stadt-a-M1", "stadt-a-1", encode("stadt-a-1", ["E-4711", "stadt-a-M1"])):
        with django_assert_max_num_queries(13):
            assert client_a.get(url(org_a), {"nummer": number}).status_code == 200
    for values in ({dual["HT"]: "22900"}, {dual["HT"]: "22910", dual["NT"]: "9160"}):
        seen = {} if len(values) == 1 else _effective(dual)
        form = {f"ersetzen_{register_id}": "on" for register_id in seen}
        # the readings service writes at most four rows per register (line, old and new
        # version, audit entry); everything else is fixed
        with django_assert_max_num_queries(14 + 4 * len(values)):
            saved = post_values(client_a, org_a, "E-4711", values, seen=seen, **form)
            assert saved.status_code == 302
    with django_assert_max_num_queries(9):
        assert client_a.get(url(org_a)).status_code == 200


def _effective(registers: dict[str, int]) -> dict[int, int]:
    with scopes_disabled():
        return {
            reading.register_id: reading.pk
            for reading in Reading.objects.filter(
                register_id__in=registers.values(), is_effective=True
            )
        }
