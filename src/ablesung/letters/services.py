"""Making reading letters: new access for the selected properties, and the PDF that carries it.

Where the secrets live. Access codes and link tokens are stored only as hashes
(:class:`~ablesung.core.models.AccessGrant`), so a letter can only be printed in the flow
that issues them. No code or token is written to a column, a job argument, a log line or
an audit entry, not even for a moment; the PDF files are the one place they exist, and
they are downloadable only by clerks and admins.

The work is split in two: :func:`do_request_letters` checks the selection and stores a
queued :class:`LetterBatch` (the selection only, no secret); the background job
:func:`build_batch` (``letters.tasks.build_letter_batch``) makes the letters. The command
``generate_letters`` and the demo run both steps in their own process
(:func:`do_generate_letters`).

Chunks. The build fixes the selected properties in print order on the batch
(``property_ids``, postal code first) and works through them in chunks of
``settings.LETTER_CHUNK_SIZE`` letters. Each chunk is **one durable transaction**: it
revokes the chunk's old printed grants (links sent by e-mail stay), issues new ones (plaintext only in memory), writes the
chunk's letters as a PDF part, stores it (``letters/<org>/<batch>/part-00001.pdf``) and
records the progress on the batch (``position``, ``done``, ``pages``, ``parts``). So a new
code exists only together with the stored part that prints it: if anything in a chunk
fails, the chunk rolls back completely (its properties keep their old letters, a part
file it stored is replaced by the next attempt's). The transactions are short, so on
SQLite the portal and the clerks can write between chunks, and other connections see
the letters counted up chunk by chunk (the batch page's progress bar).

When the job dies between chunks, the committed chunks stay: their properties have new
access, printed in their stored parts; the properties not yet processed keep their old,
still valid letters until their chunk commits (the confirmation on the letters page
already says that the old codes become invalid). The worker holds the batch with a
lease (``lease_until``, renewed by every chunk); the schedule's minute job
``letter_batches.resume`` (:func:`pending_batches`) hands a batch whose lease ran out or
whose task got lost to a new task, which continues after the last committed chunk. A
batch that failed (e.g. the font is missing) says why in German; "Erneut versuchen"
(:func:`do_retry_letters`) also continues after the last committed chunk rather than
starting over: starting over would revoke codes that already exist only in the stored
parts and redo work for nothing, and continuing keeps each property's letter in exactly
one chunk. A failed batch may not continue once a newer batch of the campaign exists
(it would revoke that batch's access).

At the end the parts are joined into one PDF by :func:`~ablesung.letters.joining.join`,
one part at a time (memory stays flat in the page count), stored with its SHA-256, the
batch is marked succeeded with the audit entry, and the parts are deleted.
"""

import datetime
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    Campaign,
    CampaignMeter,
    GrantChannel,
    Organisation,
    Property,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.access import IssuedAccess, issue_grants
from ablesung.core.services.actor import Actor
from ablesung.core.services.branding import logo_bytes
from ablesung.letters import joining, pdf
from ablesung.letters.models import LetterBatch, LetterSelection, LetterStatus
from ablesung.letters.text_store import texts_for
from ablesung.letters.texts import TextKind

logger = logging.getLogger(__name__)

#: a running batch's worker renews its lease with every chunk; after that the sweep may
#: hand the batch to a new task
LEASE = datetime.timedelta(minutes=5)
#: a queued batch whose task has not started after this long is enqueued again
QUEUED_GRACE = datetime.timedelta(minutes=5)


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
) -> QuerySet[Property]:
    """The properties with meters in ``campaign`` that the selection names, in print order
    (inside a scope). A query: callers count it or take ids without loading every row.

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
    return properties.order_by("postal_code", "street", "house_number", "object_number")


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


#: the salutation's name where the meter list names no owner
NO_OWNER = "Eigentümerin, Eigentümer"


def owner_name(prop: Property) -> str:
    """First and last name of the owner, as far as the meter list gives them."""
    return " ".join(part for part in (prop.owner_first_name, prop.owner_last_name) if part)


def _street_and_town(prop: Property) -> tuple[str, str]:
    street = " ".join(part for part in (prop.street, prop.house_number) if part)
    town = " ".join(part for part in (prop.postal_code, prop.city) if part)
    return street, town


def one_line_address(prop: Property) -> str:
    """The property's address on one line: ``Gartenstraße 138, 09111 Musterstadt``."""
    return ", ".join(part for part in _street_and_town(prop) if part)


