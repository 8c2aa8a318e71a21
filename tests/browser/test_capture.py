"""Capture (Erfassung) in Chromium, by keyboard alone: scanning = typing the number + Enter.

The campaign comes from a real meter list through ``ablesung import_meters`` into an
organisation of its own (``erfassungstal``, its own admin), so the shared organisations of
the other browser tests stay as they are. Its key date lies three days back: the reading
date defaults to it, not to today. Every page is checked with axe-core (no serious or
critical violation) at 1280 px and 360 px, and for horizontal scrolling at 360 px.
"""

import csv
import datetime
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.checks import assert_accessible, assert_no_horizontal_scroll, screenshot
from tests.browser.conftest import HttpsServer, new_context, run_command

pytestmark = pytest.mark.browser

SLUG = "erfassungstal"
EMAIL = "erfassung@example.org"
CAMPAIGN = "Erfassung 2026 (Browsertest)"
CARDS = 48  # meters with one register, one reply card each
PREVIOUS = 1000  # meter i: previous reading 1000 + i, previous-year consumption 100
CONSUMPTION = 100
PAIR_OBJECT = "8-000049-001"  # a property with two meters: one card, two readings
EXTRA = {"implausible": 60, "warning": 61, "undo": 62, "nojs": 63, "small": 64}


@dataclass(frozen=True)
class CaptureSite:
    password: str
    campaign_id: int
    key_date: datetime.date

    @property
    def path(self) -> str:
        return f"/o/{SLUG}/ableseaktionen/{self.campaign_id}/erfassung/"


def meter_number(index: int) -> str:
    return f"5100{index:04d}"


def previous(index: int) -> int:
    return PREVIOUS + index


def write_meter_list(path: Path, key_date: datetime.date) -> None:
    """The billing system's list (FINANZ+ standard, Windows-1252)."""
    last = (key_date - datetime.timedelta(days=365)).strftime("%d.%m.%Y")
    header = [
        "Objektnummer",
        "Kassenzeichen",
        "Name",
        "Vorname",
        "Straße",
        "Hausnummer",
        "PLZ",
        "Ort",
        "Zählernummer",
        "Zählerart",
        "Stellen",
        "Ablesedatum alt",
        "Zählerstand alt",
        "Vorjahresverbrauch",
    ]
    rows = []
    indexes = [*range(1, CARDS + 1), 49, 50, *EXTRA.values()]
    for index in indexes:
        house = 49 if index in (49, 50) else index  # 49 and 50: one property
        object_number = PAIR_OBJECT if house == 49 else f"8-{index:06d}-001"
        customer = f"80.{house:09d}"
        rows.append(
            [
                object_number,
                customer,
                "Schäfer",
                "Jürgen",
                "Lindenstraße",
                str(house),
                "09111",
                "Erfassungstal",
                meter_number(index),
                "Hauptwasserzähler",
                "5",
                last,
                str(previous(index)),
                str(CONSUMPTION),
            ]
        )
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)


def django_json(https_server: HttpsServer, code: str) -> object:
    """Runs ``code`` in ``ablesung shell`` on the server's database; it prints one JSON line."""
    prelude = (
        "import json\n"
        "from django_scopes import scopes_disabled\n"
        "from ablesung.core.models import Reading, Campaign\n"
    )
    output = run_command(https_server.env, "shell", "-c", prelude + code)
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def site(https_server: HttpsServer, tmp_path_factory: pytest.TempPathFactory) -> CaptureSite:
    created = run_command(
        https_server.env,
        "create_organisation",
        SLUG,
        "--name",
        "Wasserverband Erfassungstal",
        "--admin-email",
        EMAIL,
    )
    match = re.search(r"Passwort: (\S+)", created)
    assert match, created
    key_date = datetime.date.today() - datetime.timedelta(days=3)
    meter_list = tmp_path_factory.mktemp("capture") / "zaehler.csv"
    write_meter_list(meter_list, key_date)
    run_command(
        https_server.env,
        "import_meters",
        "--organisation",
        SLUG,
        "--campaign",
        CAMPAIGN,
        "--key-date",
        key_date.isoformat(),
        str(meter_list),
    )
    campaign_id = django_json(
        https_server,
        "with scopes_disabled():\n"
        f"    print(json.dumps(Campaign.objects.get(name={CAMPAIGN!r}).pk))\n",
    )
    assert isinstance(campaign_id, int)
    return CaptureSite(match.group(1), campaign_id, key_date)


