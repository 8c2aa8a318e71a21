"""The meter list and the property page in Chromium: keyboard only, without JavaScript,
axe-core at 1280 and 360 px.

A town of its own (organisation ``suchstadt`` with its own admin, so that the other browser
tests never see it): a meter list through the real ``import_meters`` command, then readings
of mixed outcome, a corrected version with a photo and a citizen message
(``SEED``, run with ``ablesung shell``).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.checks import assert_accessible, assert_no_horizontal_scroll, screenshot
from tests.browser.conftest import HttpsServer, new_context, run_command

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}
HEADER = (
    "Objektnummer;Kassenzeichen;Name;Vorname;Straße;Hausnummer;PLZ;Ort;Zählernummer;"
    "Zählerart;Stellen;Ablesedatum alt;Zählerstand alt;Vorjahresverbrauch;"
    "Ablesedatum neu;Zählerstand neu;Ableseart;Bemerkung"
)
OWNERS = [("Müller", "Jörg"), ("Weiß", "Anna"), ("Schäfer", "René"), ("Öztürk", "Elif")]
STREETS = ["Gartenstraße", "Am Mühlbach", "Straße der Einheit", "Lindenallee"]
SEED = """
import datetime
from decimal import Decimal
from django.core.files.base import ContentFile
from ablesung.core.models import CampaignMeter, CitizenMessage, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import Submission, do_record_reading
org = Organisation.objects.get(slug="suchstadt")
import io
from PIL import Image
jpeg = io.BytesIO()
Image.new("RGB", (80, 60), (180, 190, 200)).save(jpeg, "JPEG")
actor = Actor.system("browsertest")
with organisation_scope(org):
    lines = list(
        CampaignMeter.objects.select_related("campaign__organisation", "register__meter")
        .order_by("register__meter__number")
    )
for index, line in enumerate(lines[:40]):
    value = ["1100", "1180", "1500"][index % 3]  # plausible, warning, implausible
    do_record_reading(
        line,
        Submission(value, line.campaign.key_date, confirmed=True, note="geprüft am Telefon"),
        source="phone" if index % 2 else "letter",
        actor=actor,
        photo=jpeg.getvalue() if index == 0 else None,
        today=line.campaign.key_date,
    )
do_record_reading(
    lines[0],
    Submission("1101", lines[0].campaign.key_date, comment="Korrektur"),
    source="in_person",
    actor=actor,
    today=lines[0].campaign.key_date,
)
with organisation_scope(org):
    CitizenMessage.objects.create(
        organisation=org,
        campaign=lines[0].campaign,
        property=lines[0].register.meter.property,
        reason="meter_defect",
        text="Der Zähler ist schwer abzulesen.",
    )
