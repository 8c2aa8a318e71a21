"""Campaign list, campaign dashboard, estimates and inbox in Chromium: axe-core at 1280 px
and 360 px, no horizontal scrolling, and the work done by keyboard alone (and without
JavaScript for storing estimates and handling a message)."""

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.browser.checks import assert_accessible, assert_no_horizontal_scroll, screenshot
from tests.browser.conftest import HttpsServer, _checked, new_context

pytestmark = pytest.mark.browser

SEED = Path(__file__).with_name("seed_dashboard.py")
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}
MAX_TABS = 200


@dataclass(frozen=True)
class DashboardSeed:
    email: str
    password: str
    slug: str
    open: int
    closed: int

    def url(self, path: str = "") -> str:
        return f"/o/{self.slug}/{path}"


@pytest.fixture(scope="session")
def dashboard_seed(https_server: HttpsServer) -> DashboardSeed:
    output = _checked([sys.executable, str(SEED)], https_server.env, "seed_dashboard.py")
    return DashboardSeed(**json.loads(output.strip().splitlines()[-1]))


def page_in(
    browser: Browser, https_server: HttpsServer, viewport: ViewportSize, **options: bool
) -> Page:
    return new_context(browser, https_server, viewport=viewport, **options).new_page()


@pytest.fixture
def desktop(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = page_in(browser, https_server, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def phone(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = page_in(browser, https_server, SMALL)
    yield page
    page.context.close()


@pytest.fixture
def no_js(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = page_in(browser, https_server, DESKTOP, java_script_enabled=False)
    yield page
    page.context.close()


def log_in(page: Page, seed: DashboardSeed) -> None:
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(seed.email)
    page.get_by_label("Passwort", exact=True).fill(seed.password)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_load_state()
    assert "/konto/anmelden/" not in page.url, page.url


def check(page: Page, axe_source: str, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    screenshot(page, f"{name}-{width}")
    assert_accessible(page, axe_source, f"{name} at {width}px")
    assert_no_horizontal_scroll(page, f"{name} at {width}px")


def tab_to(page: Page, target: Locator) -> None:
    """Presses Tab until ``target`` has the focus (keyboard only, no mouse, no focus())."""
    for _ in range(MAX_TABS):
        if target.evaluate("(el) => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {target}")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_list_dashboard_and_estimates_pages_are_accessible(
    request: pytest.FixtureRequest,
    viewport: str,
    dashboard_seed: DashboardSeed,
    axe_source: str,
) -> None:
    page: Page = request.getfixturevalue(viewport)
    seed = dashboard_seed
    log_in(page, seed)
    page.goto(seed.url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Ableseaktionen")
    expect(
        page.get_by_role("link", name="Jahresablesung 2026 (Dashboard)", exact=True)
    ).to_be_visible()
    check(page, axe_source, "campaign-list")

    page.goto(seed.url(f"ableseaktionen/{seed.open}/"))
    expect(page.get_by_role("heading", name="Stand der Ablesung")).to_be_visible()
    expect(page.get_by_text("30 von 40 Zählwerken abgelesen (75 %).")).to_be_visible()
    check(page, axe_source, "campaign-dashboard")

    page.goto(seed.url(f"ableseaktionen/{seed.closed}/schaetzung/?vorschau=1"))
    expect(page.get_by_role("heading", name="Berechnete Schätzungen")).to_be_visible()
    check(page, axe_source, "estimates-preview")
    page.get_by_role("table").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Manuelle Schätzung")).to_be_visible()
    check(page, axe_source, "estimate-line")

    page.goto(seed.url("nachrichten/?status=alle"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nachrichten von Bürger:innen")
    check(page, axe_source, "inbox")


def test_daily_table_and_estimates_by_keyboard_alone(
    desktop: Page, dashboard_seed: DashboardSeed, axe_source: str
) -> None:
    page, seed = desktop, dashboard_seed
    log_in(page, seed)
    page.goto(seed.url(f"ableseaktionen/{seed.open}/"))
    table = page.get_by_role("table", name=re.compile("Eingegangene Zählerstände je Tag"))
    expect(table).to_be_hidden()
    summary = page.locator("summary", has_text="Eingänge je Tag als Tabelle")
    tab_to(page, summary)
    page.keyboard.press("Enter")
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(11)  # header + ten days
    assert_accessible(page, axe_source, "dashboard with the daily table open")

    page.goto(seed.url(f"ableseaktionen/{seed.closed}/schaetzung/"))
    start = page.get_by_role("button", name="Fehlende schätzen")
    tab_to(page, start)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"vorschau=1"))
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(page.get_by_role("row", name=re.compile("Median der Zählerart"))).to_have_count(1)
    store = page.get_by_role("button", name="Schätzungen übernehmen")
    tab_to(page, store)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Schätzungen gespeichert")).to_have_text(
        "Schätzungen gespeichert: 3 neu, 0 neu berechnet, 0 unverändert, 1 nicht schätzbar."
    )
    expect(page.get_by_role("cell", name="unverändert")).to_have_count(3)


def test_inbox_and_window_work_without_javascript(
    no_js: Page, dashboard_seed: DashboardSeed
) -> None:
    """(axe needs the page's JavaScript timers; it checks these pages with JS above.)"""
    page, seed = no_js, dashboard_seed
    log_in(page, seed)
    page.goto(seed.url("nachrichten/"))
    cards = page.locator("article.message-card")
    expect(cards).to_have_count(2)
    first = cards.first
    first.get_by_label("Zuständig").select_option(label=seed.email)
    first.get_by_label("Vermerk").fill("Rückruf vereinbart")
    first.get_by_role("button", name="Speichern und erledigt").click()
    expect(
        page.get_by_role("status").filter(has_text="Die Nachricht ist erledigt.")
    ).to_be_visible()
    expect(cards).to_have_count(1)
    page.get_by_label("Stand").select_option("erledigt")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page).to_have_url(re.compile(r"status=erledigt"))
    expect(page.get_by_text("Rückruf vereinbart")).to_be_visible()

    page.goto(seed.url(f"ableseaktionen/{seed.open}/"))
    until = page.get_by_label("Online-Erfassung bis")
    until.fill("2099-12-31")
    page.get_by_role("button", name="Erfassungszeitraum ändern").click()
    expect(page.get_by_role("status").filter(has_text="gespeichert")).to_have_text(
        "Der Erfassungszeitraum ist gespeichert."
    )
    expect(page.get_by_label("Online-Erfassung bis")).to_have_value("2099-12-31")