def letter_for(prop: Property, link: str, code: str, rows: Sequence[pdf.LetterRow]) -> pdf.Letter:
    """The letter to ``prop``'s owner with this access."""
    name = owner_name(prop)
    return pdf.Letter(
        object_number=prop.object_number,
        name=name or NO_OWNER,
        address=[line for line in (name, *_street_and_town(prop)) if line],
        link=link,
        code=code,
        rows=rows,
    )


def _letters(
    issued: Iterable[IssuedAccess], rows: dict[int, list[pdf.LetterRow]]
) -> Iterable[pdf.Letter]:
    for access in issued:
        prop = access.property
        yield letter_for(prop, personal_link(access.token), access.code, rows[prop.pk])


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
    properties: QuerySet[Property],
    selection: str,
    numbers: list[str],
    street: str = "",
    district: str = "",
) -> None:
    if not properties.exists():
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
        found = set(properties.values_list("object_number", flat=True))
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
        count = properties.count()
        if LetterBatch.objects.filter(
            campaign=campaign, status__in=(LetterStatus.QUEUED, LetterStatus.RUNNING)
        ).exists():
            raise LettersRefused(
                "Für diese Ableseaktion werden gerade Ablesebriefe erstellt. Bitte warten "
                "Sie, bis dieser Lauf fertig ist."
            )
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
            total=count,
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
                "count": count,
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


# --- building: chunk by chunk ------------------------------------------------------------------


class LeaseLost(RuntimeError):
    """Another worker holds the batch now (this one's lease ran out): stop quietly."""


def part_name(batch: LetterBatch, number: int) -> str:
    """Where the PDF part of the ``number``-th committed chunk is stored."""
    return f"letters/{batch.organisation_id}/{batch.pk}/part-{number:05d}.pdf"


def build_batch(batch_id: int, *, chunk_size: int | None = None) -> str:
    """The job: the batch's letters chunk by chunk, then one PDF.

    Returns ``succeeded``, ``failed``, ``done`` (finished before), ``skipped`` (another
    worker holds it) or ``missing``. Idempotent and resumable: it continues after the
    last committed chunk.
    """
    organisation = _organisation_of(batch_id)
    if organisation is None:
        return "missing"
    size = chunk_size or settings.LETTER_CHUNK_SIZE
    with organisation_scope(organisation):
        claimed = _claim(batch_id)
        if not isinstance(claimed, LetterBatch):
            return claimed
        attempt = claimed.attempts
        try:
            # once per attempt: the logo is read and the text looked up once, not per chunk
            head = letterhead(organisation, claimed.campaign, _kind(claimed))
            while _chunk(batch_id, attempt, organisation, size, head):
                pass
            return _finish(batch_id, attempt, organisation, head.title)
        except LeaseLost:
            return "skipped"
        except Exception as exc:
            logger.exception("letter batch %s failed", batch_id)
            message = str(exc) if isinstance(exc, (LettersRefused, pdf.FontMissing)) else ""
            return _fail(batch_id, attempt, message)


def _organisation_of(batch_id: int) -> Organisation | None:
    """The batch's organisation, to enter its scope (a task gets only the id)."""
    with scopes_disabled():
        found = LetterBatch.objects.select_related("organisation").filter(pk=batch_id).first()
    return found.organisation if found else None


