"""Messages from citizens to the administration ("Nachricht an die Verwaltung").

A citizen sends a message from the portal; in the backend inbox a clerk assigns it to a
member of the organisation, keeps a note, and marks it done ("erledigt", ``handled_at``)
or open again. Every change is audited (which fields changed, never the note's text).
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ablesung.accounts.models import User
from ablesung.core.models import CitizenMessage, Membership, MessageReason, Organisation, Role
from ablesung.core.scoping import organisation_scope, permissions_for
from ablesung.core.services import audit
from ablesung.core.services.access import PortalAccess
from ablesung.core.services.actor import Actor

#: the permission that handles messages; only members who have it can be assigned
HANDLE_PERMISSION = "capture"
MAX_NOTE = 2000


class MessageRefused(ValueError):
    """The change cannot be stored; the message is German, for the clerk."""


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


def assignable_members(organisation: Organisation) -> "QuerySet[User]":
    """The organisation's members who may handle messages (in its scope), by e-mail."""
    roles = [role for role in Role.values if HANDLE_PERMISSION in permissions_for(role)]
    user_ids = Membership.objects.filter(organisation=organisation, role__in=roles).values(
        "user_id"
    )
    return User.objects.filter(pk__in=user_ids, is_active=True).order_by("email")


def do_update_citizen_message(
    message_id: int,
    *,
    organisation: Organisation,
    actor: Actor,
    assignee_id: int | None,
    note: str,
    handled: bool | None = None,
) -> bool:
    """Sets the message's assignee and note, and marks it done (``handled=True``) or open
    again (``False``; ``None`` keeps its state). Returns ``False`` when nothing changed.

    Raises ``CitizenMessage.DoesNotExist`` for an id of no message of ``organisation`` and
    :class:`MessageRefused` for an assignee who may not handle messages or a note that is
    too long; then nothing is stored.
    """
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise MessageRefused(_("Der Vermerk darf höchstens 2000 Zeichen lang sein."))
    with transaction.atomic(durable=True), organisation_scope(organisation):
        message: CitizenMessage = CitizenMessage.objects.select_for_update().get(pk=message_id)
        if (
            assignee_id is not None
            and not assignable_members(organisation).filter(pk=assignee_id).exists()
        ):
            raise MessageRefused(
                _(
                    "Zuständig kann nur ein Mitglied der Organisation sein, das Nachrichten bearbeitet."
                )
            )
        changed = []
        if message.assignee_id != assignee_id:
            message.assignee_id = assignee_id
            changed.append("assignee")
        if message.note != note:
            message.note = note
            changed.append("note")
        if handled is True and message.handled_at is None:
            message.handled_at = timezone.now()
            changed.append("handled_at")
        elif handled is False and message.handled_at is not None:
            message.handled_at = None
            changed.append("handled_at")
        if not changed:
            return False
        message.save(update_fields=changed)
        audit.record(
            "citizen_message.updated",
            actor=actor,
            organisation=organisation,
            obj=message,
            data={
                "fields": changed,
                "handled": message.handled_at is not None,
                "assignee": message.assignee_id,
                "property": message.property_id,
            },
        )
    return True
