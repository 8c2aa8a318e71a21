"""Creating organisations and their first admin."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.utils.translation import gettext as _

from ablesung.accounts.models import User
from ablesung.core.models import Membership, Organisation, Role
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor


@dataclass(frozen=True)
class CreatedOrganisation:
    organisation: Organisation
    admin: User
    #: the generated password when the admin account was created now, else None
    password: str | None
    created: bool


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def do_create_organisation(
    slug: str, *, name: str, admin_email: str, actor: Actor
) -> CreatedOrganisation:
    """Creates the organisation (or finds it) and makes ``admin_email`` its admin.

    Running it twice changes nothing; an existing account keeps its password.
    """
    validate_slug(slug)
    validate_email(admin_email)
    if not name.strip():
        raise ValidationError(_("Bitte einen Namen angeben."))
    user_model = get_user_model()
    with transaction.atomic(durable=True):
        organisation, created = Organisation.objects.get_or_create(
            slug=slug, defaults={"name": name.strip()}
        )
        password: str | None = None
        user = user_model.objects.filter(email__iexact=admin_email).first()
        if user is None:
            password = generate_password()
            user = User.objects.create_user(admin_email, password)
            audit.record("user.created", actor=actor, organisation=organisation, obj=user)
        with organisation_scope(organisation):
            _membership, joined = Membership.objects.get_or_create(
                organisation=organisation, user=user, defaults={"role": Role.ADMIN}
            )
            if created:
                audit.record(
                    "organisation.created",
                    actor=actor,
                    organisation=organisation,
                    obj=organisation,
                    data={"slug": slug, "name": organisation.name},
                )
            if joined:
                audit.record(
                    "membership.created",
                    actor=actor,
                    organisation=organisation,
                    obj=_membership,
                    data={"email": user.email, "role": Role.ADMIN},
                )
    return CreatedOrganisation(organisation, user, password, created)