print("seeded")
"""


@dataclass(frozen=True)
class Town:
    email: str
    password: str


def meter_list(path: Path) -> Path:
    lines = [HEADER]
    for number in range(120):  # two meters per property
        prop = number // 2
        last, first = OWNERS[prop % 4]
        lines.append(
            f"8-{prop:04d};80.{prop:06d};{last};{first};{STREETS[prop % 4]};{prop % 20 + 1};"
            f"09111;Suchstadt;S-{number:05d};"
            f"{'Gartenwasserzähler' if number % 2 else 'Hauptwasserzähler'};5;"
            "31.12.2025;1000;100;;;;"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


@pytest.fixture(scope="module")
def town(https_server: HttpsServer, tmp_path_factory: pytest.TempPathFactory) -> Town:
    env = https_server.env
    email = "suche@suchstadt.example"
    created = run_command(
        env, "create_organisation", "suchstadt", "--name", "Suchstadt", "--admin-email", email
    )
    match = re.search(r"Passwort: (\S+)", created)
    assert match, created
    listing = meter_list(tmp_path_factory.mktemp("suche") / "zaehler.csv")
    run_command(
        env,
        "import_meters",
        "--organisation",
        "suchstadt",
        "--campaign",
        "Ablesung 2026",
        "--key-date",
        "2026-12-31",
        str(listing),
    )
    assert "seeded" in run_command(env, "shell", "-c", SEED)
    return Town(email, match.group(1))


def log_in(page: Page, town: Town) -> None:
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(town.email)
    page.get_by_label("Passwort", exact=True).fill(town.password)
    page.get_by_label("Passwort", exact=True).press("Enter")
    page.wait_for_load_state()
    assert "/konto/anmelden/" not in page.url
    page.goto("/o/suchstadt/")


def rows(page: Page) -> list[str]:
    return [text.split()[0] for text in page.locator("tbody th[scope=row]").all_inner_texts()]


@pytest.fixture
def js_off_page(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport=DESKTOP, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_search_and_property_page_by_keyboard(page: Page, town: Town, axe_source: str) -> None:
    log_in(page, town)
    page.get_by_role("navigation", name="Verwaltung").get_by_role(
        "link", name="Zähler", exact=True
    ).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zähler und Objekte")
    search = page.get_by_role("searchbox", name="Suche")
    search.focus()
    page.keyboard.type("weiss a")  # finds "Weiß, Anna": ß typed as ss, lower case
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=weiss"))
    found = rows(page)
    assert found
    assert all(number.startswith("S-") for number in found)
    expect(page.locator("tbody")).to_contain_text("Weiß, Anna")
    expect(page.locator("tbody")).not_to_contain_text("Müller")
    assert_accessible(page, axe_source, "the meter list with a search")
    screenshot(page, "search-list-1280")
    # the first row's property page, by keyboard
    page.locator("tbody a.kern-link").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Objekt 8-")
    expect(page.get_by_role("heading", name="Protokoll")).to_be_visible()
    assert_accessible(page, axe_source, "the property page")


def test_filters_sorting_and_pages_work_without_javascript(js_off_page: Page, town: Town) -> None:
    page = js_off_page
    log_in(page, town)
    page.goto("/o/suchstadt/zaehler/")
    page.get_by_label("Plausibilität").select_option("implausible")
    page.get_by_label("Sortierung").select_option("-zaehler")
    page.get_by_role("button", name="Suchen").click()
    assert "ergebnis=implausible" in page.url
    found = rows(page)
    assert found == sorted(found, reverse=True)
    assert len(found) == 13  # every third of the first 40 meters
    expect(page.locator("tbody")).to_contain_text("unplausibel")
    bookmark = page.url
    page.goto("/o/suchstadt/")
    page.goto(bookmark)  # the filter lives in the URL
    assert rows(page) == found
    page.goto("/o/suchstadt/zaehler/?ohne_ablesung=1")
    assert len(rows(page)) == 50
    page.get_by_role("link", name="Nächste Seite").click()
    second = rows(page)
    assert len(second) == 30  # 80 meters without a reading
    page.get_by_role("link", name="Vorherige Seite").click()
    assert len(rows(page)) == 50
    # axe needs JavaScript in the page: these pages are checked in the tests with it
    screenshot(page, "search-list-no-js")


@pytest.mark.parametrize("viewport", [DESKTOP, SMALL], ids=["1280", "360"])
def test_pages_are_accessible_at_both_widths(
    browser: Browser,
    https_server: HttpsServer,
    town: Town,
    axe_source: str,
    viewport: ViewportSize,
) -> None:
    context = new_context(browser, https_server, viewport=viewport)
    page = context.new_page()
    try:
        log_in(page, town)
        width = viewport["width"]
        page.goto("/o/suchstadt/zaehler/?q=S-0000")
        assert rows(page)[:2] == ["S-00000", "S-00001"]
        assert_accessible(page, axe_source, f"the meter list at {width} px")
        assert_no_horizontal_scroll(page, f"the meter list at {width} px")
        screenshot(page, f"search-list-{width}")
        page.goto("/o/suchstadt/zaehler/?ableseaktion=&sortierung=name")
        assert_accessible(page, axe_source, f"the list of all meters at {width} px")
        assert_no_horizontal_scroll(page, f"the list of all meters at {width} px")
        page.goto("/o/suchstadt/zaehler/?q=S-00000")
        page.locator("tbody a.kern-link").first.click()
        expect(page.get_by_role("img", name=re.compile("Foto zu Version 1"))).to_be_visible()
        expect(page.locator("main")).to_contain_text("Korrektur")
        expect(page.locator("main")).to_contain_text("Der Zähler ist schwer abzulesen.")
        assert_accessible(page, axe_source, f"the property page at {width} px")
        assert_no_horizontal_scroll(page, f"the property page at {width} px")
        screenshot(page, f"property-{width}")
    finally:
        context.close()
