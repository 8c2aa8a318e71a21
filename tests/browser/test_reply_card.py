"""A printed reading letter in Chromium, both ways back: the citizen follows the letter's QR
code into the portal, the clerk scans the reply card's code into the capture screen.

The letters are made for an organisation of its own ("Wasserverband Antwortfeld") by this
file run as a script in the server's environment (``seed``), with an open campaign of three
properties, one of them with two meters whose numbers hold a space and a slash. Each QR
code is decoded from the rendered PDF with zxing-cpp, as a phone or a scanner would read
the paper: the link of each letter shows exactly that property's meters in the portal; the
card's code, typed by the "scanner" (``keyboard.type`` + Enter) into the capture screen's
search field, opens that property's capture form with the card's meters, source
"Ablesekarte", and the readings typed from the card are saved. axe-core and screenshots at
1280 and 360 px.
"""

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from ablesung.letters.reply_card import encode, parse
from tests.browser.checks import check_page, signed_in
from tests.browser.conftest import REPO_DIR, HttpsServer, _checked, new_context
from tests.letters.pdfcheck import page_codes, page_texts

pytestmark = pytest.mark.browser

CLERK_EMAIL = "antwort-sachbearbeitung@example.org"
PASSWORD = "Zaehlerstand-Karten-2026"
SLUG = "antwortfeld"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SMALL: ViewportSize = {"width": 360, "height": 640}
#: object number → meter numbers (previous reading 1000 + position in this table)
PROPERTIES = {
    "AF-001/A": ["WZ 12/3", "51-7788"],
    "AF-002": ["51-9900"],
    "AF-003": ["51-9911"],
}


def seed(out: str) -> dict[str, int]:
    """The organisation, its clerk, an open campaign; the letters PDF written to ``out``."""
    import datetime
    from decimal import Decimal

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
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
    from ablesung.letters.services import do_generate_letters

    today = datetime.date.today()
    org = Organisation.objects.create(
        slug=SLUG,
        name="Wasserverband Antwortfeld",
        contact_email="ablesung@antwortfeld.example",
        contact_address="Am Wasserturm 2\n09112 Antwortfeld",
    )
    clerk = User.objects.create_user(CLERK_EMAIL, PASSWORD)
    Membership.objects.create(organisation=org, user=clerk, role=Role.CLERK)
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org,
            name="Jahresablesung Antwortfeld",
            key_date=today,
            status=CampaignStatus.OPEN,
            online_from=today - datetime.timedelta(days=1),
            online_until=today + datetime.timedelta(days=30),
        )
        row = 2
        for index, (object_number, meters) in enumerate(PROPERTIES.items()):
            prop = Property.objects.create(
                organisation=org,
                object_number=object_number,
                customer_number=f"72.{index:08d}",
                owner_last_name=f"Jäger {index}",
                owner_first_name="Ömer",
                street="Brunnenweg",
                house_number=str(index + 1),
                postal_code="09112",
                city="Antwortfeld",
            )
            for number in meters:
                meter = Meter.objects.create(organisation=org, property=prop, number=number)
                register = Register.objects.create(organisation=org, meter=meter)
                CampaignMeter.objects.create(
                    organisation=org,
                    campaign=campaign,
                    register=register,
                    previous_value=Decimal(1000 + row),
                    previous_date=today - datetime.timedelta(days=365),
                    row_number=row,
                )
                row += 1
    batch = do_generate_letters(campaign, organisation=org, actor=Actor.system("test"))
    with batch.pdf_file.open("rb") as stored:
        Path(out).write_bytes(stored.read())
    return {"campaign": campaign.pk}


@pytest.fixture(scope="module")
def letters(https_server: HttpsServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The letters PDF; the campaign's id in ``campaign.json`` next to it."""
    out = tmp_path_factory.mktemp("reply-card") / "briefe.pdf"
    # this checkout's code first (the virtual environment may point to another checkout's)
    env = {
        **https_server.env,
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "src"), str(REPO_DIR)]),
    }
    output = _checked([sys.executable, "-m", __name__, str(out)], env, "test_reply_card seed")
    out.with_name("campaign.json").write_text(output.strip().splitlines()[-1])
    return out


