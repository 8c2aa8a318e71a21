"""Citizen access: issue links and access codes for a campaign, and resolve them.

The plaintext codes and tokens exist only in the return value of
:func:`do_issue_access` (the caller prints or exports them once); the database
holds their hashes (see :class:`~ablesung.core.models.AccessGrant`). Nothing
here logs a code or a token.

Resolving happens before any organisation is known, so the one lookup by hash
runs without a scope; everything after it runs inside the grant's organisation
scope.
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    Campaign,
    CampaignMeter,
    Organisation,
    Property,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.lib.codes import (
    format_code,
    generate_code,
    generate_token,
    is_token_shaped,
    normalise_code,
    sha256_hex,
)

#: hashed on misses so that a malformed code takes as long as a wrong one
_DUMMY_CODE = "0" * 11


@dataclass(frozen=True)
class IssuedAccess:
    """One property's new access; ``code`` and ``token`` are shown once, never stored."""

    grant_id: int
    property: Property
    code: str  # grouped for print: ABCD-EFGH-JKM
    token: str


def code_hash(normalised_code: str) -> str:
    """HMAC-SHA256 of a normalised code, keyed with the secret key (fast on purpose)."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalised_code.encode(), hashlib.sha256).hexdigest()


def normalise_meter_number(value: str) -> str:
    return value.strip()[:50]


def do_issue_access(
    campaign: Campaign, *, organisation: Organisation, actor: Actor
) -> list[IssuedAccess]:
    """New link and code for every property with meters in the campaign.

    Revokes all earlier grants of the campaign: after re-issuing, the old letters
    no longer open the portal.
    """
    with transaction.atomic(), organisation_scope(organisation):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        property_ids = (
            CampaignMeter.objects.filter(
                campaign=campaign, register__meter__deleted_at__isnull=True
            )
            .values_list("register__meter__property_id", flat=True)
            .distinct()
        )
        properties = list(Property.objects.filter(pk__in=list(property_ids)))
        now = timezone.now()
        revoked = AccessGrant.objects.filter(campaign=campaign, revoked_at__isnull=True).update(
            revoked_at=now
        )
        issued: list[tuple[Property, str, str, AccessGrant]] = []
        for prop in properties:
            code = generate_code()
            token = generate_token()
            grant = AccessGrant(
                organisation=organisation,
                campaign=campaign,
                property=prop,
                token_hash=sha256_hex(token),
                code_hash=code_hash(code),
                issued_at=now,
            )
            issued.append((prop, code, token, grant))
        AccessGrant.objects.bulk_create([grant for *_, grant in issued], batch_size=500)
        audit.record(
            "access.issued",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={"count": len(issued), "revoked": revoked},
        )
    return [
        IssuedAccess(grant_id=grant.pk, property=prop, code=format_code(code), token=token)
        for prop, code, token, grant in issued
    ]


def _live(grant: AccessGrant | None) -> AccessGrant | None:
    if grant is None or grant.revoked_at is not None:
        return None
    if grant.campaign.deleted_at is not None or grant.property.deleted_at is not None:
        return None
    if not grant.organisation.is_active:
        return None
    return grant


def resolve_token(token: str) -> AccessGrant | None:
    """The live grant behind a link token, or ``None``."""
    digest = sha256_hex(token)
    if not is_token_shaped(token):
        return None
    with scopes_disabled():
        grant = (
            AccessGrant.objects.select_related("campaign", "property", "organisation")
            .filter(token_hash=digest)
            .first()
        )
    return _live(grant)


def resolve_code(
    code: str, meter_number: str, *, organisation: Organisation | None = None
) -> AccessGrant | None:
    """The live grant for a typed access code plus a meter number of its property.

    The meter must belong to the grant's property and be part of its campaign.
    With ``organisation`` only that organisation's grants count. Every miss costs
    one HMAC like a hit, so that the answer time does not tell which part was wrong.
    """
    normalised = normalise_code(code)
    number = normalise_meter_number(meter_number)
    if normalised is None or not number:
        code_hash(_DUMMY_CODE)
        return None
    digest = code_hash(normalised)
    with scopes_disabled():
        candidates = AccessGrant.objects.select_related("campaign", "property", "organisation")
        candidates = candidates.filter(code_hash=digest, revoked_at__isnull=True)
        if organisation is not None:
            candidates = candidates.filter(organisation=organisation)
        grants = list(candidates[:5])
    for grant in grants:
        live = _live(grant)
        if live is None:
            continue
        with organisation_scope(live.organisation):
            matches = CampaignMeter.objects.filter(
                campaign=live.campaign,
                register__meter__property=live.property,
                register__meter__number=number,
                register__meter__deleted_at__isnull=True,
            ).exists()
        if matches:
            return live
    return None


def live_grant(grant_id: object) -> AccessGrant | None:
    """The grant stored in a portal session, if it still opens the portal."""
    if not isinstance(grant_id, int):
        return None
    with scopes_disabled():
        grant = (
            AccessGrant.objects.select_related("campaign", "property", "organisation")
            .filter(pk=grant_id)
            .first()
        )
    return _live(grant)
