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

So the work is split in two: :func:`do_request_letters` checks the selection and stores a
queued :class:`LetterBatch` (the selection only, no secret); the background job
:func:`build_batch` (``letters.tasks.build_letter_batch``) then does all of the above in
its one transaction. The command ``generate_letters`` and the demo run both steps in
their own process (:func:`do_generate_letters`). Because the grants and the PDF commit
together, other connections see the batch go from queued to running to succeeded, not
the letters counted up one by one.
"""

import hashlib
import logging
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Count, QuerySet
from django.urls import reverse
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
from ablesung.core.services.access import IssuedAccess, issue_grants
from ablesung.core.services.actor import Actor
from ablesung.core.services.branding import logo_bytes
from ablesung.letters import pdf
from ablesung.letters.models import LetterBatch, LetterSelection, LetterStatus
from ablesung.letters.text_store import texts_for
from ablesung.letters.texts import TextKind

logger = logging.getLogger(__name__)


class LettersRefused(ValueError):
    """Letters cannot be made (nothing was changed)."""


def personal_link(token: str) -> str:
    return settings.BASE_URL + reverse("portal:token_link", kwargs={"token": token})


def portal_address() -> str:
    return settings.BASE_URL + "/"


def _campaign_properties(campaign: Campaign) -> QuerySet[Property]:
    property_ids = (
        CampaignMeter.objects.filter(campaign=campaign, register__meter__deleted_at__isnull=True)
        .values_list("register__meter__property_id", flat=True)
        .distinct()
    )
    return Property.objects.filter(pk__in=property_ids)


def selected_properties(
    campaign: Campaign,
    selection: str,
    object_numbers: Sequence[str] = (),
    street: str = "",
    district: str = "",
) -> list[Property]:
    """The properties with meters in ``campaign`` that the selection names (inside a scope).

    ``street``: the street of a STREET selection, in the place ``district`` if given.
    ``district``: the place of a DISTRICT selection, as the properties' ``city`` holds it –
    there is no district column; meter lists write the Ortsteil into the place ("Musterstadt
    OT Oberau"), while one postal code often spans several Ortsteile.
    """
    properties = _campaign_properties(campaign)
    if selection == LetterSelection.WITHOUT_EMAIL:
        properties = properties.filter(email="")
    elif selection == LetterSelection.OBJECT_NUMBERS:
        properties = properties.filter(object_number__in=list(object_numbers))
    elif selection == LetterSelection.REMINDER:
        from ablesung.invitations.reporting import not_reported

        properties = not_reported(campaign).filter(email="")
    elif selection == LetterSelection.STREET:
        properties = properties.filter(street=street)
        if district:
            properties = properties.filter(city=district)
    elif selection == LetterSelection.DISTRICT:
        properties = properties.filter(city=district)
    return list(properties.order_by("postal_code", "street", "house_number", "object_number"))


def campaign_streets(campaign: Campaign) -> list[tuple[str, str, int]]:
    """The streets of the campaign's properties as (street, place, number of properties),
    sorted by street and place (inside a scope)."""
    rows = (
        _campaign_properties(campaign)
        .exclude(street="")
        .values("street", "city")
        .annotate(count=Count("pk"))
        .order_by("street", "city")
    )
    return [(row["street"], row["city"], row["count"]) for row in rows]


def campaign_districts(campaign: Campaign) -> list[tuple[str, int]]:
    """The places of the campaign's properties with their number of properties (inside a
    scope)."""
    rows = (
        _campaign_properties(campaign)
        .exclude(city="")
        .values("city")
        .annotate(count=Count("pk"))
        .order_by("city")
    )
    return [(row["city"], row["count"]) for row in rows]


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


def letterhead(
    organisation: Organisation, campaign: Campaign, kind: TextKind = TextKind.LETTER
) -> pdf.Letterhead:
    """The letterhead of ``campaign``'s letters of ``kind`` (letter or reminder letter): the
    organisation's contact and logo, the dates, and the text from :func:`texts_for`."""
    address = [line.strip() for line in organisation.contact_address.splitlines() if line.strip()]
    contact = [*address[:3]]
    if organisation.contact_phone:
        contact.append(f"Telefon {organisation.contact_phone}")
    if organisation.contact_email:
        contact.append(organisation.contact_email)
    deadline = campaign.online_until
    text = texts_for(organisation, campaign, kind)
    title = "Erinnerungsbriefe" if kind == TextKind.REMINDER_LETTER else "Ablesebriefe"
    return pdf.Letterhead(
        organisation=organisation.name,
        sender_line=" · ".join([organisation.name, *address[:1]]),
        contact=contact,
        portal=portal_address(),
        key_date=campaign.key_date.strftime("%d.%m.%Y"),
        deadline=deadline.strftime("%d.%m.%Y") if deadline else "",
        date=timezone.localdate().strftime("%d.%m.%Y"),
        subject=text.subject,
        text=text.body,
        title=f"{title} – {campaign.name}",
        logo=logo_bytes(organisation),
    )


