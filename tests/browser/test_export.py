"""Close and export in Chromium: a clerk exports a closed campaign, the run page follows the
build through htmx until the files are there, the return file is downloaded; the admin's
export settings; axe-core and screenshots at 1280 px and 360 px; the pages without
JavaScript.

The data comes from this file run as a script in the server's environment (``seed``): an
organisation of its own ("Gemeinde Exportheim") with an admin and a clerk, its export
recipients, and closed campaigns whose key date has passed (released, unreleased and
missing readings). The server's worker builds the files and sends the mail to the test's
SMTP server.
"""

import json
import re
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.checks import check_page, screenshot
from tests.browser.conftest import REPO_DIR, HttpsServer, _checked, new_context

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "export-admin@example.org"
CLERK_EMAIL = "export-sachbearbeitung@example.org"
PASSWORD = "Zaehlerstand-Export-2026"
SLUG = "exportheim"
RECIPIENT = "abrechnung@exportheim.example"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}
#: the header of the return file (FINANZ+ standard layout, the campaign's profile)
MAIL_TIMEOUT = 60.0
RETURN_HEADER = "Objektnummer;Kassenzeichen;Name;Vorname;Straße;Hausnummer;PLZ;Ort;Zählernummer"


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
        Reading,
        ReadingSource,
        Register,
        ReviewState,
        Role,
    )
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.exports.services import do_update_export_settings

    today = timezone.localdate()
    now = timezone.now()
    org = Organisation.objects.create(
        slug=SLUG, name="Gemeinde Exportheim", contact_email="ablesung@exportheim.example"
    )
    admin = User.objects.create_user(ADMIN_EMAIL, PASSWORD)
    clerk = User.objects.create_user(CLERK_EMAIL, PASSWORD)
    Membership.objects.create(organisation=org, user=admin, role=Role.ADMIN)
    Membership.objects.create(organisation=org, user=clerk, role=Role.CLERK)
    do_update_export_settings(
        org, addresses=[RECIPIENT], delivery="attachment", actor=Actor.system("seed")
    )
    campaigns = {}
    with organisation_scope(org):
        for key, name in (("js", "Jahresablesung Exportheim"), ("nojs", "Nachablesung Exportheim")):
            campaign = Campaign.objects.create(
                organisation=org,
                name=name,
                key_date=today - datetime.timedelta(days=10),
                online_from=today - datetime.timedelta(days=40),
                online_until=today - datetime.timedelta(days=5),
                status=CampaignStatus.CLOSED,
            )
            campaigns[key] = campaign.pk
            for index in range(6):
                prop = Property.objects.create(
                    organisation=org,
                    object_number=f"E-{key}-{index:03d}",
                    customer_number=f"70.{len(campaigns)}{index:08d}",
                    owner_last_name=f"Müller-Lüdenscheidt {index}",
                    owner_first_name="Hildegard",
                    street="Am Lindenbrunnen",
                    house_number=str(index + 1),
                    postal_code="09111",
                    city="Exportheim",
                )
                meter = Meter.objects.create(
                    organisation=org, property=prop, number=f"X-{key}-{index}", digits=5
                )
                register = Register.objects.create(organisation=org, meter=meter)
                line = CampaignMeter.objects.create(
                    organisation=org,
                    campaign=campaign,
                    register=register,
                    previous_value=Decimal(1000),
                    previous_date=today - datetime.timedelta(days=375),
                    previous_year_consumption=Decimal(100),
                    row_number=index + 2,
                )
                if index >= 4:
                    continue  # no reading: estimated on request
                CampaignMeter.objects.filter(pk=line.pk).update(last_version=1)
                released = index < 3
                Reading.objects.create(
                    organisation=org,
                    campaign=campaign,
                    register=register,
                    version=1,
                    is_effective=True,
                    value=Decimal(1100 + index),
                    reading_date=today - datetime.timedelta(days=12),
                    source=ReadingSource.ONLINE if index % 2 else ReadingSource.LETTER,
                    outcome="ok",
                    state=ReviewState.RELEASED if released else ReviewState.SUBMITTED,
                    released_at=now if released else None,
                    comment="Zähler im Keller" if index == 0 else "",
                )
    return campaigns


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaigns(https_server: HttpsServer) -> dict[str, int]:
    env = {**https_server.env, "PYTHONPATH": str(REPO_DIR)}
    output = _checked([sys.executable, "-m", __name__], env, "test_export.py seed")
    data: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return data


def log_in(page: Page, email: str) -> None:
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.locator("header .site-header__brand")).to_have_text("Gemeinde Exportheim")