def _claim(batch_id: int) -> LetterBatch | str:
    """Takes the batch with a fresh lease; on its first run fixes the properties' order."""
    now = timezone.now()
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic(durable=True):
        batch: LetterBatch | None = (
            LetterBatch.objects.select_for_update(skip_locked=skip_locked)
            .select_related("campaign")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None:
            return "skipped"
        if batch.is_finished:
            return "done"
        if batch.status == LetterStatus.RUNNING and batch.lease_until and batch.lease_until > now:
            return "skipped"
        batch.status = LetterStatus.RUNNING
        batch.attempts += 1
        batch.lease_until = now + LEASE
        batch.started_at = batch.started_at or now
        if not batch.property_ids and not batch.position:
            properties = selected_properties(
                batch.campaign,
                batch.selection,
                batch.object_numbers,
                batch.street,
                batch.district,
            )
            batch.property_ids = list(properties.values_list("pk", flat=True))
            batch.total = len(batch.property_ids)
        batch.save()
    return batch


def _holding(batch_id: int, attempt: int) -> LetterBatch:
    """The batch, locked, if this attempt still holds it; else :class:`LeaseLost`."""
    batch: LetterBatch = (
        LetterBatch.objects.select_for_update().select_related("campaign").get(pk=batch_id)
    )
    if batch.status != LetterStatus.RUNNING or batch.attempts != attempt:
        raise LeaseLost(batch_id)
    return batch


def _chunk_properties(campaign: Campaign, ids: list[int]) -> list[Property]:
    """The chunk's properties that still have meters in the campaign, in the fixed order."""
    with_meters = CampaignMeter.objects.filter(
        campaign=campaign, register__meter__deleted_at__isnull=True
    ).values_list("register__meter__property_id", flat=True)
    found = {
        prop.pk: prop for prop in Property.objects.filter(pk__in=ids).filter(pk__in=with_meters)
    }
    return [found[pk] for pk in ids if pk in found]


def _store_part(name: str, handle: IO[bytes]) -> None:
    """Stores a chunk's PDF under its fixed name (a rolled-back attempt's file is replaced)."""
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, File(handle, name=name.rsplit("/", 1)[1]))


