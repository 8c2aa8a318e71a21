"""The users page of an organisation's admins: invitations (one-time link, 72 h, one
organisation), roles, deactivation (sessions end at once), at least one active admin;
sessions and password rules."""

import re

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.accounts.models import Invitation, User
from ablesung.core.models import AuditEntry, Membership, Organisation, Role
from ablesung.mail.models import OutboxMail
from tests.accounts.helpers import is_signed_in, login_post
from tests.conftest import PASSWORD, OrgData, make_member

NEW_PASSWORD = "Zählerstände im Februar ablesen, Keller links"
T0 = "2026-12-07 10:00:00 +0000"


@pytest.fixture
def admin_a(org_a: OrgData) -> User:
    return make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN)


@pytest.fixture
def admin_client(admin_a: User) -> Client:
    client = Client()
    client.force_login(admin_a)
    return client


def _invite(client: Client, email: str, role: str = Role.CLERK) -> str:
    response = client.post("/o/stadt-a/benutzer/einladen/", {"email": email, "role": role})
    assert response.status_code == 302, response.text
    mail = OutboxMail.objects.filter(to=email).latest("pk")
    assert "Einladung" in mail.subject
    match = re.search(r"https://\S+/konto/einladung/(\S+)/", mail.text)
    assert match is not None
    return f"/konto/einladung/{match.group(1)}/"


def _membership(org: Organisation, email: str) -> Membership | None:
    with scopes_disabled():
        found: Membership | None = Membership.objects.filter(
            organisation=org, user__email=email
        ).first()
    return found


@pytest.mark.django_db
def test_the_users_page_lists_members_with_role_last_login_and_two_factor(
    admin_client: Client, clerk_a: User
) -> None:
    page = admin_client.get("/o/stadt-a/benutzer/")
    assert page.status_code == 200
    assert "clerk@stadt-a.example" in page.text
    assert "Sachbearbeiter:in" in page.text
    assert "nicht eingerichtet" in page.text
    assert "eingeladen@stadt-a.example" in page.text  # the pending invitation


