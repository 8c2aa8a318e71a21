"""Meter-list import in Chromium: upload → mapping → progress → result, with and without JS.

The imports run for real in the ``ablesung worker`` next to the server. The worker is
paused while the import is started, so the progress page is seen in its waiting state
every time; after it is resumed, the result must arrive without a manual reload —
through htmx polling, or with JavaScript disabled through the ``<noscript>`` meta refresh.
"""

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame, Page, Request, ViewportSize, expect

from tests.browser.checks import (
    assert_accessible,
    assert_no_horizontal_scroll,
    log_in_to_organisation,
    screenshot,
)
from tests.browser.conftest import HttpsServer, new_context

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
CLEAN = SAMPLES / "musterstadt-2026.csv"
DIRTY = SAMPLES / "musterstadt-2026-dirty.csv"
RESULT_TIMEOUT = 30_000
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}


def sample(path: Path) -> Path:
    if not path.is_file():
        message = f"sample file {path} missing (the shared samples sit next to the repository)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def js_off_page(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport=DESKTOP, java_script_enabled=False)
    yield context.new_page()
    context.close()


def open_upload_page(page: Page) -> None:
    page.get_by_role("navigation", name="Verwaltung").get_by_role(
        "link", name="Import", exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zählerliste importieren")


def upload(page: Page, file: Path, *, campaign: str | None = None, new: str | None = None) -> None:
    """Fill the upload form (an existing campaign by option label, or a new one) and submit."""
    select = page.get_by_role("combobox", name=re.compile(r"^Ableseaktion"))
    if campaign is not None:
        select.select_option(label=campaign)
    if new is not None:
        select.select_option(label="– neue Ableseaktion –")
        page.get_by_label("Neue Ableseaktion: Name").fill(new)
        page.get_by_label("Neue Ableseaktion: Stichtag").fill("31.12.2026")
    page.get_by_label("Zählerliste (CSV oder Excel)").set_input_files(file)
    page.get_by_role("button", name="Hochladen und Zuordnung prüfen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spaltenzuordnung prüfen")
    expect(page).to_have_url(re.compile(r"/importe/\d+/zuordnung/$"))


def check_mapping_page(page: Page) -> None:
    """Detected layout of the FINANZ+ sample and the preview of its first rows."""
    detected = page.locator("main p", has_text="Erkannt:")
    expect(detected).to_contain_text("Windows-1252")
    expect(detected).to_contain_text("Semikolon")
    preview = page.locator(".table-scroll table").first
    expect(preview.get_by_role("columnheader", name="Zählernummer")).to_be_visible()
    # "Weiß" only decodes right as Windows-1252.
    expect(preview.get_by_role("cell", name="Weiß", exact=True).first).to_be_visible()
    expect(preview.get_by_role("cell", name="66978001", exact=True)).to_be_visible()
    assert preview.locator("tbody tr").count() >= 3


def check_at_small_size(page: Page, axe_source: str, name: str, where: str) -> None:
    page.set_viewport_size(SMALL)
    screenshot(page, f"{name}-360")
    assert_no_horizontal_scroll(page, where)
    assert_accessible(page, axe_source, f"{where} at 360px")
    page.set_viewport_size(DESKTOP)


def test_import_clean_then_dirty_file(
    page: Page, https_server: HttpsServer, axe_source: str
) -> None:
    clean, dirty = sample(CLEAN), sample(DIRTY)
    campaign = "Ablesung 2026 (Browsertest)"
    log_in_to_organisation(page, https_server)

    open_upload_page(page)
    screenshot(page, "import-upload-desktop")
    assert_accessible(page, axe_source, "import upload page")

    upload(page, clean, new=campaign)
    check_mapping_page(page)
    screenshot(page, "import-mapping-desktop")
    assert_accessible(page, axe_source, "import mapping page")
    check_at_small_size(page, axe_source, "import-mapping", "import mapping page")

    with https_server.worker.paused():
        page.get_by_role("button", name="Import starten").click()
        expect(page).to_have_url(re.compile(r"/importe/\d+/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Import „musterstadt-2026.csv“")
        expect(page.get_by_role("progressbar", name="Fortschritt des Imports")).to_be_visible()
        expect(page.locator("#import-status [role=status]")).to_contain_text("…")
        screenshot(page, "import-progress-desktop")
        assert_accessible(page, axe_source, "import progress page")
        # From here on the page must not be reloaded: only htmx fetches the status.
        navigations: list[str] = []
        polls: list[str] = []

        def on_navigation(frame: Frame) -> None:
            if frame == page.main_frame:
                navigations.append(frame.url)

        def on_request(request: Request) -> None:
            if request.headers.get("hx-request") == "true":
                polls.append(request.url)

        page.on("framenavigated", on_navigation)
        page.on("request", on_request)

    result = page.locator("#import-status")
    expect(result).to_contain_text("vollständig importiert", timeout=RESULT_TIMEOUT)
    expect(result.locator("dd").nth(1)).to_contain_text("321 neu")
    expect(result.locator("dd").nth(2)).to_contain_text("400 neu")
    assert polls, "the result arrived without an htmx request"
    assert not navigations, f"the page was reloaded instead of updated by htmx: {navigations}"
    page.remove_listener("framenavigated", on_navigation)
    page.remove_listener("request", on_request)
    screenshot(page, "import-result-desktop")
    assert_accessible(page, axe_source, "import result page")
    check_at_small_size(page, axe_source, "import-result", "import result page")

    # The dirty file into the same campaign: rejected as a whole.
    open_upload_page(page)
    upload(page, dirty, campaign=f"{campaign} (31.12.2026)")
    page.get_by_role("button", name="Import starten").click()
    status = page.locator("#import-status")
    expect(status.get_by_role("alert")).to_contain_text(
        "Nichts importiert.", timeout=RESULT_TIMEOUT
    )
    rejected = status.get_by_role("table", name="Abgelehnte Zeilen")
    expect(rejected).to_be_visible()
    shown = rejected.locator("tbody tr").count()
    assert shown > 5, f"only {shown} rejected rows listed"
    expect(rejected.locator("tbody tr").first.locator("td").first).to_have_text(re.compile(r"\d+"))
    screenshot(page, "import-errors-desktop")
    assert_accessible(page, axe_source, "import error page")
    check_at_small_size(page, axe_source, "import-errors", "import error page")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Fehlerliste als CSV herunterladen").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert ";".join(rows[0]) == "Zeile;Spalte;Wert;Meldung"
    assert len(rows) - 1 > 5
    assert len(rows) - 1 >= shown
    assert all(row[0].isdigit() and row[3] for row in rows[1:]), rows[:5]


def test_import_without_javascript(js_off_page: Page, https_server: HttpsServer) -> None:
    """axe is left out here: with scripts disabled its timers never fire (and the page
    refreshes itself); the same pages are checked with JavaScript above."""
    page = js_off_page
    clean = sample(CLEAN)
    # The other organisation, so that its meters are new whichever test runs first.
    log_in_to_organisation(page, https_server, index=1)
    open_upload_page(page)
    upload(page, clean, new="Ablesung 2026 (ohne JavaScript)")
    check_mapping_page(page)

    with https_server.worker.paused():
        page.get_by_role("button", name="Import starten").click()
        expect(page).to_have_url(re.compile(r"/importe/\d+/$"))
        expect(page.get_by_role("progressbar", name="Fortschritt des Imports")).to_be_visible()
        expect(page.get_by_role("link", name="Seite aktualisieren")).to_be_visible()
        assert page.locator("head noscript").count() == 1

    # No click, no reload from the test: the meta refresh brings the result.
    expect(page.locator("#import-status")).to_contain_text(
        "vollständig importiert", timeout=RESULT_TIMEOUT
    )
    expect(page.locator("#import-status dd").nth(1)).to_contain_text("321 neu")
    assert page.locator("head noscript").count() == 0