def _chunk(
    batch_id: int, attempt: int, organisation: Organisation, size: int, head: pdf.Letterhead
) -> bool:
    """The next chunk in ONE transaction: revoke, issue, write and store its PDF part,
    record the progress. Returns ``False`` when no chunk is left."""
    with transaction.atomic(durable=True):
        batch = _holding(batch_id, attempt)
        ids = batch.property_ids[batch.position : batch.position + size]
        if not ids:
            return False
        campaign = Campaign.objects.select_for_update().get(pk=batch.campaign_id)
        properties = _chunk_properties(campaign, ids)
        # printed access only: links sent by e-mail stay valid (a letter does not reach them)
        revoked = AccessGrant.objects.filter(
            campaign=campaign,
            property__in=properties,
            channel=GrantChannel.LETTER,
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        issued = issue_grants(campaign, properties, organisation=organisation)
        if issued:
            rows = _rows(campaign, properties)
            with tempfile.TemporaryFile() as handle:
                batch.pages += pdf.write_letters(handle, head, _letters(issued, rows))
                handle.seek(0)
                _store_part(part_name(batch, batch.parts + 1), handle)
            batch.parts += 1
        batch.position += len(ids)
        batch.done += len(issued)
        batch.revoked += revoked
        batch.lease_until = timezone.now() + LEASE
        batch.save(update_fields=["position", "done", "pages", "parts", "revoked", "lease_until"])
    return True


def _parts(names: list[str]) -> Iterator[IO[bytes]]:
    for name in names:  # one part open at a time
        with default_storage.open(name, "rb") as handle:
            yield handle


def _finish(batch_id: int, attempt: int, organisation: Organisation, title: str) -> str:
    """Joins the parts into one PDF (outside a transaction), then marks the batch done."""
    with transaction.atomic(durable=True):
        batch = _holding(batch_id, attempt)
        batch.lease_until = timezone.now() + LEASE
        batch.save(update_fields=["lease_until"])
    if not batch.parts:
        raise LettersRefused("Für diese Auswahl gibt es keine Objekte mit Zählern mehr.")
    campaign = batch.campaign
    names = [part_name(batch, number) for number in range(1, batch.parts + 1)]
    pdf_name = f"ablesebriefe-{campaign.pk}-{batch.pk}.pdf"
    target = f"letters/{pdf_name}"
    with tempfile.TemporaryFile() as handle:
        pages, sha256 = joining.join(
            _parts(names),
            handle,
            title=title,
            author=organisation.name,
        )
        handle.seek(0)
        if default_storage.exists(target):
            default_storage.delete(target)
        stored = default_storage.save(target, File(handle, name=pdf_name))
    with transaction.atomic(durable=True):
        batch = _holding(batch_id, attempt)
        batch.pdf_name = pdf_name
        batch.pdf_file.name = stored
        batch.pdf_sha256 = sha256
        batch.pages = pages
        batch.status = LetterStatus.SUCCEEDED
        batch.finished_at = timezone.now()
        batch.lease_until = None
        batch.message = ""
        batch.save()
        audit.record(
            "letters.generated",
            actor=Actor(user=batch.actor, label=batch.actor_label or "system"),
            organisation=organisation,
            obj=campaign,
            data={
                "batch": batch.pk,
                "count": batch.done,
                "revoked": batch.revoked,
                "pages": pages,
                "parts": batch.parts,
            },
        )
    _delete(names)  # committed: the joined PDF replaces the parts
    return LetterStatus.SUCCEEDED


def _delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _fail(batch_id: int, attempt: int, message: str) -> str:
    with transaction.atomic(durable=True):
        batch = LetterBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != LetterStatus.RUNNING or batch.attempts != attempt:
            return "skipped"
        batch.status = LetterStatus.FAILED
        batch.finished_at = timezone.now()
        batch.lease_until = None
        batch.message = message or "Die Ablesebriefe konnten nicht erstellt werden."
        batch.save(update_fields=["status", "finished_at", "lease_until", "message"])
    return LetterStatus.FAILED


def may_retry(batch: LetterBatch) -> bool:
    """A failed batch may continue unless a newer batch of the campaign exists: continuing
    would revoke that batch's access for the properties still to come (inside a scope)."""
    return (
        batch.status == LetterStatus.FAILED
        and not LetterBatch.objects.filter(
            campaign_id=batch.campaign_id, created_at__gt=batch.created_at
        ).exists()
    )


def do_retry_letters(batch: LetterBatch, *, actor: Actor) -> bool:
    """A failed batch continues after its last committed chunk; ``False`` if it may not."""
    with transaction.atomic(durable=True), organisation_scope(batch.organisation):
        row = LetterBatch.objects.select_for_update().get(pk=batch.pk)
        if not may_retry(row):
            return False
        row.status = LetterStatus.QUEUED
        row.message = ""
        row.finished_at = None
        row.save(update_fields=["status", "message", "finished_at"])
        audit.record(
            "letters.retried",
            actor=actor,
            organisation=batch.organisation,
            obj=row.campaign,
            data={"batch": row.pk, "done": row.done, "total": row.total},
        )
        transaction.on_commit(lambda: _enqueue(row.pk))
    return True


def pending_batches(now: datetime.datetime | None = None) -> list[int]:
    """Batches whose task got lost (queued for a while) or whose worker died (lease over)."""
    now = now or timezone.now()
    stale = Q(status=LetterStatus.QUEUED, created_at__lt=now - QUEUED_GRACE) | Q(
        status=LetterStatus.RUNNING, lease_until__lt=now
    )
    with scopes_disabled():  # the schedule looks at every organisation's batches
        return list(LetterBatch.objects.filter(stale).values_list("pk", flat=True))


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
    build failed (the batch is marked failed; the chunks committed before stay, see the
    module docstring).
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
