"""Invitations in Chromium: a clerk opens "Portal bereit?" from the campaign, sees the shared
address and the property without one, sends the invitations, and the run page shows each
person's mail as sent once the worker delivered it; the reminders page; axe-core and
screenshots at 1280 and 360 px.

The data comes from this file run as a script in the server's environment (``seed``).
"""

import json
import re
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.checks import check_page, signed_in
from tests.browser.conftest import REPO_DIR, HttpsServer, _checked
from tests.browser.test_letters import DESKTOP, SMALL
from tests.mail.conftest import SmtpServer

pytestmark = pytest.mark.browser

CLERK_EMAIL = "einladung-sachbearbeitung@example.org"
PASSWORD = "Zaehlerstand-Einladung-2026"
SLUG = "einladungsheim"


def seed() -> dict[str, int]:
    import datetime
    import os

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

    org = Organisation.objects.create(
        slug=SLUG, name="Gemeinde Einladungsheim", contact_email="ablesung@einladung.example"
    )
    clerk = User.objects.create_user(CLERK_EMAIL, PASSWORD)
    Membership.objects.create(organisation=org, user=clerk, role=Role.CLERK)
    today = timezone.localdate()
    addresses = ["familie.jaeger@example.org", "Familie.Jaeger@example.org", ""]
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org,
            name="Jahresablesung Einladungsheim",
            key_date=today,
            status=CampaignStatus.OPEN,
            online_from=today - datetime.timedelta(days=1),
            online_until=today + datetime.timedelta(days=20),
        )
        for index, email in enumerate(addresses):
            prop = Property.objects.create(
                organisation=org,
                object_number=f"E-{index:03d}",
                customer_number=f"72.{index:08d}",
                owner_last_name=f"Jäger {index}",
                street="Lindenweg",
                house_number=str(index + 1),
                postal_code="09111",
                city="Einladungsheim",
                email=email,
            )
            meter = Meter.objects.create(organisation=org, property=prop, number=f"EM-{index}")
            register = Register.objects.create(organisation=org, meter=meter)
            CampaignMeter.objects.create(organisation=org, campaign=campaign, register=register)
    return {"campaign": campaign.pk}


@pytest.fixture(scope="module")
def data(https_server: HttpsServer) -> dict[str, int]:
    env = {**https_server.env, "PYTHONPATH": str(REPO_DIR)}
    output = _checked([sys.executable, "-m", __name__], env, "test_invitations.py seed")
    result: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return result


def _login(browser: Browser, https_server: HttpsServer, viewport: ViewportSize) -> Page:
    return signed_in(
        browser,
        https_server,
        viewport,
        email=CLERK_EMAIL,
        password=PASSWORD,
        organisation="Gemeinde Einladungsheim",
        accept_downloads=False,
    )


@pytest.fixture
def clerk(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    page = _login(browser, https_server, DESKTOP)
    yield page
    page.context.close()


def test_a_clerk_checks_the_addresses_invites_and_follows_the_run(
    clerk: Page,
    browser: Browser,
    https_server: HttpsServer,
    smtp_server: SmtpServer,
    data: dict[str, int],
    axe_source: str,
) -> None:
    page = clerk
    page.goto(f"/o/{SLUG}/ableseaktionen/{data['campaign']}/")
    page.get_by_role("link", name=re.compile("Portal bereit")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Portal bereit?")
    expect(page.get_by_text("1 Adresse (2 Objekte)")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="E-000, E-001")).to_be_visible()
    expect(page.get_by_role("link", name="E-002")).to_be_visible()
    check_page(page, axe_source, "portal-ready-1280")
    small = _login(browser, https_server, SMALL)
    small.goto(page.url)
    check_page(small, axe_source, "portal-ready-360")

    before = len(smtp_server.collector.received)
    page.get_by_role("button", name="Einladungen senden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Einladung per E-Mail")
    # the worker prepares and sends: reload until the one mail is sent
    for _attempt in range(60):
        if page.locator("#run-counts").count() and "gesendet" in page.locator("tbody").inner_text():
            break
        page.wait_for_timeout(1000)
        page.reload()
    row = page.get_by_role("row").filter(has_text="familie.jaeger@example.org")
    expect(row).to_contain_text("E-000, E-001")
    expect(row).to_contain_text("gesendet")
    check_page(page, axe_source, "invitation-run-1280")
    small.goto(page.url)
    check_page(small, axe_source, "invitation-run-360")
    received = smtp_server.collector.recipients[before:]
    assert [to.casefold() for [to] in received] == ["familie.jaeger@example.org"]

    # a second invitation asks for confirmation; the reminders page
    page.goto(f"/o/{SLUG}/ableseaktionen/{data['campaign']}/portal-bereit/")
    page.get_by_role("button", name="Einladungen senden").click()
    expect(page.get_by_text("Bitte bestätigen Sie")).to_be_visible()
    page.get_by_role("link", name="Erinnerungen").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erinnerungen")
    check_page(page, axe_source, "reminders-1280")
    small.goto(page.url)
    check_page(small, axe_source, "reminders-360")
    small.context.close()


if __name__ == "__main__":
    print(json.dumps(seed()))
