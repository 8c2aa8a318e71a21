"""Write paths of staff accounts: invitations, roles, deactivation, two-factor login.

Each ``do_…`` function is the outermost transaction, checks state and permission, and writes
its audit entry in the same transaction; mails go through the outbox.
"""

import datetime
import secrets
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from ablesung.accounts import twofactor
from ablesung.accounts.models import Invitation, User, new_session_stamp, token_hash
from ablesung.core.models import Membership, Organisation, Role
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.mail.services import queue_mail, render_mail


class AccountError(Exception):
    """A refused change; the message is German and for the user."""


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    link: str  # holds the token: shown to nobody, only mailed


def _active_admins(organisation: Organisation) -> int:
    return Membership.objects.filter(
        organisation=organisation, role=Role.ADMIN, is_active=True
    ).count()


def do_invite_member(
    organisation: Organisation, *, email: str, role: str, actor: Actor
) -> SentInvitation:
    """Invites ``email`` into the organisation: a one-time link valid 72 h, by mail."""
    email = email.strip().lower()
    if role not in Role.values:
        raise AccountError(_("Unbekannte Rolle."))
    token = secrets.token_urlsafe(16)  # 128 bits
    link = settings.BASE_URL + reverse("accounts:invitation", kwargs={"token": token})
    with transaction.atomic(durable=True), organisation_scope(organisation):
        member = Membership.objects.filter(
            organisation=organisation, user__email__iexact=email
        ).first()
        if member is not None:
            raise AccountError(
                _("Diese Person ist bereits Mitglied.")
                if member.is_active
                else _("Diese Person ist deaktiviert. Bitte aktivieren Sie sie wieder.")
            )
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=actor.user,
            expires_at=timezone.now() + datetime.timedelta(hours=settings.INVITATION_VALID_HOURS),
        )
        audit.record(
            "invitation.sent",
            actor=actor,
            organisation=organisation,
            obj=invitation,
            data={"email": email, "role": role},
        )
        subject, text, html = render_mail(
            "accounts/mail/invitation",
            {"organisation": organisation, "link": link, "invitation": invitation},
        )
        queue_mail(
            key=f"invitation:{invitation.pk}",
            to=email,
            subject=subject,
            text=text,
            html=html,
            organisation=organisation,
            reply_to=organisation.contact_email,
        )
    return SentInvitation(invitation, link)


def invitation_for_token(token: str) -> Invitation | None:
    """The pending invitation of a link token (not accepted, revoked or expired), or None."""
    from django_scopes import scopes_disabled

    invitation: Invitation | None
    with scopes_disabled():
        invitation = (
            Invitation.objects.filter(token_hash=token_hash(token))
            .select_related("organisation")
            .first()
        )
    if invitation is None or not invitation.is_pending or not invitation.organisation.is_active:
        return None
    return cast(Invitation, invitation)


def do_accept_invitation(
    invitation_id: int,
    *,
    password: str | None,
    full_name: str = "",
    existing_user: User | None = None,
    actor: Actor,
) -> User:
    """Makes the invitee a member with the invitation's role (once).

    A new person sets their password here (``password``); a person who has an account
    already (a member of another organisation) accepts while signed in (``existing_user``).
    """
    from django_scopes import scopes_disabled

    with transaction.atomic(durable=True), scopes_disabled():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organisation")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or not invitation.is_pending:
            raise AccountError(_("Diese Einladung ist nicht mehr gültig."))
        organisation = invitation.organisation
        user = User.objects.filter(email__iexact=invitation.email).first()
        if user is not None and user.has_usable_password():
            if existing_user is None or existing_user.pk != user.pk:
                raise AccountError(
                    _("Für diese E-Mail-Adresse gibt es ein Konto. Bitte melden Sie sich an.")
                )
        else:
            if password is None:
                raise AccountError(_("Bitte legen Sie ein Passwort fest."))
            if user is None:
                user = User(email=invitation.email)
            user.full_name = full_name.strip()[:200]
            validate_password(password, user)
            user.set_password(password)
            user.is_active = True
            user.save()
            audit.record("user.created", actor=actor, organisation=organisation, obj=user)
        membership, _created = Membership.objects.update_or_create(
            organisation=organisation,
            user=user,
            defaults={"role": invitation.role, "is_active": True},
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        actor = Actor(user=user, label=user.email, ip=actor.ip)
        audit.record(
            "invitation.accepted",
            actor=actor,
            organisation=organisation,
            obj=invitation,
            data={"email": user.email, "role": invitation.role},
        )
        audit.record(
            "membership.created",
            actor=actor,
            organisation=organisation,
            obj=membership,
            data={"email": user.email, "role": invitation.role},
        )
    return user


def do_revoke_invitation(
    organisation: Organisation, invitation_id: int, *, actor: Actor
) -> Invitation:
    invitation: Invitation
    with transaction.atomic(durable=True), organisation_scope(organisation):
        invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
        if invitation.accepted_at is not None:
            raise AccountError(_("Die Einladung wurde schon angenommen."))
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit.record(
                "invitation.revoked",
                actor=actor,
                organisation=organisation,
                obj=invitation,
                data={"email": invitation.email},
            )
    return invitation


def _locked_membership(organisation: Organisation, membership_id: int) -> Membership:
    membership: Membership = (
        Membership.objects.select_for_update().select_related("user").get(pk=membership_id)
    )
    return membership


def _lock_admins(organisation: Organisation) -> None:
    """Serialises changes that could leave the organisation without an active admin."""
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


def do_change_role(
    organisation: Organisation, membership_id: int, *, role: str, actor: Actor
) -> Membership:
    if role not in Role.values:
        raise AccountError(_("Unbekannte Rolle."))
    with transaction.atomic(durable=True), organisation_scope(organisation):
        _lock_admins(organisation)
        membership = _locked_membership(organisation, membership_id)
        old = membership.role
        if old == role:
            return membership
        if old == Role.ADMIN and membership.is_active and _active_admins(organisation) <= 1:
            raise AccountError(
                _(
                    "Die Organisation braucht mindestens eine aktive Administratorin oder einen aktiven Administrator."
                )
            )
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            "membership.role_changed",
            actor=actor,
            organisation=organisation,
            obj=membership,
            data={"email": membership.user.email, "from": old, "to": role},
        )
    return membership


