"""Making reading letters: new access for the selected properties, and the PDF that carries it.

Where the secrets live. Access codes and link tokens are stored only as hashes
(:class:`~ablesung.core.models.AccessGrant`), so a letter can only be printed in the flow
that issues them. :func:`do_generate_letters` therefore does both in **one durable
transaction**: it revokes the selected properties' grants, issues new ones (plaintext only
in memory), writes the PDF to a temporary file, stores it with its SHA-256 and records the
batch and the audit entry. No code or token is written to a column, a job argument, a
log line or an audit entry, not even for a moment; the PDF file is the one place they
exist, and it is downloadable only by clerks and admins. If writing the PDF fails, the
transaction rolls back: the old letters stay valid and no new grant exists.

The caller runs it where the work may take its time: the command ``generate_letters``
runs it directly; a background job would run the same function (the job gets only the
batch's selection, never a secret).
"""

import hashlib
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ablesung.core.models import (
    AccessGrant,
    Campaign,
    CampaignMeter,
    Organisation,
    Property,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.access import IssuedAccess, issue_grants
from ablesung.core.services.actor import Actor
from ablesung.letters import pdf
from ablesung.letters.models import LetterBatch, LetterSelection, LetterStatus


class LettersRefused(ValueError):
    """Letters cannot be made (nothing was changed)."""


def personal_link(token: str) -> str:
    return settings.BASE_URL + reverse("portal:token_link", kwargs={"token": token})


def portal_address() -> str:
    return settings.BASE_URL + "/"


def selected_properties(
    campaign: Campaign, selection: str, object_numbers: Sequence[str] = ()
) -> list[Property]:
    """The properties with meters in ``campaign`` that the selection names (inside a scope)."""
    property_ids = (
        CampaignMeter.objects.filter(campaign=campaign, register__meter__deleted_at__isnull=True)
        .values_list("register__meter__property_id", flat=True)
        .distinct()
    )
    properties = Property.objects.filter(pk__in=property_ids)
    if selection == LetterSelection.WITHOUT_EMAIL:
        properties = properties.filter(email="")
    elif selection == LetterSelection.OBJECT_NUMBERS:
        properties = properties.filter(object_number__in=list(object_numbers))
    return list(properties.order_by("postal_code", "street", "house_number", "object_number"))


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def _rows(campaign: Campaign, properties: list[Property]) -> dict[int, list[pdf.LetterRow]]:
    rows: dict[int, list[pdf.LetterRow]] = {prop.pk: [] for prop in properties}
    campaign_meters = (
        CampaignMeter.objects.filter(
            campaign=campaign,
            register__meter__property__in=properties,
            register__meter__deleted_at__isnull=True,
        )
        .select_related("register__meter")
        .order_by("register__meter__number", "register__code", "pk")
    )
    for item in campaign_meters:
        meter = item.register.meter
        rows[meter.property_id].append(
            pdf.LetterRow(
                meter_number=meter.number,
                kind=str(meter.get_kind_display()),
                register=str(item.register.get_code_display()) if item.register.code else "",
                previous_value=_number(item.previous_value),
                previous_date=item.previous_date.strftime("%d.%m.%Y") if item.previous_date else "",
            )
        )
    return rows


def letterhead(organisation: Organisation, campaign: Campaign) -> pdf.Letterhead:
    address = [line.strip() for line in organisation.contact_address.splitlines() if line.strip()]
    contact = [*address[:3]]
    if organisation.contact_phone:
        contact.append(f"Telefon {organisation.contact_phone}")
    if organisation.contact_email:
        contact.append(organisation.contact_email)
    deadline = campaign.online_until
    return pdf.Letterhead(
        organisation=organisation.name,
        sender_line=" · ".join([organisation.name, *address[:1]]),
        contact=contact,
        portal=portal_address(),
        key_date=campaign.key_date.strftime("%d.%m.%Y"),
        deadline=deadline.strftime("%d.%m.%Y") if deadline else "",
        date=timezone.localdate().strftime("%d.%m.%Y"),
        title=f"Ablesebriefe – {campaign.name}",
    )


def _letters(
    issued: Iterable[IssuedAccess], rows: dict[int, list[pdf.LetterRow]]
) -> Iterable[pdf.Letter]:
    for access in issued:
        prop = access.property
        name = " ".join(part for part in (prop.owner_first_name, prop.owner_last_name) if part)
        street = " ".join(part for part in (prop.street, prop.house_number) if part)
        town = " ".join(part for part in (prop.postal_code, prop.city) if part)
        yield pdf.Letter(
            object_number=prop.object_number,
            name=name or "Eigentümerin, Eigentümer",
            address=[line for line in (name, street, town) if line],
            link=personal_link(access.token),
            code=access.code,
            rows=rows[prop.pk],
        )


def letters_made(campaign: Campaign) -> int:
    """How many letters of ``campaign`` were produced so far (inside a scope)."""
    return sum(
        LetterBatch.objects.filter(campaign=campaign, status=LetterStatus.SUCCEEDED).values_list(
            "done", flat=True
        )
    )


def do_generate_letters(
    campaign: Campaign,
    *,
    organisation: Organisation,
    selection: str = LetterSelection.ALL,
    object_numbers: Sequence[str] = (),
    actor: Actor,
) -> LetterBatch:
    """New access and one letter for every selected property, as one stored PDF.

    Revokes the selected properties' earlier grants in the campaign: their old letters
    and links stop working. Raises :class:`LettersRefused` (nothing changed) when the
    selection is empty.
    """
    if selection not in LetterSelection.values:
        raise LettersRefused(f"Unbekannte Auswahl „{selection}“.")
    numbers = sorted({number.strip() for number in object_numbers if number.strip()})
    if selection == LetterSelection.OBJECT_NUMBERS and not numbers:
        raise LettersRefused("Bitte mindestens eine Objektnummer angeben.")
    with transaction.atomic(durable=True), organisation_scope(organisation):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        properties = selected_properties(campaign, selection, numbers)
        if not properties:
            raise LettersRefused("Für diese Auswahl gibt es keine Objekte mit Zählern.")
        if selection == LetterSelection.OBJECT_NUMBERS:
            found = {prop.object_number for prop in properties}
            missing = [number for number in numbers if number not in found]
            if missing:
                raise LettersRefused(
                    "Diese Objektnummern haben keine Zähler in der Ableseaktion: "
                    + ", ".join(missing[:20])
                )
        now = timezone.now()
        batch: LetterBatch = LetterBatch.objects.create(
            organisation=organisation,
            campaign=campaign,
            status=LetterStatus.RUNNING,
            selection=selection,
            object_numbers=numbers,
            total=len(properties),
            actor=actor.user,
            actor_label=actor.label,
            started_at=now,
        )
        revoked = AccessGrant.objects.filter(
            campaign=campaign, property__in=properties, revoked_at__isnull=True
        ).update(revoked_at=now)
        issued = issue_grants(campaign, properties, organisation=organisation)
        rows = _rows(campaign, properties)
        digest = hashlib.sha256()
        with tempfile.TemporaryFile() as handle:
            pages = pdf.write_letters(
                handle, letterhead(organisation, campaign), _letters(issued, rows)
            )
            handle.seek(0)
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
            handle.seek(0)
            batch.pdf_name = f"ablesebriefe-{campaign.pk}-{batch.pk}.pdf"
            batch.pdf_file.save(f"letters/{batch.pdf_name}", File(handle), save=False)
        batch.pdf_sha256 = digest.hexdigest()
        batch.pages = pages
        batch.done = len(issued)
        batch.status = LetterStatus.SUCCEEDED
        batch.finished_at = timezone.now()
        batch.save()
        audit.record(
            "letters.generated",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={
                "batch": batch.pk,
                "selection": selection,
                "count": len(issued),
                "revoked": revoked,
                "pages": pages,
            },
        )
    return batch
