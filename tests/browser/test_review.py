"""Review and release in Chromium: the queue, accept with a note, correct, choose and release,
the run with its log; axe-core at 1280 px and 360 px, keyboard only and without JavaScript.

The data comes from this file run as a script in the server's environment (``seed``): an
organisation of its own ("Gemeinde Prüfheim", its own admin) with a closed campaign whose
readings have every outcome.
"""

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.checks import check_page, screenshot
from tests.browser.conftest import REPO_DIR, HttpsServer, _checked, new_context

pytestmark = pytest.mark.browser

EMAIL = "pruefung-admin@example.org"
PASSWORD = "Zaehlerstand-Pruefung-2026"
SLUG = "pruefheim"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}
#: meter number → (value, source, reason, note): previous 1000 a year before, 100 a year
READINGS = {
    "P-101": ("1500", "online", "pipe_burst", ""),  # implausible, confirmed by the citizen
    "P-102": ("1200", "online", "vacancy", ""),  # a warning confirmed with a reason
    "P-103": ("1600", "letter", "", "laut Karte"),  # implausible, captured with a note
    "P-104": ("1100", "letter", "", ""),  # plausible
    "P-105": ("1550", "phone", "", "Rückruf folgt"),  # implausible, for the keyboard test
    "P-106": ("1580", "online", "more_people", ""),  # implausible, without JavaScript
    "P-107": ("1700", "online", "pool_garden", ""),  # implausible, corrected in the test
}


# --- the data (this file as a script in the server's environment) -----------------------------


def seed() -> dict[str, Any]:
    import datetime
    import os
    from decimal import Decimal

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.utils import timezone

    from ablesung.accounts.models import User
    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        CampaignStatus,
        Membership,
        Meter,
        Organisation,
        Property,
        Register,
        Role,
    )
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.readings import Submission, do_record_readings

    today = timezone.localdate()
    org = Organisation.objects.create(slug=SLUG, name="Gemeinde Prüfheim")
    user = User.objects.create_user(EMAIL, PASSWORD)
    Membership.objects.create(organisation=org, user=user, role=Role.ADMIN)
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org,
            name="Jahresablesung Prüfheim",
            key_date=today,
            status=CampaignStatus.OPEN,
            online_from=today - datetime.timedelta(days=20),
            online_until=today + datetime.timedelta(days=10),
        )
        for index, (number, (value, source, reason, note)) in enumerate(READINGS.items()):
            prop = Property.objects.create(
                organisation=org,
                object_number=f"O-{number}",
                customer_number=f"K-{number}",
                owner_last_name=f"Müller-Lüdenscheidt {index}",
                owner_first_name="Hildegard",
                street="Am Lindenbrunnen",
                house_number=str(index + 1),
                postal_code="09111",
                city="Prüfheim",
            )
            meter = Meter.objects.create(organisation=org, property=prop, number=number)
            register = Register.objects.create(organisation=org, meter=meter)
            line = CampaignMeter.objects.create(
                organisation=org,
                campaign=campaign,
                register=register,
                previous_value=Decimal(1000),
                previous_date=today - datetime.timedelta(days=365),
                previous_year_consumption=Decimal(100),
            )
            do_record_readings(
                CampaignMeter.objects.filter(pk=line.pk),
                {
                    register.pk: Submission(
                        value,
                        today,
                        reason=reason,
                        note=note,
                        confirmed=True,
                        comment="Zähler im Keller, schlecht lesbar" if index == 0 else "",
                    )
                },
                organisation=org,
                source=source,
                actor=Actor.system("seed"),
                today=today,
            )
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
    return {"campaign": campaign.pk}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign_id(https_server: HttpsServer) -> int:
    env = {**https_server.env, "PYTHONPATH": str(REPO_DIR)}
    output = _checked([sys.executable, "-m", __name__], env, "test_review.py seed")
    data: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return data["campaign"]


def log_in(page: Page) -> None:
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.locator("header .site-header__brand")).to_have_text("Gemeinde Prüfheim")


@pytest.fixture
def clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport=DESKTOP)
    page = context.new_page()
    log_in(page)
    yield page
    context.close()


@pytest.fixture
def small_clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport=SMALL)
    page = context.new_page()
    log_in(page)
    yield page
    context.close()


def queue(campaign_id: int) -> str:
    return f"/o/{SLUG}/ableseaktionen/{campaign_id}/pruefung/"


def card(page: Page, number: str) -> Any:
    return page.locator(
        "article.review-card", has=page.get_by_role("heading", name=f"Zähler {number}")
    )


# --- the tests ----------------------------------------------------------------------------------


