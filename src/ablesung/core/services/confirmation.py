"""The confirmation e-mail a citizen can ask for after entering readings."""

import hashlib
from collections.abc import Sequence

from django.utils import translation

from ablesung.core.models import Reading
from ablesung.core.services.access import PortalAccess
from ablesung.core.services.readings import unit_for
from ablesung.mail.models import OutboxMail
from ablesung.mail.services import queue_mail, render_mail

TEMPLATE = "portal/mail/reading_confirmation"


def queue_reading_confirmation(
    access: PortalAccess, readings: Sequence[Reading], *, email: str, lang: str
) -> OutboxMail:
    """Queues one mail listing ``readings``; the same readings to the same address give one mail.

    Must run inside a transaction (the outbox sends after commit).
    """
    ordered = sorted(readings, key=lambda reading: (reading.register.meter.number, reading.pk))
    rows = [
        {
            "meter": reading.register.meter.number,
            "register": reading.register.code,
            "kind": reading.register.meter.get_kind_display(),
            "value": reading.value,
            "unit": unit_for(reading.register.meter.kind),
            "date": reading.reading_date,
            "confirmed": bool(reading.reason),
        }
        for reading in ordered
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
    # the key holds no address: a digest of what is confirmed to whom
    fingerprint = "|".join([*(str(reading.pk) for reading in ordered), email.strip().lower()])
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()
    return queue_mail(
        key=f"reading-confirmation:{access.property.pk}:{digest}",
        to=email,
        subject=subject,
        text=text,
        html=html,
        organisation=access.organisation,
        reply_to=access.organisation.contact_email,
    )
            "decimals": reading.register.meter.decimals,