def do_deactivate_member(
    organisation: Organisation, membership_id: int, *, actor: Actor
) -> Membership:
    """Takes the member's access away and ends every session of that person at once."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        _lock_admins(organisation)
        membership = _locked_membership(organisation, membership_id)
        if not membership.is_active:
            return membership
        if membership.role == Role.ADMIN and _active_admins(organisation) <= 1:
            raise AccountError(
                _(
                    "Die Organisation braucht mindestens eine aktive Administratorin oder einen aktiven Administrator."
                )
            )
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        end_sessions(membership.user)
        audit.record(
            "membership.deactivated",
            actor=actor,
            organisation=organisation,
            obj=membership,
            data={"email": membership.user.email},
        )
    return membership


def do_reactivate_member(
    organisation: Organisation, membership_id: int, *, actor: Actor
) -> Membership:
    with transaction.atomic(durable=True), organisation_scope(organisation):
        membership = _locked_membership(organisation, membership_id)
        if membership.is_active:
            return membership
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        audit.record(
            "membership.reactivated",
            actor=actor,
            organisation=organisation,
            obj=membership,
            data={"email": membership.user.email},
        )
    return membership


def end_sessions(user: User) -> None:
    """A new session stamp: every session of the account ends at its next request."""
    user.session_stamp = new_session_stamp()
    User.objects.filter(pk=user.pk).update(session_stamp=user.session_stamp)


def do_set_two_factor_required(
    organisation: Organisation, *, required: bool, actor: Actor
) -> Organisation:
    with transaction.atomic(durable=True):
        org = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if org.two_factor_required != required:
            org.two_factor_required = required
            org.save(update_fields=["two_factor_required"])
            audit.record(
                "organisation.two_factor_changed",
                actor=actor,
                organisation=org,
                obj=org,
                data={"required": required},
            )
    return org


def _user_organisations(user: Any) -> list[Organisation | None]:
    """Where an entry about a person's own account goes: each organisation they are an
    active member of (its admins and viewers see it), or nowhere (operators)."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        orgs: list[Organisation | None] = [
            m.organisation
            for m in Membership.objects.filter(user=user, is_active=True).select_related(
                "organisation"
            )
        ]
    return orgs or [None]


def record_account_event(
    action: str, *, user: Any, actor: Actor, data: dict[str, Any] | None = None
) -> None:
    """An entry about a person's own account in each of their organisations' logs."""
    for organisation in _user_organisations(user):
        audit.record(action, actor=actor, organisation=organisation, obj=user, data=data)


def do_enable_two_factor(user: User, *, key_hex: str, step: int, actor: Actor) -> list[str]:
    """Stores the confirmed TOTP key and new recovery codes (returned, shown once)."""
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(
            user=user, name="Authenticator-App", key=key_hex, confirmed=True, last_t=step
        )
        codes = twofactor.new_recovery_codes(user)
        record_account_event("auth.two_factor_enabled", user=user, actor=actor)
    return codes


def do_renew_recovery_codes(user: User, *, actor: Actor) -> list[str]:
    with transaction.atomic(durable=True):
        codes = twofactor.new_recovery_codes(user)
        record_account_event("auth.recovery_codes_renewed", user=user, actor=actor)
    return codes