def _kind(batch: LetterBatch) -> TextKind:
    """Reminder letters have their own text."""
    if batch.selection == LetterSelection.REMINDER:
        return TextKind.REMINDER_LETTER
    return TextKind.LETTER


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


def _check_selection(
    selection: str, object_numbers: Sequence[str], street: str = "", district: str = ""
) -> list[str]:
    if selection not in LetterSelection.values:
        raise LettersRefused(f"Unbekannte Auswahl „{selection}“.")
    numbers = sorted({number.strip() for number in object_numbers if number.strip()})
    if selection == LetterSelection.OBJECT_NUMBERS and not numbers:
        raise LettersRefused("Bitte mindestens eine Objektnummer angeben.")
    if selection == LetterSelection.STREET and not street:
        raise LettersRefused("Bitte eine Straße angeben.")
    if selection == LetterSelection.DISTRICT and not district:
        raise LettersRefused("Bitte einen Ort oder Ortsteil angeben.")
    return numbers


def _selection_refusal(
    properties: list[Property],
    selection: str,
    numbers: list[str],
    street: str = "",
    district: str = "",
) -> None:
    if not properties:
        if selection == LetterSelection.STREET:
            where = f"„{street}“ in „{district}“" if district else f"„{street}“"
            raise LettersRefused(
                f"In der Straße {where} hat kein Objekt Zähler in dieser Ableseaktion."
            )
        if selection == LetterSelection.DISTRICT:
            raise LettersRefused(
                f"Im Ort „{district}“ hat kein Objekt Zähler in dieser Ableseaktion."
            )
        raise LettersRefused("Für diese Auswahl gibt es keine Objekte mit Zählern.")
    if selection == LetterSelection.OBJECT_NUMBERS:
        found = {prop.object_number for prop in properties}
        missing = [number for number in numbers if number not in found]
        if missing:
            raise LettersRefused(
                "Diese Objektnummern haben keine Zähler in der Ableseaktion: "
                + ", ".join(missing[:20])
            )


#: the selections that name a place (a street's place is optional)
_PLACE_SELECTIONS = frozenset({LetterSelection.STREET, LetterSelection.DISTRICT})


def do_request_letters(
    campaign: Campaign,
    *,
    organisation: Organisation,
    selection: str = LetterSelection.ALL,
    object_numbers: Sequence[str] = (),
    street: str = "",
    district: str = "",
    confirmed_made: int | None = None,
    actor: Actor,
    enqueue: bool = True,
) -> LetterBatch:
    """A queued letter batch for the selected properties; the job :func:`build_batch` makes it.

    ``confirmed_made``: the number of letters already produced for the campaign that the
    user confirmed to invalidate; when letters exist and it differs (or someone made
    letters meanwhile) the request is refused. ``None`` skips the check (the command line
    is its own confirmation). Raises :class:`LettersRefused`; then nothing changed.
    """
    street = street.strip() if selection == LetterSelection.STREET else ""
    district = district.strip() if selection in _PLACE_SELECTIONS else ""
    numbers = _check_selection(selection, object_numbers, street, district)
    try:
        pdf.register_fonts()
    except pdf.FontMissing as exc:
        raise LettersRefused(str(exc)) from exc
    with transaction.atomic(durable=True), organisation_scope(organisation):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        properties = selected_properties(campaign, selection, numbers, street, district)
        _selection_refusal(properties, selection, numbers, street, district)
        made = letters_made(campaign)
        if confirmed_made is not None and made and confirmed_made != made:
            raise LettersRefused(
                f"Für diese Ableseaktion wurden schon {made} Ablesebriefe erstellt. Neue "
                "Briefe machen die Zugangscodes und Links der ausgewählten Objekte ungültig; "
                "bitte bestätigen Sie das."
            )
        batch: LetterBatch = LetterBatch.objects.create(
            organisation=organisation,
            campaign=campaign,
            status=LetterStatus.QUEUED,
            selection=selection,
            object_numbers=numbers,
            street=street,
            district=district,
            total=len(properties),
            actor=actor.user,
            actor_label=actor.label,
        )
        audit.record(
            "letters.requested",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={
                "batch": batch.pk,
                "selection": selection,
                "count": len(properties),
                **({"street": street} if street else {}),
                **({"district": district} if district else {}),
            },
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(batch.pk))
    return batch