def readings_of(
    https_server: HttpsServer, site: CaptureSite, numbers: list[str]
) -> list[dict[str, Any]]:
    """Every version of these meters' readings in the campaign, by meter and version."""
    code = (
        "with scopes_disabled():\n"
        "    rows = Reading.with_trashed.filter(\n"
        f"        campaign_id={site.campaign_id}, register__meter__number__in={numbers!r}\n"
        "    ).order_by('register__meter__number', 'version')\n"
        "    print(json.dumps([{'meter': r.register.meter.number, 'version': r.version,\n"
        "        'value': int(r.value), 'source': r.source, 'date': r.reading_date.isoformat(),\n"
        "        'effective': r.is_effective, 'note': r.note, 'outcome': r.outcome,\n"
        "        'trashed': r.deleted_at is not None} for r in rows]))\n"
    )
    found = django_json(https_server, code)
    assert isinstance(found, list)
    return found


def log_in(page: Page, site: CaptureSite) -> None:
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort", exact=True).fill(site.password)
    page.get_by_label("Passwort", exact=True).press("Enter")
    page.wait_for_url(re.compile(rf"/o/{SLUG}/$"))


@pytest.fixture
def desk(browser: Browser, https_server: HttpsServer, site: CaptureSite) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, site)
    yield page
    context.close()


def number_field(page: Page) -> Locator:
    return page.get_by_label("Zähler- oder Objektnummer")


def value_field(page: Page, meter: str | None = None) -> Locator:
    fields = page.locator("input.capture-value")
    if meter is None:
        return fields.first
    return page.get_by_role("group", name=re.compile(f"Zähler {meter}")).locator(
        "input.capture-value"
    )


def scan(page: Page, number: str) -> None:
    """The scanner types the number and Enter into the focused number field."""
    expect(number_field(page)).to_be_focused()
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    expect(value_field(page)).to_be_focused()


def saved(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text="Gespeichert:")).to_contain_text(text)
    expect(number_field(page)).to_be_focused()


def check(page: Page, axe_source: str, name: str, where: str) -> None:
    screenshot(page, name)
    viewport = page.viewport_size
    if viewport is not None and viewport["width"] <= 360:
        assert_no_horizontal_scroll(page, where)
    assert_accessible(page, axe_source, where)