@pytest.mark.django_db
def test_an_invitation_link_works_once(admin_client: Client, org_a: OrgData) -> None:
    link = _invite(admin_client, "neu@stadt-a.example", Role.VIEWER)
    invitee = Client()
    opened = invitee.get(link)
    assert opened.status_code == 302
    assert opened["Location"] == "/konto/einladung/"  # the token leaves the address bar
    form = invitee.get("/konto/einladung/")
    assert "Einladung zu Stadt A" in form.text
    weak = invitee.post(
        "/konto/einladung/", {"password1": "passwort12345", "password2": "passwort12345"}
    )
    assert weak.status_code == 200
    assert "zu üblich" in weak.text
    done = invitee.post(
        "/konto/einladung/",
        {"full_name": "Nora Neu", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done["Location"] == "/o/stadt-a/"
    assert is_signed_in(invitee)
    membership = _membership(org_a.organisation, "neu@stadt-a.example")
    assert membership is not None
    assert membership.role == Role.VIEWER
    # a second use of the link: invalid
    again = Client().get(link)
    assert again.status_code == 404
    assert "gilt nicht mehr" in again.text
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"invitation.sent", "invitation.accepted", "membership.created"} <= actions
    assert login_post(Client(), "neu@stadt-a.example", NEW_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_where_two_factor_is_required_the_invitee_sets_it_up_next(admin_client: Client) -> None:
    Organisation.objects.filter(slug="stadt-a").update(two_factor_required=True)
    link = _invite(admin_client, "sicher@stadt-a.example")
    invitee = Client()
    invitee.get(link)
    done = invitee.post("/konto/einladung/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done["Location"] == "/konto/zwei-faktor/einrichten/"
    assert invitee.get("/o/stadt-a/")["Location"] == "/konto/zwei-faktor/einrichten/"


@pytest.mark.django_db
def test_an_invitation_expires_after_72_hours(admin_client: Client) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        link = _invite(admin_client, "spaet@stadt-a.example")
        traveller.shift(72 * 3600 + 1)
        assert Client().get(link).status_code == 404
    assert not User.objects.filter(email="spaet@stadt-a.example").exists()


@pytest.mark.django_db
def test_an_invitation_gives_access_to_its_own_organisation_only(
    admin_client: Client, org_a: OrgData, org_b: OrgData
) -> None:
    link = _invite(admin_client, "nur-a@example.org")
    invitee = Client()
    invitee.get(link)
    invitee.post("/konto/einladung/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert invitee.get("/o/stadt-a/").status_code == 200
    assert invitee.get("/o/stadt-b/").status_code == 404
    assert _membership(org_b.organisation, "nur-a@example.org") is None
    # B's admin cannot touch A's invitations
    b_admin = Client()
    b_admin.force_login(make_member(org_b.organisation, "admin@stadt-b.example", Role.ADMIN))
    with scopes_disabled():
        pending = Invitation.objects.filter(organisation=org_a.organisation).first()
    assert pending is not None
    revoke = f"/o/stadt-b/einladungen/{pending.pk}/zurueckziehen/"
    assert b_admin.post(revoke).status_code == 404


@pytest.mark.django_db
def test_a_member_of_another_organisation_accepts_while_signed_in(
    admin_client: Client, org_a: OrgData, org_b: OrgData
) -> None:
    person = make_member(org_b.organisation, "beide@example.org", Role.ADMIN)
    link = _invite(admin_client, "beide@example.org", Role.VIEWER)
    client = Client()
    client.get(link)
    page = client.get("/konto/einladung/")
    assert "gibt es schon ein Konto" in page.text
    assert client.post("/konto/einladung/").status_code == 200  # not signed in: nothing
    assert _membership(org_a.organisation, person.email) is None
    client.force_login(person)
    accepted = client.post("/konto/einladung/")
    assert accepted.status_code == 302
    membership_a = _membership(org_a.organisation, person.email)
    membership_b = _membership(org_b.organisation, person.email)
    assert membership_a is not None
    assert membership_a.role == Role.VIEWER
    assert membership_b is not None
    assert membership_b.role == Role.ADMIN
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


@pytest.mark.django_db
def test_inviting_a_member_again_is_refused(admin_client: Client, clerk_a: User) -> None:
    response = admin_client.post(
        "/o/stadt-a/benutzer/einladen/", {"email": clerk_a.email, "role": Role.VIEWER}
    )
    assert response.status_code == 200
    assert "bereits Mitglied" in response.text


@pytest.mark.django_db
def test_a_deactivated_members_open_session_ends_at_its_next_request(
    admin_client: Client, client_a: Client, clerk_a: User, org_a: OrgData
) -> None:
    assert client_a.get("/o/stadt-a/").status_code == 200
    membership = _membership(org_a.organisation, clerk_a.email)
    assert membership is not None
    response = admin_client.post(f"/o/stadt-a/benutzer/{membership.pk}/deaktivieren/")
    assert response.status_code == 302
    after = client_a.get("/o/stadt-a/")
    assert after.status_code == 302
    assert after["Location"].startswith("/konto/anmelden/")
    assert not is_signed_in(client_a)
    # and the password no longer signs in (no active membership left)
    assert login_post(Client(), clerk_a.email, PASSWORD).status_code == 200
    entry = AuditEntry.objects.get(action="membership.deactivated")
    assert entry.organisation == org_a.organisation
    assert entry.actor is not None
    # reactivated: signs in again
    admin_client.post(f"/o/stadt-a/benutzer/{membership.pk}/aktivieren/")
    assert login_post(Client(), clerk_a.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_deactivation_in_one_organisation_leaves_the_other(
    admin_client: Client, org_a: OrgData, org_b: OrgData
) -> None:
    person = make_member(org_a.organisation, "zwei@example.org", Role.CLERK)
    make_member(org_b.organisation, "zwei@example.org", Role.CLERK)
    membership = _membership(org_a.organisation, person.email)
    assert membership is not None
    admin_client.post(f"/o/stadt-a/benutzer/{membership.pk}/deaktivieren/")
    client = Client()
    assert login_post(client, person.email, PASSWORD).status_code == 302
    assert client.get("/o/stadt-a/").status_code == 404
    assert client.get("/o/stadt-b/").status_code == 200


@pytest.mark.django_db
def test_role_changes_are_audited_and_one_active_admin_always_remains(
    admin_client: Client, admin_a: User, clerk_a: User, org_a: OrgData
) -> None:
    clerk = _membership(org_a.organisation, clerk_a.email)
    admin = _membership(org_a.organisation, admin_a.email)
    assert clerk is not None
    assert admin is not None
    admin_client.post(f"/o/stadt-a/benutzer/{clerk.pk}/rolle/", {"role": Role.VIEWER})
    entry = AuditEntry.objects.get(action="membership.role_changed")
    assert entry.data["from"] == Role.CLERK
    assert entry.data["to"] == Role.VIEWER
    assert entry.client_ip == "127.0.0.1"
    # the only admin can neither step down nor be deactivated
    demote = admin_client.post(
        f"/o/stadt-a/benutzer/{admin.pk}/rolle/", {"role": Role.CLERK}, follow=True
    )
    assert "mindestens eine aktive" in demote.text
    deactivate = admin_client.post(f"/o/stadt-a/benutzer/{admin.pk}/deaktivieren/", follow=True)
    assert "mindestens eine aktive" in deactivate.text
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
    assert admin.is_active


@pytest.mark.django_db
def test_an_admin_requires_two_factor_for_all_members(admin_client: Client) -> None:
    admin_client.post("/o/stadt-a/benutzer/zwei-faktor/", {"required": "on"})
    assert Organisation.objects.get(slug="stadt-a").two_factor_required
    assert AuditEntry.objects.filter(action="organisation.two_factor_changed").exists()


@pytest.mark.django_db
def test_clerks_and_viewers_may_not_manage_users(org_a: OrgData, clerk_a: User) -> None:
    viewer = make_member(org_a.organisation, "viewer@stadt-a.example", Role.VIEWER)
    membership = _membership(org_a.organisation, clerk_a.email)
    assert membership is not None
    for user in (clerk_a, viewer):
        client = Client()
        client.force_login(user)
        assert client.get("/o/stadt-a/benutzer/").status_code == 403
        assert (
            client.post(
                "/o/stadt-a/benutzer/einladen/", {"email": "x@y.example", "role": Role.ADMIN}
            ).status_code
            == 403
        )
        assert client.post(f"/o/stadt-a/benutzer/{membership.pk}/deaktivieren/").status_code == 403
    assert not OutboxMail.objects.exists()
    membership.refresh_from_db()
    assert membership.is_active


@pytest.mark.django_db
def test_a_password_change_ends_the_other_sessions(clerk_a: User) -> None:
    other = Client()
    other.force_login(clerk_a)
    client = Client()
    client.force_login(clerk_a)
    changed = client.post(
        "/konto/passwort/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert client.get("/o/stadt-a/").status_code == 200
    assert other.get("/o/stadt-a/").status_code == 302
    assert AuditEntry.objects.filter(action="auth.password_changed").exists()


@pytest.mark.django_db
def test_the_password_reset_answers_alike_and_is_limited(clerk_a: User) -> None:
    other = Client()
    other.force_login(clerk_a)  # an open session elsewhere (before the link: it holds last_login)
    client = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        known = client.post("/konto/passwort/vergessen/", {"email": clerk_a.email})
        unknown = client.post("/konto/passwort/vergessen/", {"email": "niemand@example.org"})
        assert known.status_code == unknown.status_code == 302
        assert known["Location"] == unknown["Location"]
        assert OutboxMail.objects.filter(to=clerk_a.email).count() == 1
        for _ in range(4):
            traveller.shift(60)  # a new token each time
            client.post("/konto/passwort/vergessen/", {"email": clerk_a.email})
    assert OutboxMail.objects.filter(to=clerk_a.email).count() == 3  # 3 a day per address
    mail = OutboxMail.objects.filter(to=clerk_a.email).first()
    assert mail is not None
    assert "password-reset:" in mail.key
    link = re.search(r"https://\S+(/konto/passwort/neu/\S+/\S+/)", mail.text)
    assert link is not None
    assert link.group(1).split("/")[-2] not in mail.key  # no token in the (logged) key
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert other.get("/o/stadt-a/").status_code == 302  # every session ended
    assert login_post(Client(), clerk_a.email, NEW_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_session_ends_10_hours_after_login_even_when_busy(client_a: Client) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        client = Client()
        login_post(client, "clerk@stadt-a.example", PASSWORD)
        for _ in range(20):
            traveller.shift(29 * 60)
            assert client.get("/o/stadt-a/").status_code == 200
        traveller.shift(29 * 60)  # 10 h 29 min after the login
        assert client.get("/o/stadt-a/").status_code == 302


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("passwort12345", "zu üblich"),
        ("Sonnenschein2024!", "zu üblich"),
        ("password123456", "zu üblich"),
        ("kurz-Pferd", "zu kurz"),
        ("maria.mustermann1", "ähnlich"),
    ],
)
@pytest.mark.django_db
def test_password_rules(password: str, reason: str) -> None:
    user = User(email="maria.mustermann@stadt-a.example")
    with pytest.raises(ValidationError) as caught:
        validate_password(password, user)
    assert any(reason in message for message in caught.value.messages), caught.value.messages


@pytest.mark.django_db
def test_long_passphrases_are_welcome() -> None:
    user = User(email="maria.mustermann@stadt-a.example")
    validate_password(NEW_PASSWORD, user)
    validate_password("ein sehr langer Satz über Wasserzähler " * 4, user)  # 156 characters
