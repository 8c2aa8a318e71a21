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
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    AccessMethod,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    GrantChannel,
    Meter,
    Organisation,
    Property,
    Register,
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
    """HMAC-SHA256 of a normalised code, keyed with ``ACCESS_CODE_PEPPER`` (fast on purpose).

    The pepper is not ``SECRET_KEY``: rotating the secret key leaves printed codes working.
    """
    key = settings.ACCESS_CODE_PEPPER.encode()
    return hmac.new(key, normalised_code.encode(), hashlib.sha256).hexdigest()


def normalise_meter_number(value: str) -> str:
    return value.strip()[:50]


def do_issue_access(
    campaign: Campaign, *, organisation: Organisation, actor: Actor
) -> list[IssuedAccess]:
    """New link and code for every property with meters in the campaign.

    Revokes all earlier printed grants of the campaign: after re-issuing, the old letters
    no longer open the portal (links sent by e-mail stay valid).
    """
    with transaction.atomic(durable=True), organisation_scope(organisation):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        property_ids = (
            CampaignMeter.objects.filter(
                campaign=campaign, register__meter__deleted_at__isnull=True
            )
            .values_list("register__meter__property_id", flat=True)
            .distinct()
        )
        properties = list(Property.objects.filter(pk__in=property_ids))  # a subquery
        revoked = AccessGrant.objects.filter(
            campaign=campaign, channel=GrantChannel.LETTER, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        issued = issue_grants(campaign, properties, organisation=organisation)
        audit.record(
            "access.issued",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={"count": len(issued), "revoked": revoked},
        )
    return issued


def issue_grants(
    campaign: Campaign,
    properties: list[Property],
    *,
    organisation: Organisation,
    channel: str = GrantChannel.LETTER,
) -> list[IssuedAccess]:
    """New grants for ``properties`` (printed, or sent by mail: ``channel``); runs inside the
    caller's transaction and scope.

    Revokes nothing: the caller revokes the grants it replaces first. The plaintext codes
    and tokens are only in the return value.
    """
    now = timezone.now()
    pending: list[tuple[Property, str, str, AccessGrant]] = []
    for prop in properties:
        code = generate_code()
        token = generate_token()
        grant = AccessGrant(
            organisation=organisation,
            campaign=campaign,
            property=prop,
            token_hash=sha256_hex(token),
            code_hash=code_hash(code),
            channel=channel,
            issued_at=now,
        )
        pending.append((prop, code, token, grant))
    AccessGrant.objects.bulk_create([grant for *_, grant in pending], batch_size=500)
    return [
        IssuedAccess(grant_id=grant.pk, property=prop, code=format_code(code), token=token)
        for prop, code, token, grant in pending
    ]


def _grant_where(**lookup: object) -> AccessGrant | None:
    """The grant matching ``lookup`` (its id or token hash), with campaign, property and
    organisation in one query. Without a scope: the organisation is not known before this
    lookup; everything after it runs in the grant's organisation scope."""
    with scopes_disabled():
        grant: AccessGrant | None = (
            AccessGrant.objects.select_related("campaign", "property", "organisation")
            .filter(**lookup)
            .first()
        )
    if grant is not None:
        grant.campaign.organisation = grant.organisation
    return grant


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
    return _live(_grant_where(token_hash=digest))


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
        if live is None or not live.organisation.accepts(AccessMethod.CODE_METER):
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
    return _live(_grant_where(pk=grant_id))


# --- the portal session's access -----------------------------------------------------------


@dataclass(frozen=True)
class PortalAccess:
    """What an open portal session may see: one property in one campaign.

    ``grant_id`` is set when the session was opened with a link or an access code;
    revoking that grant ends the session. Access by customer number has no grant.
    """

    organisation: Organisation
    campaign: Campaign
    property: Property
    grant_id: int | None = None

    def as_session(self) -> dict[str, int | None]:
        return {
            "organisation": self.organisation.pk,
            "campaign": self.campaign.pk,
            "property": self.property.pk,
            "grant": self.grant_id,
        }


def access_from_grant(grant: AccessGrant) -> PortalAccess:
    return PortalAccess(grant.organisation, grant.campaign, grant.property, grant.pk)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def load_access(data: object) -> PortalAccess | None:
    """The session's access if it still opens the portal, else ``None``.

    With a grant (link or access code) one query answers it: the grant carries its
    organisation, campaign and property, and revoking it ends the session.
    """
    if not isinstance(data, dict):
        return None
    org_id, campaign_id, property_id = (
        _int(data.get(key)) for key in ("organisation", "campaign", "property")
    )
    if org_id is None or campaign_id is None or property_id is None:
        return None
    grant_id = _int(data.get("grant"))
    if data.get("grant") is not None:
        grant = live_grant(grant_id)
        if grant is None or (grant.organisation_id, grant.campaign_id) != (org_id, campaign_id):
            return None
        if grant.property_id == property_id:
            return access_from_grant(grant)
    organisation = Organisation.objects.filter(pk=org_id, is_active=True).first()
    if organisation is None:
        return None
    with organisation_scope(organisation):
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        prop = Property.objects.filter(pk=property_id).first()
        if campaign is None or prop is None or not _in_campaign(campaign, prop):
            return None
    campaign.organisation = organisation
    return PortalAccess(organisation, campaign, prop, grant_id)


def property_registers(prop: Property) -> "QuerySet[Register]":
    """The property's live registers, as a subquery for campaign-meter lookups.

    Filtering campaign meters by ``register__in`` this subquery goes through the
    (campaign, register) index; joining from the campaign side scans the whole campaign.
    """
    return Register.objects.filter(meter__property=prop, meter__deleted_at__isnull=True)


def _in_campaign(campaign: Campaign, prop: Property) -> bool:
    registers = property_registers(prop)
    return CampaignMeter.objects.filter(campaign=campaign, register__in=registers).exists()


def _name_key(text: str) -> str:
    """Last names compare without case, accents written out, and extra spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    for plain, written in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        folded = folded.replace(plain, written)
    return " ".join(folded.split())


def resolve_customer(
    organisation: Organisation,
    customer_number: str,
    *,
    meter_number: str = "",
    last_name: str = "",
) -> PortalAccess | None:
    """Access by customer number plus a meter number or the owner's last name.

    Only for methods the organisation accepts. The campaign is the newest one that is
    not a draft and lists one of the property's meters. Misses cost one HMAC like a
    hit, so that the answer time does not tell which part was wrong.
    """
    method = AccessMethod.CUSTOMER_METER if meter_number else AccessMethod.CUSTOMER_NAME
    customer = customer_number.strip()
    code_hash(customer or _DUMMY_CODE)  # the same work on every path
    if not customer or not organisation.is_active or not organisation.accepts(method):
        return None
    with organisation_scope(organisation):
        prop = Property.objects.filter(customer_number=customer).first()
        if prop is None:
            return None
        if meter_number:
            number = normalise_meter_number(meter_number)
            if not Meter.objects.filter(property=prop, number=number).exists():
                return None
        elif not last_name.strip() or _name_key(last_name) != _name_key(prop.owner_last_name):
            return None
        campaign = (
            Campaign.objects.filter(
                campaign_meters__register__meter__property=prop,
                status__in=[CampaignStatus.OPEN, CampaignStatus.CLOSED, CampaignStatus.EXPORTED],
            )
            .order_by("-key_date", "-id")
            .first()
        )
    if campaign is None:
        return None
    return PortalAccess(organisation, campaign, prop, None)


def same_person_properties(access: PortalAccess) -> list[Property]:
    """The other properties in this campaign that carry the same (non-empty) e-mail address."""
    email = access.property.email.strip()
    if not email:
        return []
    with organisation_scope(access.organisation):
        return list(
            Property.objects.filter(
                email__iexact=email,
                meters__registers__campaign_meters__campaign=access.campaign,
                meters__deleted_at__isnull=True,
            )
            .exclude(pk=access.property.pk)
            .distinct()
            .order_by("object_number")
        )