def tab_to(page: Page, predicate: str, limit: int = 12) -> None:
    """Tab until ``predicate`` (a JS expression over ``el``) holds for the focused element."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {predicate}; }})()"):
            return
    pytest.fail(f"Tab never reached {predicate}")


def test_fifty_readings_by_keyboard_alone(
    desk: Page, https_server: HttpsServer, site: CaptureSite, axe_source: str
) -> None:
    page = desk
    page.goto(site.path)
    check(page, axe_source, "capture-empty-1280", "the empty capture screen")

    # the first card: the phone; the source is chosen once, by keyboard
    scan(page, meter_number(1))
    expect(page.get_by_text(f"{previous(1)} m³")).to_be_visible()
    check(page, axe_source, "capture-found-1280", "a meter found")
    page.keyboard.type(str(previous(1) + CONSUMPTION))
    tab_to(page, "el.name === 'quelle'")
    page.keyboard.type("Telefon")
    assert page.evaluate("document.activeElement.value") == "phone"
    tab_to(page, "el.name === 'bestaetigen'")
    page.keyboard.press("Enter")
    saved(page, meter_number(1))

    # the next cards: number + Enter, value + Enter; the source stays "Telefon"
    for index in range(2, CARDS + 1):
        scan(page, meter_number(index))
        expect(page.get_by_label("Quelle")).to_have_value("phone")
        page.keyboard.type(str(previous(index) + CONSUMPTION))
        page.keyboard.press("Enter")
        saved(page, meter_number(index))

    # a reply card with the object number: both meters of the property, one after the other
    scan(page, PAIR_OBJECT)
    expect(page.locator("input.capture-value")).to_have_count(2)
    page.keyboard.type(str(previous(49) + CONSUMPTION))
    page.keyboard.press("Tab")
    expect(value_field(page, meter_number(50))).to_be_focused()
    page.keyboard.type(str(previous(50) + CONSUMPTION))
    page.keyboard.press("Enter")
    saved(page, meter_number(50))
    check(page, axe_source, "capture-recent-1280", "the list of the last entries")
    recent = page.get_by_role("complementary", name="Zuletzt erfasst").get_by_role("listitem")
    expected = [meter_number(index) for index in (49, 50, *range(CARDS, CARDS - 18, -1))]
    expect(recent).to_have_count(20)
    for item, number in zip(recent.all(), expected, strict=True):
        expect(item).to_contain_text(f"Zähler {number}:")

    numbers = [meter_number(index) for index in range(1, 51)]
    stored = readings_of(https_server, site, numbers)
    assert len(stored) == 50
    assert {row["meter"] for row in stored} == set(numbers)
    for row in stored:
        index = numbers.index(row["meter"]) + 1
        assert row["value"] == previous(index) + CONSUMPTION, row
        assert (row["source"], row["date"], row["version"]) == (
            "phone",
            site.key_date.isoformat(),
            1,
        ), row
        assert row["outcome"] == "ok", row


def test_an_implausible_value_needs_a_note_and_a_warning_one_key_press(
    desk: Page, https_server: HttpsServer, site: CaptureSite, axe_source: str
) -> None:
    page = desk
    page.goto(site.path)
    implausible = meter_number(EXTRA["implausible"])
    scan(page, implausible)
    page.keyboard.type(str(previous(EXTRA["implausible"]) + 10 * CONSUMPTION))
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Der Wert ist unplausibel")
    note = page.get_by_label("Vermerk")
    expect(note).to_be_focused()
    check(page, axe_source, "capture-implausible-1280", "an implausible value")
    page.keyboard.press("Enter")  # without a note
    expect(page.get_by_role("alert")).to_contain_text("Vermerk")
    expect(note).to_be_focused()
    assert readings_of(https_server, site, [implausible]) == []
    page.keyboard.type("Rückruf: Pool befüllt")
    page.keyboard.press("Enter")
    saved(page, implausible)
    [row] = readings_of(https_server, site, [implausible])
    assert (row["outcome"], row["note"]) == ("implausible", "Rückruf: Pool befüllt")

    warning = meter_number(EXTRA["warning"])
    scan(page, warning)
    page.keyboard.type(str(previous(EXTRA["warning"]) + 2 * CONSUMPTION))
    # htmx: the check appears while the clerk pauses, before anything is saved
    expect(page.locator(".capture-check")).to_contain_text(
        "Beim Speichern fragt die Erfassung nach einer Bestätigung."
    )
    expect(value_field(page)).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("button", name="Bestätigen und speichern")
    expect(confirm).to_be_focused()
    assert readings_of(https_server, site, [warning]) == []
    check(page, axe_source, "capture-warning-1280", "a warning to confirm")
    page.keyboard.press("Enter")  # the one confirming key press
    saved(page, warning)
    [row] = readings_of(https_server, site, [warning])
    assert row["outcome"] == "warning"


def test_undo_stores_a_new_version(
    desk: Page, https_server: HttpsServer, site: CaptureSite
) -> None:
    page = desk
    page.goto(site.path)
    meter = meter_number(EXTRA["undo"])
    first, second = previous(EXTRA["undo"]) + CONSUMPTION, previous(EXTRA["undo"]) + 90
    scan(page, meter)
    page.keyboard.type(str(first))
    page.keyboard.press("Enter")
    saved(page, meter)
    # the card again, with another value: replacing needs the explicit choice
    scan(page, meter)
    expect(page.get_by_text(f"{first} m³", exact=False).first).to_be_visible()
    page.keyboard.type(str(second))
    page.keyboard.press("Enter")
    replace = page.get_by_label("Vorhandenen Wert ersetzen")
    expect(replace).to_be_focused()
    page.keyboard.press("Space")
    expect(replace).to_be_checked()
    page.keyboard.press("Tab")
    expect(value_field(page)).to_be_focused()
    page.keyboard.press("Enter")
    saved(page, meter)
    # undo the second capture from the list, by keyboard
    tab_to(page, f"el.textContent.includes('Rückgängig') && el.textContent.includes('{second}')")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Rückgängig gemacht")).to_contain_text(
        f"gilt wieder {first}"
    )
    versions = [
        (row["version"], row["value"], row["effective"])
        for row in readings_of(https_server, site, [meter])
    ]
    assert versions == [(1, first, False), (2, second, False), (3, first, True)]


def test_capture_works_without_javascript(
    browser: Browser, https_server: HttpsServer, site: CaptureSite, axe_source: str
) -> None:
    context = new_context(
        browser, https_server, viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        log_in(page, site)
        page.goto(site.path)
        meter = meter_number(EXTRA["nojs"])
        scan(page, meter)
        page.keyboard.type(str(previous(EXTRA["nojs"]) + CONSUMPTION))
        page.keyboard.press("Enter")
        saved(page, meter)
        [row] = readings_of(https_server, site, [meter])
        assert row["source"] == "letter"  # a new session: the reply card
    finally:
        context.close()


def test_the_screen_on_a_phone(
    browser: Browser, https_server: HttpsServer, site: CaptureSite, axe_source: str
) -> None:
    context = new_context(browser, https_server, viewport={"width": 360, "height": 640})
    page = context.new_page()
    try:
        log_in(page, site)
        page.goto(site.path)
        check(page, axe_source, "capture-empty-360", "the empty capture screen on a phone")
        meter = meter_number(EXTRA["small"])
        scan(page, meter)
        check(page, axe_source, "capture-found-360", "a meter found on a phone")
        page.keyboard.type(str(previous(EXTRA["small"]) + 2 * CONSUMPTION))
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="Bestätigen und speichern")).to_be_focused()
        check(page, axe_source, "capture-warning-360", "a warning on a phone")
        page.keyboard.press("Enter")
        saved(page, meter)
        check(page, axe_source, "capture-recent-360", "the last entries on a phone")
    finally:
        context.close()