def test_the_queue_and_the_reading_page_are_accessible_at_both_sizes(
    clerk: Page, small_clerk: Page, campaign_id: int, axe_source: str
) -> None:
    for page, size in ((clerk, "1280"), (small_clerk, "360")):
        page.goto(queue(campaign_id))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Prüfung")
        expect(
            page.get_by_role("heading", name=re.compile("warten auf die Prüfung"))
        ).to_be_visible()
        expect(card(page, "P-101")).to_contain_text("mehr als dreimal so hoch wie erwartet")
        expect(card(page, "P-101")).to_contain_text("Rohrbruch")
        expect(card(page, "P-101")).to_contain_text("Zähler im Keller, schlecht lesbar")
        expect(page.locator("article.review-card", has_text="P-104")).to_have_count(0)
        check_page(page, axe_source, f"review-queue-{size}")
        card(page, "P-101").get_by_role("link", name=re.compile("Versionen ansehen")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Zählerstand prüfen"))
        expect(page.get_by_role("heading", name="Korrigieren")).to_be_visible()
        check_page(page, axe_source, f"review-item-{size}")


def test_accepting_needs_a_note_then_the_reading_leaves_the_queue(
    clerk: Page, campaign_id: int, axe_source: str
) -> None:
    page = clerk
    page.goto(queue(campaign_id))
    card(page, "P-103").get_by_role("button", name="Annehmen (Zähler P-103)").click()
    expect(page.get_by_role("alert").first).to_contain_text("nur mit einem Vermerk angenommen")
    check_page(page, axe_source, "review-accept-refused")
    page.get_by_label("Vermerk").first.fill("Karte nachgesehen, Wert stimmt")
    page.get_by_role("button", name="Annehmen (Zähler P-103)").click()
    expect(page.get_by_role("status").first).to_contain_text("ist angenommen")
    page.goto(queue(campaign_id))
    expect(card(page, "P-103")).to_have_count(0)
    expect(
        page.get_by_text("1 angenommener Zählerstand ist noch nicht freigegeben.")
    ).to_be_visible()


def test_keyboard_only_accept_and_release_of_the_accepted_ones(
    clerk: Page, campaign_id: int, axe_source: str
) -> None:
    page = clerk
    page.goto(queue(campaign_id))
    note = card(page, "P-105").get_by_label("Vermerk")
    note.focus()
    page.keyboard.type("Rückruf: Garten gewässert")
    page.keyboard.press("Tab")  # to "Annehmen"
    expect(
        card(page, "P-105").get_by_role("button", name="Annehmen (Zähler P-105)")
    ).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Zähler P-105 ist angenommen")
    link = page.get_by_role("link", name="Angenommene freigeben …")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Bestätigen")).to_be_visible()
    confirm = page.get_by_role("button", name=re.compile(r"Zählerstände? prüfen und freigeben"))
    confirm.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Freigabelauf vom")
    expect(page.get_by_role("status").first).to_contain_text("0 nicht freigegeben")


def test_choose_in_the_queue_confirm_the_count_and_release(
    clerk: Page, small_clerk: Page, campaign_id: int, axe_source: str
) -> None:
    page = clerk
    page.goto(queue(campaign_id))
    card(page, "P-102").get_by_label("Zähler P-102 für die Freigabe auswählen").check()
    page.get_by_role("button", name="Ausgewählte freigeben …").first.click()
    expect(page.get_by_role("heading", name="Bestätigen")).to_be_visible()
    expect(page.locator(".release-confirm")).to_contain_text(
        "Auswahl: 1 Zählerstand. 1 noch nicht freigegebener Zählerstand"
    )
    check_page(page, axe_source, "release-confirm-1280")
    page.get_by_role("button", name="1 Zählerstand prüfen und freigeben").click()
    expect(page.get_by_role("status").first).to_contain_text("1 freigegeben")
    expect(page.get_by_text("Alle geprüften Zählerstände wurden freigegeben")).to_be_visible()
    check_page(page, axe_source, "release-run-empty-1280")

    # the whole campaign: the implausible values not accepted stay and are logged
    small = small_clerk
    small.goto(f"/o/{SLUG}/ableseaktionen/{campaign_id}/freigabe/")
    small.get_by_label("alle noch nicht freigegebenen Zählerstände der Ableseaktion").check()
    small.get_by_role("button", name="Weiter").click()
    check_page(small, axe_source, "release-confirm-360")
    small.get_by_role("button", name=re.compile(r"Zählerstände prüfen und freigeben")).click()
    expect(small.get_by_role("heading", level=1)).to_contain_text("Freigabelauf vom")
    log = small.locator("table.release-log")
    expect(log).to_contain_text("P-101")
    expect(log).to_contain_text("Unplausibel und in der Prüfung nicht angenommen")
    expect(log).not_to_contain_text("P-104")
    check_page(small, axe_source, "release-run-360")
    with small.expect_download() as download:
        small.get_by_role("link", name="Freigabeprotokoll als CSV herunterladen").click()
    assert download.value.suggested_filename.startswith("freigabeprotokoll-")
    small.goto(f"/o/{SLUG}/ableseaktionen/{campaign_id}/freigabe/")
    check_page(small, axe_source, "release-page-360")
    page.goto(f"/o/{SLUG}/ableseaktionen/{campaign_id}/freigabe/")
    check_page(page, axe_source, "release-page-1280")


def test_without_javascript_a_correction_and_a_control_reading(
    browser: Browser, https_server: HttpsServer, campaign_id: int
) -> None:
    context = new_context(browser, https_server, viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page)
        page.goto(queue(campaign_id))
        card(page, "P-106").get_by_role(
            "button", name="Kontrollablesung anfordern (Zähler P-106)"
        ).click()
        expect(card(page, "P-106")).to_contain_text("Kontrollablesung angefordert am")
        card(page, "P-107").get_by_role("link", name=re.compile("Versionen ansehen")).click()
        page.get_by_label("Richtiger Zählerstand").fill("1200")
        page.get_by_label("Telefon").check()
        page.get_by_role("button", name="Korrektur speichern").click()
        expect(page.get_by_role("alert").first).to_contain_text("Bitte bestätigen Sie den Hinweis")
        expect(page.get_by_role("alert").first).to_contain_text("weicht deutlich")
        # axe needs JavaScript in the page: here only the screenshot
        screenshot(page, "review-correct-refused")
        page.get_by_label("Hinweis geprüft: der Wert stimmt").check()
        page.get_by_role("button", name="Korrektur speichern").click()
        expect(page.get_by_role("status").first).to_contain_text("Version 2")
        expect(page.locator("table", has_text="Version")).to_contain_text("1200")
    finally:
        context.close()


if __name__ == "__main__":
    print(json.dumps(seed()))