def logged_in(browser: Browser, https_server: HttpsServer, email: str, **options: Any) -> Page:
    context = new_context(browser, https_server, accept_downloads=True, **options)
    page = context.new_page()
    log_in(page, email)
    return page


@pytest.fixture
def clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = logged_in(browser, https_server, CLERK_EMAIL, viewport=DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def small_clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = logged_in(browser, https_server, CLERK_EMAIL, viewport=SMALL)
    yield page
    page.context.close()


def export_page(campaign_id: int) -> str:
    return f"/o/{SLUG}/ableseaktionen/{campaign_id}/export/"


def mails_to(https_server: HttpsServer, address: str) -> list[EmailMessage]:
    collector = https_server.smtp.collector
    return [
        message
        for message, recipients in zip(
            https_server.smtp.messages, collector.recipients, strict=True
        )
        if address in recipients
    ]


def wait_for_mails(https_server: HttpsServer, count: int) -> list[EmailMessage]:
    """Polls the SMTP server until the worker has delivered ``count`` export mails."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while len(mails_to(https_server, RECIPIENT)) < count:
        if time.monotonic() > deadline:
            worker_log = https_server.worker.log_file.read_text(errors="replace")
            pytest.fail(f"no export mail within {MAIL_TIMEOUT:.0f}s; worker:\n{worker_log}")
        time.sleep(0.2)
    return mails_to(https_server, RECIPIENT)


# --- the tests ----------------------------------------------------------------------------------


def test_a_clerk_exports_and_downloads_the_return_file(
    clerk: Page,
    small_clerk: Page,
    https_server: HttpsServer,
    campaigns: dict[str, int],
    axe_source: str,
    tmp_path: Path,
) -> None:
    page = clerk
    campaign_id = campaigns["js"]
    before = len(mails_to(https_server, RECIPIENT))
    page.goto(f"/o/{SLUG}/ableseaktionen/{campaign_id}/")
    page.get_by_role("link", name="Abschließen und exportieren").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Abschließen und exportieren")
    figures = page.get_by_role("table", name="Zählwerke nach gültigem Zählerstand")
    for label, count in (
        ("Freigegeben", "3"),
        ("Nicht freigegeben", "1"),
        ("Ohne Zählerstand", "2"),
    ):
        row = figures.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=label, exact=True)
        )
        expect(row.get_by_role("cell")).to_have_text(count)
    expect(page.get_by_text(f"Die Dateien gehen per E-Mail an: {RECIPIENT}.")).to_be_visible()
    estimate = page.get_by_label("Vorher fehlende Zählerstände schätzen: 2 Zählwerke")
    expect(estimate).not_to_be_checked()
    check_page(page, axe_source, "export-page-1280")
    small_clerk.goto(export_page(campaign_id))
    check_page(small_clerk, axe_source, "export-page-360")

    estimate.check()
    # the worker waits, so the run page shows the queued run and polls for it
    with https_server.worker.paused():
        page.get_by_role("button", name="Abschließen und exportieren").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Export, Lauf 1")
        expect(page.get_by_text("Die Ableseaktion ist abgeschlossen.")).to_be_visible()
        expect(page.locator("#export-status")).to_contain_text("In Warteschlange")
        url = page.url
        screenshot(page, "export-run-pending-1280")
    # the worker is back: htmx swaps in the finished status without a reload
    files = page.get_by_role("link", name=re.compile("Rückgabedatei für die Abrechnung"))
    expect(files).to_be_visible(timeout=60_000)
    assert page.url == url
    expect(page.locator("#export-announce")).to_have_text(
        "Der Export ist fertig; die Dateien stehen bereit."
    )
    expect(page.locator("#export-status")).not_to_have_attribute("hx-get", re.compile("."))
    expect(page.get_by_text("2 Zählwerke vorher geschätzt")).to_be_visible()
    statistics = page.get_by_role("table", name="Zählwerke der Rückgabedatei")
    for label, count in (("Abgelesen", "3"), ("Geschätzt", "2"), ("davon nicht freigegeben", "1")):
        row = statistics.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=label, exact=True)
        )
        expect(row.get_by_role("cell")).to_have_text(count)
    message = wait_for_mails(https_server, before + 1)[-1]
    attachments = [str(part.get_filename()) for part in message.iter_attachments()]
    assert [name.rsplit("-", 1)[-1] for name in attachments] == ["rueckgabe.csv", "ergebnisse.xlsx"]
    page.reload()
    mails = page.get_by_role("table", name="E-Mails dieses Exports")
    expect(mails).to_contain_text(RECIPIENT)
    expect(mails).to_contain_text("gesendet am")
    check_page(page, axe_source, "export-run-1280")

    with page.expect_download() as download:
        files.click()
    assert download.value.suggested_filename.endswith("-lauf-1-rueckgabe.csv")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    first_line = target.read_bytes().split(b"\r\n")[0].decode("cp1252")
    assert first_line.startswith(RETURN_HEADER)

    small_clerk.goto(url)
    expect(small_clerk.get_by_role("heading", name="Dateien")).to_be_visible()
    check_page(small_clerk, axe_source, "export-run-360")

    # exported: the campaign page names the run, the export page offers no second export
    page.goto(f"/o/{SLUG}/ableseaktionen/{campaign_id}/")
    expect(page.get_by_role("link", name="Lauf 1")).to_be_visible()
    check_page(page, axe_source, "campaign-exported-1280")
    page.get_by_role("link", name="Exportläufe und Dateien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Export")
    expect(page.get_by_text("Die Ableseaktion ist bereits exportiert.")).to_be_visible()
    expect(page.get_by_role("button", name="Abschließen und exportieren")).to_have_count(0)
    check_page(page, axe_source, "export-page-exported-1280")


def test_the_admin_sets_the_recipients(
    browser: Browser, https_server: HttpsServer, campaigns: dict[str, int], axe_source: str
) -> None:
    for viewport, size in ((DESKTOP, "1280"), (SMALL, "360")):
        page = logged_in(browser, https_server, ADMIN_EMAIL, viewport=viewport)
        try:
            page.goto(f"/o/{SLUG}/einstellungen/export/")
            expect(page.get_by_role("heading", level=1)).to_have_text("Versand der Exporte")
            recipients = page.get_by_label("Empfänger:innen der Exporte")
            expect(recipients).to_have_value(RECIPIENT)
            check_page(page, axe_source, f"export-settings-{size}")
            # an admin chooses what is exported (a clerk's dialog has no choice)
            page.goto(export_page(campaigns["nojs"]))
            choice = page.get_by_role("group", name="Welche Zählerstände werden exportiert?")
            expect(
                choice.get_by_label("Freigegebene und geschätzte Zählerstände (empfohlen)")
            ).to_be_checked()
            expect(
                choice.get_by_label("Alle aktuellen Zählerstände, auch nicht freigegebene")
            ).not_to_be_checked()
            check_page(page, axe_source, f"export-page-admin-{size}")
            if size != "1280":
                continue
            page.goto(f"/o/{SLUG}/einstellungen/export/")
            recipients.fill(f"{RECIPIENT}\nkeine Adresse")
            page.get_by_role("button", name="Speichern").click()
            expect(page.get_by_role("alert").first).to_contain_text(
                "Bitte korrigieren Sie die markierten Angaben."
            )
            expect(recipients).to_have_attribute("aria-invalid", "true")
            expect(
                page.get_by_text("„keine Adresse“ ist keine gültige E-Mail-Adresse.")
            ).to_be_visible()
            check_page(page, axe_source, "export-settings-error-1280")
            recipients.fill(RECIPIENT)
            page.get_by_role("button", name="Speichern").click()
            expect(page.get_by_role("status").first).to_contain_text(
                "Die Einstellungen waren bereits so; nichts geändert."
            )
        finally:
            page.context.close()


def test_without_javascript_the_export_and_the_run_page(
    browser: Browser, https_server: HttpsServer, campaigns: dict[str, int]
) -> None:
    page = logged_in(browser, https_server, CLERK_EMAIL, viewport=SMALL, java_script_enabled=False)
    try:
        before = len(mails_to(https_server, RECIPIENT))
        page.goto(export_page(campaigns["nojs"]))
        expect(page.get_by_role("heading", level=1)).to_have_text("Abschließen und exportieren")
        # axe needs JavaScript in the page: here only text and screenshots
        screenshot(page, "export-page-nojs-360")
        with https_server.worker.paused():
            page.get_by_role("button", name="Abschließen und exportieren").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Export, Lauf 1")
            reload = page.get_by_role("link", name="Seite aktualisieren")
            expect(reload).to_be_visible()
            screenshot(page, "export-run-pending-nojs-360")
        # the worker is back; the mail is queued with the finished run: then one reload
        wait_for_mails(https_server, before + 1)
        reload.click()
        expect(page.get_by_role("heading", name="Dateien")).to_be_visible()
        expect(
            page.get_by_role("link", name=re.compile("Ergebnisse der Ableseaktion"))
        ).to_be_visible()
        screenshot(page, "export-run-nojs-360")
    finally:
        page.context.close()


if __name__ == "__main__":
    print(json.dumps(seed()))
