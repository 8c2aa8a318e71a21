"""Messages from citizens to the administration ("Nachricht an die Verwaltung")."""

from django.db import transaction

from ablesung.core.models import CitizenMessage, MessageReason
from ablesung.core.services import audit
from ablesung.core.services.access import PortalAccess
from ablesung.core.services.actor import Actor


def do_send_citizen_message(
    access: PortalAccess,
    *,
    reason: str,
    text: str,
    phone: str = "",
    email: str = "",
    actor: Actor,
) -> CitizenMessage:
    """Stores the message for the backend inbox (the form has validated the fields)."""
    if reason not in MessageReason.values:
        raise ValueError(reason)
    with transaction.atomic(durable=True):
        message: CitizenMessage = CitizenMessage.objects.create(
            organisation=access.organisation,
            campaign=access.campaign,
            property=access.property,
            reason=reason,
            text=text.strip(),
            phone=phone.strip(),
            email=email.strip(),
        )
        audit.record(
            "citizen_message.received",
            actor=actor,
            organisation=access.organisation,
            obj=message,
            data={"reason": reason, "property": access.property.pk},
        )
    return message
