"""Staff login, organisation chooser and switcher in Chromium over real HTTPS.

Every page visited is checked with axe-core (no serious or critical violation) and,
at 360 × 640, for horizontal scrolling. Set ``ABLESUNG_SCREENSHOTS=/some/dir`` to keep
full-page screenshots for a look at the layout.
"""

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import HttpsServer

pytestmark = pytest.mark.browser

BLOCKING_IMPACTS = {"serious", "critical"}


def screenshot(page: Page, name: str) -> None:
    target = os.environ.get("ABLESUNG_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {', '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = node.get("failureSummary") or ""
            lines.extend(f"       {line}" for line in summary.splitlines())
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


def assert_accessible(page: Page, axe_source: str, where: str) -> None:
    """axe-core, injected through DevTools (not a <script> tag, so the CSP stays in force)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on {where} ({page.url}):\n{format_violations(blocking)}"


def assert_no_horizontal_scroll(page: Page, where: str) -> None:
    width = page.evaluate("() => window.innerWidth")
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width <= width:
        return
    culprits = page.evaluate(
        """(width) => Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .slice(0, 8)
            .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
                 + `${el.className && typeof el.className === 'string'
                      ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}`
                 + ` right=${Math.round(el.getBoundingClientRect().right)}`)""",
        width,
    )
    pytest.fail(
        f"{where} scrolls horizontally at {width}px: scrollWidth={scroll_width}\n"
        + "\n".join(culprits)
    )


def log_in(page: Page, https_server: HttpsServer) -> None:
    """E-mail and password; fails with the server's security log when the POST is refused."""
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(https_server.email)
    page.get_by_label("Passwort", exact=True).fill(https_server.password)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_load_state()
    if "/konto/anmelden/" in page.url or page.title().startswith("Formular abgelaufen"):
        heading = page.get_by_role("heading", level=1).first.text_content()
        security = [
            line
            for line in https_server.log_file.read_text(errors="replace").splitlines()
            if "django.security" in line
        ]
        pytest.fail(
            f"login did not get past {page.url} (page: {heading!r}); server says:\n"
            + "\n".join(security[-5:])
        )


def header_brand(page: Page) -> Any:
    return page.locator("header .site-header__brand")


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