def campaign_id(letters: Path) -> int:
    found = json.loads(letters.with_name("campaign.json").read_text())["campaign"]
    assert isinstance(found, int)
    return found


def printed(letters: Path) -> dict[str, tuple[str, str]]:
    """Object number → (the letter's link, the reply card's code), as decoded from paper."""
    found = {}
    for text, codes in zip(page_texts(letters), page_codes(letters), strict=True):
        [number] = [number for number in PROPERTIES if f"Objektnummer: {number}" in text]
        [link] = [code for code in codes if "/r/" in code]
        [card] = [code for code in codes if code.startswith("AK1.")]
        found[number] = (link, card)
    assert sorted(found) == sorted(PROPERTIES)
    return found


def logged_in(browser: Browser, https_server: HttpsServer, viewport: ViewportSize) -> Page:
    return signed_in(
        browser,
        https_server,
        viewport,
        email=CLERK_EMAIL,
        password=PASSWORD,
        organisation="Wasserverband Antwortfeld",
        accept_downloads=False,
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


def scan(page: Page, code: str) -> None:
    """What a keyboard-wedge scanner does: types the code into the focused field, Enter."""
    search = page.get_by_label("Zähler- oder Objektnummer")
    expect(search).to_be_focused()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_each_letters_qr_code_leads_to_exactly_that_propertys_meters(
    browser: Browser, https_server: HttpsServer, letters: Path
) -> None:
    for number, (link, _card) in printed(letters).items():
        context = new_context(browser, https_server, viewport=SMALL)
        page = context.new_page()
        page.goto(urlsplit(link).path)
        expect(page).to_have_url(re.compile(r"/portal/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Ihre Zähler")
        main = page.locator("main")
        for other, meters in PROPERTIES.items():
            for meter in meters:
                if other == number:
                    expect(main).to_contain_text(meter)
                else:
                    expect(main).not_to_contain_text(meter)
        context.close()


def test_a_clerk_scans_a_reply_card_and_types_its_readings(
    clerk: Page, small_clerk: Page, letters: Path, axe_source: str
) -> None:
    cards = {number: card for number, (_link, card) in printed(letters).items()}
    assert parse(cards["AF-001/A"]) is not None
    capture = f"/o/{SLUG}/ableseaktionen/{campaign_id(letters)}/erfassung/"
    page = clerk
    page.goto(capture)
    scan(page, cards["AF-001/A"])
    expect(
        page.get_by_role("heading", level=2, name="Antwortkarte: Objekt AF-001/A")
    ).to_be_visible()
    values = page.locator("input.capture-value")
    expect(values).to_have_count(2)
    groups = page.locator(".capture-register h3")
    expect(groups).to_have_text([re.compile("Zähler 51-7788"), re.compile("Zähler WZ 12/3")])
    expect(values.first).to_be_focused()
    expect(page.get_by_label("Quelle")).to_have_value("letter")
    expect(page.locator("main")).not_to_contain_text("51-9900")
    check_page(page, axe_source, "reply-card-found-1280")

    # the readings from the card: value, Tab to the next, value, Enter
    page.keyboard.type("1052")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement === document.querySelectorAll('.capture-value')[1]"
        ):
            break
    page.keyboard.type("1060")
    page.keyboard.press("Enter")
    status = page.get_by_role("status").filter(has_text="Gespeichert:")
    expect(status).to_contain_text("51-7788: 1052, WZ 12/3: 1060 (Ablesekarte,")
    expect(page.get_by_label("Zähler- oder Objektnummer")).to_be_focused()

    # on a phone: a card whose meter was exchanged since the letter was printed
    small = small_clerk
    small.goto(capture)
    scan(small, encode("AF-003", ["51-9911", "51-0000"]))
    expect(
        small.get_by_text("Der Zähler 51-0000 gehört nicht (mehr) zu diesem Objekt")
    ).to_be_visible()
    expect(small.locator("input.capture-value")).to_have_count(1)
    check_page(small, axe_source, "reply-card-changed-360")
    small.goto(capture)
    scan(small, cards["AF-002"])
    expect(
        small.get_by_role("heading", level=2, name="Antwortkarte: Objekt AF-002")
    ).to_be_visible()
    check_page(small, axe_source, "reply-card-found-360")


if __name__ == "__main__":
    print(json.dumps(seed(sys.argv[1])))
