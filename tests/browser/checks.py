"""Checks shared by the browser tests: axe-core, horizontal scrolling, screenshots, login.

Set ``ABLESUNG_SCREENSHOTS=/some/dir`` to keep full-page screenshots for a look at
the layout.
"""

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.browser.conftest import HttpsServer, new_context

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
    """axe-core, injected through DevTools (not a <script> tag, so the CSP stays in force).

    Works with JavaScript disabled in the page too: Playwright's evaluate runs anyway.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe on {where} ({page.url}):\n{format_violations(blocking)}"


def assert_no_horizontal_scroll(page: Page, where: str) -> None:
    """The page itself must not be wider than the viewport; names the elements that stick out."""
    width = page.evaluate("() => window.innerWidth")
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width <= width:
        return
    culprits = page.evaluate(
        """(width) => Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .filter((el) => !el.parentElement.closest('.table-scroll'))
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


def header_brand(page: Page) -> Locator:
    return page.locator("header .site-header__brand")


def log_in_to_organisation(page: Page, https_server: HttpsServer, index: int = 0) -> None:
    """Log in and pick an organisation on the chooser; ends on its dashboard."""
    organisation = https_server.organisations[index]
    log_in(page, https_server)
    page.get_by_role("link", name=organisation.name).click()
    expect(header_brand(page)).to_have_text(organisation.name)


def check_page(page: Page, axe_source: str, name: str) -> None:
    """axe-core, no horizontal scrolling, and a screenshot if asked for."""
    screenshot(page, name)
    assert_no_horizontal_scroll(page, name)
    assert_accessible(page, axe_source, name)


def signed_in(
    browser: Browser,
    https_server: HttpsServer,
    viewport: ViewportSize,
    *,
    email: str,
    password: str,
    organisation: str,
    accept_downloads: bool = True,
) -> Page:
    """A new page of a new browser context, signed in as ``email`` (no second factor) and
    showing ``organisation`` in the header."""
    context = new_context(
        browser, https_server, accept_downloads=accept_downloads, viewport=viewport
    )
    page = context.new_page()
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.locator("header .site-header__brand")).to_have_text(organisation)
    return page
