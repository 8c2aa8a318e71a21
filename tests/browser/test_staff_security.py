"""Staff accounts in Chromium over real HTTPS: setting up two-factor login with a TOTP code
computed by django-otp's own helper and signing in with it; the users page, an invitation
accepted through its mailed link, the audit log, the account page. Every new page is
checked with axe-core at 1280 and 360 px (JavaScript on), and for horizontal scrolling."""

import base64
import re

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Browser, Page, expect

from tests.browser.checks import (
    assert_accessible,
    assert_no_horizontal_scroll,
    screenshot,
)
from tests.browser.conftest import HttpsServer, new_context, run_command
from tests.browser.test_portal_journey import wait_for_one_mail

pytestmark = pytest.mark.browser

TOWN = ("zweifaktor", "Gemeinde Zweifaktor", "admin@zweifaktor.example")
INVITEE = "neu@zweifaktor.example"
NEW_PASSWORD = "Zählerstände im Februar ablesen, Keller links"


def totp_code(secret: str, offset: int = 0) -> str:
    """The code the authenticator app shows for the typed key (Base32, groups of four)."""
    raw = secret.replace(" ", "")
    key = base64.b32decode(raw + "=" * (-len(raw) % 8))
    return f"{TOTP(key, step=30, t0=0, digits=6, drift=offset).token():06d}"


def heading(page: Page) -> str:
    return str(page.get_by_role("heading", level=1).first.text_content())


def check(page: Page, axe_source: str, name: str) -> None:
    screenshot(page, name)
    assert_accessible(page, axe_source, name)


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/konto/anmelden/")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_load_state()


def test_two_factor_setup_and_login_then_users_invitation_and_audit_log(
    page: Page, browser: Browser, https_server: HttpsServer, axe_source: str
) -> None:
    slug, name, email = TOWN
    created = run_command(
        https_server.env, "create_organisation", slug, "--name", name, "--admin-email", email
    )
    match = re.search(r"Passwort: (\S+)", created)
    assert match, created
    password = match.group(1)

    sign_in(page, email, password)
    expect(page).to_have_url(re.compile(rf"/o/{slug}/"))
    page.get_by_role("link", name="Mein Konto").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    check(page, axe_source, "account-desktop")
    page.get_by_role("link", name="Zwei-Faktor-Anmeldung einrichten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zwei-Faktor-Anmeldung einrichten")
    expect(page.get_by_role("img", name=re.compile("QR-Code"))).to_be_visible()
    check(page, axe_source, "two-factor-setup-desktop")
    secret = str(page.locator("#totp-secret").text_content())
    setup_code = totp_code(secret)
    page.get_by_label("Sechsstelliger Code aus der App").fill(setup_code)
    page.get_by_role("button", name="Einrichten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihre Wiederherstellungscodes")
    codes = page.locator(".recovery-codes code").all_text_contents()
    assert len(codes) == 10
    check(page, axe_source, "recovery-codes-desktop")
    page.get_by_role("link", name=re.compile("weiter")).click()

    # sign out and in again: the password alone is not enough any more
    page.get_by_role("button", name=re.compile("Abmelden")).click()
    sign_in(page, email, password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Zwei-Faktor-Anmeldung")
    check(page, axe_source, "second-factor-desktop")
    field = page.get_by_label("Code aus der Authenticator-App oder Wiederherstellungscode")
    field.fill(setup_code)  # used for the setup already: refused
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.get_by_text("Der Code ist falsch oder wurde schon verwendet.")).to_be_visible()
    field = page.get_by_label("Code aus der Authenticator-App oder Wiederherstellungscode")
    field.fill(totp_code(secret, offset=1))  # the next code (one step of tolerance)
    page.get_by_role("button", name="Bestätigen").click()
    expect(page).to_have_url(re.compile(rf"/o/{slug}/"))

    # users: invite a clerk
    page.get_by_role("link", name="Benutzer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benutzer")
    check(page, axe_source, "users-desktop")
    page.get_by_role("link", name="Person einladen").click()
    check(page, axe_source, "user-invite-desktop")
    page.get_by_label("E-Mail-Adresse").fill(INVITEE)
    page.get_by_label("Sachbearbeiter:in").check()
    page.get_by_role("button", name="Einladung verschicken").click()
    expect(page.get_by_text(f"Die Einladung an {INVITEE} ist verschickt")).to_be_visible()
    page.get_by_role("link", name=email).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(email)
    check(page, axe_source, "user-detail-desktop")

    # the invitee opens the mailed link in another browser
    mail = wait_for_one_mail(https_server, INVITEE)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.search(r"https://\S+(/konto/einladung/\S+/)", body.get_content())
    assert link, body.get_content()
    invitee = new_context(browser, https_server, viewport={"width": 360, "height": 640}).new_page()
    invitee.goto(link.group(1))
    expect(invitee).to_have_url(re.compile(r"/konto/einladung/$"))
    expect(invitee.get_by_role("heading", level=1)).to_have_text(f"Einladung zu {name}")
    check(invitee, axe_source, "invitation-360")
    assert_no_horizontal_scroll(invitee, "invitation")
    invitee.get_by_label("Passwort", exact=True).fill("passwort12345")
    invitee.get_by_label("Passwort wiederholen").fill("passwort12345")
    invitee.get_by_role("button", name="Konto anlegen").click()
    expect(invitee.get_by_text(re.compile("zu üblich"))).to_be_visible()
    check(invitee, axe_source, "invitation-error-360")
    invitee.get_by_label("Passwort", exact=True).fill(NEW_PASSWORD)
    invitee.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Konto anlegen").click()
    expect(invitee).to_have_url(re.compile(rf"/o/{slug}/"))
    invitee.context.close()

    # the audit log shows it all
    page.get_by_role("link", name="Protokoll", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Protokoll")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Einladung angenommen")
    expect(table).to_contain_text("Zwei-Faktor-Anmeldung eingerichtet")
    expect(table).to_contain_text("Zweiter Faktor falsch")
    check(page, axe_source, "audit-log-desktop")
    page.get_by_label("Aktion").select_option(label="Einladung verschickt")
    page.get_by_role("button", name="Filtern").click()
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(1)


def test_new_pages_fit_a_small_screen(
    small_page: Page, https_server: HttpsServer, axe_source: str
) -> None:
    page = small_page
    slug = https_server.organisations[0].slug
    for path, name in (("/konto/passwort/vergessen/", "password-reset"),):
        page.goto(path)
        check(page, axe_source, f"{name}-360")
        assert_no_horizontal_scroll(page, name)
    sign_in(page, https_server.email, https_server.password)
    for path, name in (
        (f"/o/{slug}/benutzer/", "users"),
        (f"/o/{slug}/benutzer/einladen/", "user-invite"),
        (f"/o/{slug}/protokoll/", "audit-log"),
        ("/konto/", "account"),
        ("/konto/passwort/", "password-change"),
        ("/konto/zwei-faktor/einrichten/", "two-factor-setup"),
    ):
        response = page.goto(path)
        assert response is not None
        assert response.ok, (path, response.status)
        check(page, axe_source, f"{name}-360")
        assert_no_horizontal_scroll(page, name)
    page.goto(f"/o/{slug}/benutzer/")
    page.get_by_role("link", name=https_server.email).click()
    check(page, axe_source, "user-detail-360")
    assert_no_horizontal_scroll(page, "user detail")
