"""The confirmation e-mail a citizen can ask for after entering readings.

Anyone holding one letter could otherwise make the organisation's mail relay write to any
address without end: a portal grant (or, for a session without one, a property) gets at
most ``CONFIRMATION_MAILS_PER_GRANT_PER_DAY`` mails a day, an address at most
``CONFIRMATION_MAILS_PER_ADDRESS_PER_DAY`` (counted in :mod:`ablesung.core.ratelimit`,
whose counters are never evicted before the day ends). Asking again for the same readings
to the same address queues no new mail and counts nothing.
"""

import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import translation

from ablesung.core import ratelimit
from ablesung.core.models import Reading
from ablesung.core.services import audit
from ablesung.core.services.access import PortalAccess
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import unit_for
from ablesung.mail.models import OutboxMail
from ablesung.mail.services import queue_mail, render_mail

TEMPLATE = "portal/mail/reading_confirmation"


class TooManyConfirmations(Exception):
    """The grant's or the address's confirmation mails for today are used up."""


def _ordered(readings: Sequence[Reading]) -> list[Reading]:
    return sorted(readings, key=lambda reading: (reading.register.meter.number, reading.pk))


def _mail_key(access: PortalAccess, readings: Sequence[Reading], email: str) -> str:
    """The outbox key: a digest of what is confirmed to whom (it holds no address)."""
    fingerprint = "|".join([*(str(r.pk) for r in _ordered(readings)), email.strip().lower()])
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()
    return f"reading-confirmation:{access.property.pk}:{digest}"


def _uses(access: PortalAccess, email: str) -> list[tuple[ratelimit.Limit, str]]:
    sender = (
        f"grant:{access.grant_id}"
        if access.grant_id is not None
        else f"property:{access.property.pk}"
    )
    return [
        (
            ratelimit.Limit(
                "mail-grant", settings.CONFIRMATION_MAILS_PER_GRANT_PER_DAY, ratelimit.DAY
            ),
            sender,
        ),
        (
            ratelimit.Limit(
                "mail-address", settings.CONFIRMATION_MAILS_PER_ADDRESS_PER_DAY, ratelimit.DAY
            ),
            f"address:{email.strip().casefold()}",
        ),
    ]


def do_queue_reading_confirmation(
    access: PortalAccess, readings: Sequence[Reading], *, email: str, lang: str, actor: Actor
) -> OutboxMail:
    """Queues one mail listing ``readings`` to ``email``, within the daily limits.

    The same readings to the same address give one mail. Raises
    :class:`TooManyConfirmations` (nothing queued, nothing counted in the table store) when
    the grant or the address has had its mails for today.
    """
    key = _mail_key(access, readings, email)
    with transaction.atomic(durable=True):
        existing = OutboxMail.objects.filter(key=key).first()
        if existing is not None:
            return existing
        if ratelimit.take(_uses(access, email)) is not None:
            raise TooManyConfirmations
        mail = _queue(access, readings, email=email, lang=lang, key=key)
        audit.record(
            "reading.confirmation_requested",
            actor=actor,
            organisation=access.organisation,
            obj=access.property,
            data={"readings": sorted(reading.pk for reading in readings), "mail": mail.pk},
        )
    return mail


def _queue(
    access: PortalAccess, readings: Sequence[Reading], *, email: str, lang: str, key: str
) -> OutboxMail:
    rows = [
        {
            "meter": reading.register.meter.number,
            "register": reading.register.code,
            "kind": reading.register.meter.get_kind_display(),
            "value": reading.value,
            "decimals": reading.register.meter.decimals,
            "unit": unit_for(reading.register.meter.kind),
            "date": reading.reading_date,
            "confirmed": bool(reading.reason),
        }
        for reading in _ordered(readings)
    ]
    context = {
        "organisation": access.organisation,
        "organisation_name": access.organisation.name,
        "campaign": access.campaign,
        "property": access.property,
        "rows": rows,
    }
    with translation.override(lang):
        subject, text, html = render_mail(TEMPLATE, context)
    return queue_mail(
        key=key,
        to=email,
        subject=subject,
        text=text,
        html=html,
        organisation=access.organisation,
        reply_to=access.organisation.contact_email,
    )
