"""Reading letters in Chromium: a clerk opens the letters page from the campaign, makes the
letters, the batch page follows the worker's job through htmx until the PDF is there, the PDF
is downloaded; the confirmation before making them again; axe-core and screenshots.

The data comes from this file run as a script in the server's environment (``seed``): an
organisation of its own ("Gemeinde Briefheim") with a clerk and a draft campaign of three
properties.
"""

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pypdf import PdfReader

from tests.browser.checks import check_page, signed_in
from tests.browser.conftest import REPO_DIR, HttpsServer, _checked

pytestmark = pytest.mark.browser

CLERK_EMAIL = "brief-sachbearbeitung@example.org"
PASSWORD = "Zaehlerstand-Briefe-2026"
SLUG = "briefheim"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}


def seed() -> dict[str, int]:
    import datetime
    import os
    from decimal import Decimal

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from ablesung.accounts.models import User
    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        Membership,
        Meter,
        Organisation,
        Property,
        Register,
        Role,
    )
    from ablesung.core.scoping import organisation_scope

    org = Organisation.objects.create(
        slug=SLUG,
        name="Gemeinde Briefheim",
        contact_email="ablesung@briefheim.example",
        contact_address="Marktplatz 1\n09111 Briefheim",
    )
    clerk = User.objects.create_user(CLERK_EMAIL, PASSWORD)
    Membership.objects.create(organisation=org, user=clerk, role=Role.CLERK)
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org, name="Jahresablesung Briefheim", key_date=datetime.date(2026, 12, 31)
        )
        for index in range(3):
            prop = Property.objects.create(
                organisation=org,
                object_number=f"B-{index:03d}",
                customer_number=f"71.{index:08d}",
                owner_last_name=f"Jäger {index}",
                owner_first_name="Ömer",
                street="Mühlenweg",
                house_number=str(index + 1),
                postal_code="09111",
                city="Briefheim",
            )
            meter = Meter.objects.create(organisation=org, property=prop, number=f"BM-{index}")
            register = Register.objects.create(organisation=org, meter=meter)
            CampaignMeter.objects.create(
                organisation=org,
                campaign=campaign,
                register=register,
                previous_value=Decimal(1000 + index),
                previous_date=datetime.date(2025, 12, 31),
                row_number=index + 2,
            )
    return {"campaign": campaign.pk}


@pytest.fixture(scope="module")
def data(https_server: HttpsServer) -> dict[str, int]:
    env = {**https_server.env, "PYTHONPATH": str(REPO_DIR)}
    output = _checked([sys.executable, "-m", __name__], env, "test_letters.py seed")
    result: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return result


def logged_in(browser: Browser, https_server: HttpsServer, viewport: ViewportSize) -> Page:
    return signed_in(
        browser,
        https_server,
        viewport,
        email=CLERK_EMAIL,
        password=PASSWORD,
        organisation="Gemeinde Briefheim",
    )


@pytest.fixture
def clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = logged_in(browser, https_server, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def small_clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = logged_in(browser, https_server, SMALL)
    yield page
    page.context.close()


def test_a_clerk_makes_and_downloads_reading_letters(
    clerk: Page,
    small_clerk: Page,
    https_server: HttpsServer,
    data: dict[str, int],
    axe_source: str,
    tmp_path: Path,
) -> None:
    page = clerk
    page.goto(f"/o/{SLUG}/ableseaktionen/{data['campaign']}/")
    page.get_by_role("link", name="Ablesebriefe (PDF)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ablesebriefe")
    expect(page.get_by_text("Objekte mit Zählern")).to_be_visible()
    expect(page.get_by_label("alle Objekte")).to_be_checked()
    check_page(page, axe_source, "letters-page-1280")
    small_clerk.goto(page.url)
    check_page(small_clerk, axe_source, "letters-page-360")

    with https_server.worker.paused():
        page.get_by_role("button", name="Ablesebriefe erstellen").click()
        expect(page.get_by_text("Die Ablesebriefe werden erstellt.")).to_be_visible()
        expect(page.locator("#letter-status")).to_contain_text("In Warteschlange")
        progress = page.get_by_role("progressbar", name="0 von 3 Briefen")
        expect(progress).to_have_attribute("value", "0")
        expect(progress).to_have_attribute("max", "3")
        url = page.url
        check_page(page, axe_source, "letter-batch-queued-1280")
        small_clerk.goto(url)
        check_page(small_clerk, axe_source, "letter-batch-queued-360")
    # the worker is back: htmx swaps in the finished batch without a reload
    pdf_link = page.get_by_role("link", name=re.compile("PDF herunterladen"))
    expect(pdf_link).to_be_visible(timeout=60_000)
    assert page.url == url
    expect(page.locator("#letter-status")).to_contain_text("3 Ablesebriefe (3 Seiten)")
    check_page(page, axe_source, "letter-batch-1280")
    with page.expect_download() as download:
        pdf_link.click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    texts = [p.extract_text() for p in PdfReader(target).pages]
    assert [next(n for n in ("B-000", "B-001", "B-002") if n in t) for t in texts] == [
        "B-000",
        "B-001",
        "B-002",
    ]

    # again: the page names the letters already made and asks to confirm
    page.goto(f"/o/{SLUG}/ableseaktionen/{data['campaign']}/briefe/")
    expect(page.get_by_text("wurden schon 3 Ablesebriefe erstellt")).to_be_visible()
    confirm = page.get_by_label(re.compile("die 3 schon erstellten Briefe werden"))
    expect(confirm).not_to_be_checked()
    check_page(page, axe_source, "letters-page-confirm-1280")
    page.get_by_role("button", name="Ablesebriefe erstellen").click()
    expect(page.get_by_text("Bitte bestätigen Sie")).to_be_visible()


if __name__ == "__main__":
    print(json.dumps(seed()))