def _enqueue(batch_id: int) -> None:
    from ablesung.letters.tasks import build_letter_batch

    build_letter_batch.enqueue(batch_id)


def build_batch(batch_id: int) -> str:
    """The job: new access for the batch's properties and the PDF, in one transaction.

    Idempotent: a finished batch is left alone; a batch whose worker died mid-way was
    rolled back completely and is built from the start. Returns the batch's status.
    """
    with scopes_disabled():
        found = LetterBatch.objects.select_related("organisation").filter(pk=batch_id).first()
    if found is None:
        return "missing"
    organisation = found.organisation
    with transaction.atomic(durable=True), organisation_scope(organisation):
        LetterBatch.objects.filter(pk=batch_id, status=LetterStatus.QUEUED).update(
            status=LetterStatus.RUNNING, started_at=timezone.now()
        )
    try:
        return _build(batch_id, organisation)
    except Exception as exc:
        logger.exception("letter batch %s failed", batch_id)
        message = str(exc) if isinstance(exc, (LettersRefused, pdf.FontMissing)) else ""
        with transaction.atomic(durable=True), organisation_scope(organisation):
            LetterBatch.objects.filter(pk=batch_id, status=LetterStatus.RUNNING).update(
                status=LetterStatus.FAILED,
                finished_at=timezone.now(),
                message=message or "Die Ablesebriefe konnten nicht erstellt werden.",
            )
        return LetterStatus.FAILED


def _build(batch_id: int, organisation: Organisation) -> str:
    with transaction.atomic(durable=True), organisation_scope(organisation):
        batch: LetterBatch = (
            LetterBatch.objects.select_for_update().select_related("campaign").get(pk=batch_id)
        )
        if batch.status != LetterStatus.RUNNING:
            return str(batch.status)
        campaign = Campaign.objects.select_for_update().get(pk=batch.campaign_id)
        properties = selected_properties(
            campaign, batch.selection, batch.object_numbers, batch.street, batch.district
        )
        if not properties:
            raise LettersRefused("Für diese Auswahl gibt es keine Objekte mit Zählern mehr.")
        now = timezone.now()
        revoked = AccessGrant.objects.filter(
            campaign=campaign, property__in=properties, revoked_at__isnull=True
        ).update(revoked_at=now)
        issued = issue_grants(campaign, properties, organisation=organisation)
        rows = _rows(campaign, properties)
        digest = hashlib.sha256()
        with tempfile.TemporaryFile() as handle:
            pages = pdf.write_letters(
                handle, letterhead(organisation, campaign, _kind(batch)), _letters(issued, rows)
            )
            handle.seek(0)
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
            handle.seek(0)
            batch.pdf_name = f"ablesebriefe-{campaign.pk}-{batch.pk}.pdf"
            batch.pdf_file.save(f"letters/{batch.pdf_name}", File(handle), save=False)
        batch.pdf_sha256 = digest.hexdigest()
        batch.pages = pages
        batch.total = len(properties)
        batch.done = len(issued)
        batch.status = LetterStatus.SUCCEEDED
        batch.finished_at = timezone.now()
        batch.save()
        audit.record(
            "letters.generated",
            actor=Actor(user=batch.actor, label=batch.actor_label or "system"),
            organisation=organisation,
            obj=campaign,
            data={"batch": batch.pk, "count": len(issued), "revoked": revoked, "pages": pages},
        )
    return LetterStatus.SUCCEEDED


def do_generate_letters(
    campaign: Campaign,
    *,
    organisation: Organisation,
    selection: str = LetterSelection.ALL,
    object_numbers: Sequence[str] = (),
    street: str = "",
    district: str = "",
    actor: Actor,
) -> LetterBatch:
    """Requests and builds a batch right here (the command line, the demo).

    Raises :class:`LettersRefused` when the request is refused (nothing changed) or the
    build failed (the batch is marked failed; no access changed).
    """
    batch = do_request_letters(
        campaign,
        organisation=organisation,
        selection=selection,
        object_numbers=object_numbers,
        street=street,
        district=district,
        actor=actor,
        enqueue=False,
    )
    build_batch(batch.pk)
    with organisation_scope(organisation):
        batch.refresh_from_db()
    if batch.status != LetterStatus.SUCCEEDED:
        raise LettersRefused(batch.message)
    return batch
