"""Staff login, organisation chooser and switcher in Chromium over real HTTPS.

Every page visited is checked with axe-core (no serious or critical violation) and,
at 360 × 640, for horizontal scrolling (helpers in ``checks.py``).
"""

import re

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.checks import (
    assert_accessible,
    assert_no_horizontal_scroll,
    header_brand,
    log_in,
    screenshot,
)
from tests.browser.conftest import HttpsServer

pytestmark = pytest.mark.browser


def test_login_chooser_and_organisation_switch(
    page: Page, https_server: HttpsServer, axe_source: str
) -> None:
    first, second = https_server.organisations
    stylesheets: list[Response] = []
    page.on(
        "response",
        lambda response: stylesheets.append(response) if response.url.endswith(".css") else None,
    )

    response = page.goto("/konto/anmelden/")
    assert response is not None
    assert response.ok
    assert page.url.startswith("https://")
    assert response.header_value("strict-transport-security")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmeldung für Mitarbeitende")
    # Static files come through whitenoise in the granian worker.
    assert stylesheets
    assert all(sheet.status == 200 for sheet in stylesheets), [
        (sheet.url, sheet.status) for sheet in stylesheets
    ]
    assert page.evaluate("() => document.styleSheets.length") >= len(stylesheets)
    screenshot(page, "login-desktop")
    assert_accessible(page, axe_source, "login page")

    log_in(page, https_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisation wählen")
    assert page.url.startswith(f"{https_server.base_url}/o/")
    links = page.get_by_role("main").get_by_role("link")
    expect(links).to_have_count(2)
    expect(page.get_by_role("link", name=first.name)).to_be_visible()
    expect(page.get_by_role("link", name=second.name)).to_be_visible()
    screenshot(page, "chooser-desktop")
    assert_accessible(page, axe_source, "organisation chooser")

    page.get_by_role("link", name=first.name).click()
    expect(page).to_have_url(re.compile(rf"/o/{first.slug}/"))
    expect(header_brand(page)).to_have_text(first.name)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.url.startswith("https://")
    screenshot(page, "dashboard-desktop")
    assert_accessible(page, axe_source, "dashboard")

    switcher = page.get_by_label("Organisation", exact=True)
    expect(switcher).to_have_value(first.slug)
    switcher.select_option(label=second.name)
    page.get_by_role("button", name="Wechseln").click()
    expect(page).to_have_url(re.compile(rf"/o/{second.slug}/"))
    expect(header_brand(page)).to_have_text(second.name)
    expect(page.get_by_label("Organisation", exact=True)).to_have_value(second.slug)

    # And back again: the switcher works from the other organisation too.
    page.get_by_label("Organisation", exact=True).select_option(label=first.name)
    page.get_by_role("button", name="Wechseln").click()
    expect(page).to_have_url(re.compile(rf"/o/{first.slug}/"))
    expect(header_brand(page)).to_have_text(first.name)


def test_pages_fit_a_small_screen(
    small_page: Page, https_server: HttpsServer, axe_source: str
) -> None:
    page = small_page
    first = https_server.organisations[0]

    page.goto("/konto/anmelden/")
    assert page.url.startswith("https://")
    screenshot(page, "login-360")
    assert_no_horizontal_scroll(page, "login page")
    assert_accessible(page, axe_source, "login page at 360px")

    log_in(page, https_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisation wählen")
    screenshot(page, "chooser-360")
    assert_no_horizontal_scroll(page, "organisation chooser")
    assert_accessible(page, axe_source, "organisation chooser at 360px")

    page.get_by_role("link", name=first.name).click()
    expect(header_brand(page)).to_have_text(first.name)
    screenshot(page, "dashboard-360")
    assert_no_horizontal_scroll(page, "dashboard")
    assert_accessible(page, axe_source, "dashboard at 360px")
