"""Texts of letters and mails in Chromium: an admin types a wrong placeholder (the error is
shown at the field and announced), then a correct text, looks at the preview and saves;
axe-core and screenshots at 1280 and 360 px.

The data comes from this file run as a script in the server's environment (``seed``): an
organisation of its own ("Gemeinde Textheim") with an admin and a campaign of one property.
"""

import json
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.checks import check_page, signed_in
from tests.browser.conftest import REPO_DIR, HttpsServer, _checked

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "text-admin@example.org"
PASSWORD = "Zaehlerstand-Texte-2026"
SLUG = "textheim"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}


def seed() -> dict[str, int]:
    import datetime
    import os

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

    org = Organisation.objects.create(slug=SLUG, name="Gemeinde Textheim")
    admin = User.objects.create_user(ADMIN_EMAIL, PASSWORD)
    Membership.objects.create(organisation=org, user=admin, role=Role.ADMIN)
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org, name="Jahresablesung Textheim", key_date=datetime.date(2026, 12, 31)
        )
        prop = Property.objects.create(
            organisation=org,
            object_number="T-001",
            customer_number="72.00000001",
            owner_last_name="Öztürk",
            owner_first_name="Ayşe",
            street="Lindenallee",
            house_number="4",
            postal_code="09111",
            city="Textheim OT Au",
        )
        meter = Meter.objects.create(organisation=org, property=prop, number="TM-1")
        register = Register.objects.create(organisation=org, meter=meter)
        CampaignMeter.objects.create(
            organisation=org, campaign=campaign, register=register, row_number=2
        )
    return {"campaign": campaign.pk}


@pytest.fixture(scope="module")
def data(https_server: HttpsServer) -> dict[str, int]:
    env = {**https_server.env, "PYTHONPATH": str(REPO_DIR)}
    output = _checked([sys.executable, "-m", __name__], env, "test_texts.py seed")
    result: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return result


def logged_in(browser: Browser, https_server: HttpsServer, viewport: ViewportSize) -> Page:
    return signed_in(
        browser,
        https_server,
        viewport,
        email=ADMIN_EMAIL,
        password=PASSWORD,
        organisation="Gemeinde Textheim",
    )


@pytest.fixture
def admin(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = logged_in(browser, https_server, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def small_admin(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = logged_in(browser, https_server, SMALL)
    yield page
    page.context.close()


def test_an_admin_corrects_a_wrong_placeholder_and_previews_the_letter(
    admin: Page, small_admin: Page, data: dict[str, int], axe_source: str
) -> None:
    page = admin
    page.goto(f"/o/{SLUG}/einstellungen/plausibilitaet/")
    page.get_by_role("link", name="Texte für Briefe und E-Mails").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Texte für Briefe und E-Mails")
    expect(page.get_by_role("link", name="Ablesebrief")).to_have_attribute("aria-current", "page")
    # the preview of the default text for the campaign's property
    expect(page.locator("#vorschau-text")).to_contain_text("Guten Tag Ayşe Öztürk")
    check_page(page, axe_source, "texts-1280")

    body = page.get_by_label("Text", exact=True)
    body.fill("Guten Tag {vorname},\nbitte lesen Sie bis {frist} ab.")
    page.get_by_role("button", name="Speichern").click()
    error = page.locator("#id_body_error")
    expect(error).to_contain_text("Unbekannter Platzhalter {vorname}")
    expect(error).to_have_attribute("role", "alert")  # announced
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_value("Guten Tag {vorname},\nbitte lesen Sie bis {frist} ab.")
    check_page(page, axe_source, "texts-error-1280")

    body.fill("Guten Tag {name},\nbitte lesen Sie Ihre Zähler bis {frist} ab: <wichtig>")
    page.get_by_role("button", name="Vorschau", exact=True).click()
    preview = page.locator("#vorschau-text")
    expect(preview).to_contain_text("Guten Tag Ayşe Öztürk,")
    expect(preview).to_contain_text("<wichtig>")  # shown as text, not as markup
    with page.expect_download() as download:
        page.get_by_role("button", name="Vorschau als PDF").click()
    assert download.value.suggested_filename == "vorschau-brief.pdf"
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Der Text wurde gespeichert.")).to_be_visible()
    expect(page.get_by_text("Eigener Text, zuletzt geändert")).to_be_visible()
    expect(page.get_by_role("button", name="Auf Standardtext zurücksetzen")).to_be_visible()

    small_admin.goto(page.url)
    check_page(small_admin, axe_source, "texts-360")
    small_admin.goto(f"/o/{SLUG}/einstellungen/texte/?art=einladung")
    expect(small_admin.locator("#vorschau-text")).to_contain_text("(Objekt T-001)")
    check_page(small_admin, axe_source, "texts-mail-360")
    small_admin.goto(f"/o/{SLUG}/ableseaktionen/{data['campaign']}/briefe/")
    small_admin.get_by_role(
        "link", name="Brieftext ansehen, ändern und als PDF vorab prüfen"
    ).click()
    expect(small_admin.get_by_role("heading", level=1)).to_contain_text("Brieftexte")
    expect(small_admin.get_by_text("Es gilt der Text der Organisation.")).to_be_visible()
    check_page(small_admin, axe_source, "campaign-texts-360")
    small_admin.goto(f"/o/{SLUG}/ableseaktionen/{data['campaign']}/briefe/")
    expect(small_admin.locator("#id_street")).to_contain_text(
        "Lindenallee, Textheim OT Au (1 Objekt)"
    )
    check_page(small_admin, axe_source, "letters-selection-360")


if __name__ == "__main__":
    print(json.dumps(seed()))
