"""Recording readings: check, add a version, never overwrite.

The rule of reading versions
----------------------------
Every value recorded for a register in a campaign is a new :class:`Reading` with the
next version number of that (campaign, register); nothing is ever overwritten, and the
versions stay visible as the history.

* **Effective** is the newest version that is not in the trash. Exactly that row carries
  ``is_effective``; the database holds at most one such row per (campaign, register)
  (partial unique index ``reading_one_effective``) and never a trashed one (check
  constraint ``reading_effective_not_trashed``).
* **Record** adds the next version and makes it effective. The campaign-meter row counts
  the versions (``last_version``), so a number is never given twice, not even after its
  version was purged.
* **Trash** of the effective version makes the newest remaining live version (its
  predecessor) effective again; trash of an older version changes nothing else.
* **Restore** puts a version back into the history; it is effective again when it is the
  newest live version (a value recorded while it was in the trash stays effective).
* **Purge** deletes only trashed versions, which are never effective, so it never changes
  which version is effective and never brings an older one back.
* **Released** versions, and every version of an exported campaign, are never trashed or
  changed. Citizens cannot replace a released value; a clerk replaces it only by recording
  a new version with a note (why the released value is wrong).

Every write to a register's versions runs under the lock of its campaign-meter row
(PostgreSQL ``SELECT … FOR UPDATE OF`` that row only; SQLite's ``BEGIN IMMEDIATE`` write
transaction is one lock), and the effective version is read under that lock. A citizen
and a clerk writing the same register at the same moment therefore end up as two versions
in a row with exactly one effective (the later one).
"""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, FilteredRelation, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from ablesung import plausibility as engine
from ablesung.core.language import engine_language
from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    ConfirmationReason,
    Organisation,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.plausibility_settings import campaign_thresholds, weights_for
from ablesung.plausibility import format_date, format_decimal

UNITS = {"electricity": "kWh", "heat": "kWh"}
MAX_COMMENT = 500
MAX_REASON_TEXT = 500
MAX_NOTE = 500


class ReadingRefused(Exception):
    """The reading cannot be stored; ``messages`` say why (German, for the citizen or clerk)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


class ReadingConflict(ReadingRefused):
    """Someone stored another version since the writer saw the register: nothing is
    overwritten silently. ``current`` is the newer effective version (or ``None``)."""

    def __init__(self, current: Reading | None) -> None:
        if current is None:
            message = _(
                "Der Wert, den Sie ersetzen wollten, ist inzwischen gelöscht. Bitte prüfen "
                "Sie den Zähler noch einmal."
            )
        else:
            message = _(
                "Inzwischen wurde ein anderer Wert gespeichert: %(value)s (%(source)s, "
                "%(date)s). Bitte prüfen Sie, ob Ihr Wert ihn ersetzen soll."
            ) % {
                "value": format_decimal(current.value, engine_language(), grouped=False),
                "source": current.get_source_display(),
                "date": format_date(current.reading_date, engine_language()),
            }
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class Submission:
    """What a citizen or clerk typed for one register."""

    value: str | Decimal
    reading_date: datetime.date
    reason: str = ""
    reason_text: str = ""
    comment: str = ""
    #: a clerk's note: required to replace a released value, to store an implausible value
    #: and for a manual estimate
    note: str = ""
    #: a clerk confirmed a warning (one key press on the capture screen)
    confirmed: bool = False


@dataclass
class Recorded:
    reading: Reading
    result: engine.CheckResult
    created: bool  # False: the same value was already the effective reading
    superseded: Reading | None = field(default=None)


def unit_for(kind: str) -> str:
    return UNITS.get(kind, "m³")


def check_value(
    line: CampaignMeter,
    value: str | Decimal,
    reading_date: datetime.date,
    *,
    today: datetime.date | None = None,
) -> engine.CheckResult:
    """The plausibility check of one value for one register of a campaign."""
    meter = line.register.meter
    campaign: Campaign = line.campaign
    previous = None
    if line.previous_value is not None and line.previous_date is not None:
        previous = engine.PreviousReading(
            line.previous_value, line.previous_date, line.previous_was_estimate
        )
    previous_year = None
    if line.previous_year_consumption is not None:
        previous_year = engine.PreviousYearConsumption(line.previous_year_consumption)
    return engine.check_reading(
        value,
        reading_date,
        register=engine.Register(digits=meter.digits, decimals=meter.decimals),
        today=today or timezone.localdate(),
        previous=previous,
        previous_year=previous_year,
        key_date=campaign.key_date,
        weights=weights_for(campaign.organisation, meter.kind),
        thresholds=campaign_thresholds(campaign),
        unit=unit_for(meter.kind),
    )


# --- reading and locking ---------------------------------------------------------------------


def effective_readings(lines: Iterable[CampaignMeter]) -> dict[int, Reading]:
    """The effective reading of each line's register in its campaign, by register id (one
    query). The lines belong to one campaign."""
    lines = list(lines)
    if not lines:
        return {}
    readings = Reading.objects.filter(
        campaign_id=lines[0].campaign_id,
        register_id__in=[line.register_id for line in lines],
        is_effective=True,
    )
    return {reading.register_id: reading for reading in readings}


def with_effective(lines: "QuerySet[CampaignMeter]") -> "QuerySet[CampaignMeter]":
    """``lines`` with each line's effective reading joined in the same query: the attribute
    ``effective_reading`` (``None`` when there is none). For reading pages; a writer reads
    the effective version again after it locked the lines (:func:`locked_lines`, then
    :func:`effective_readings`), since a joined row is not read again when the lock had to
    be waited for."""
    return lines.annotate(
        effective_reading=FilteredRelation(
            "register__readings",
            condition=Q(
                register__readings__is_effective=True,
                register__readings__campaign=F("campaign"),
            ),
        )
    ).select_related("effective_reading")  # type: ignore[misc]  # the stubs miss FilteredRelation


def joined_effective(lines: Iterable[CampaignMeter]) -> dict[int, Reading]:
    """The effective readings that :func:`with_effective` joined to ``lines``, by register."""
    found: dict[int, Reading] = {}
    for line in lines:
        reading: Reading | None = getattr(line, "effective_reading", None)
        if reading is not None:
            found[line.register_id] = reading
    return found


def effective_reading(line: CampaignMeter) -> Reading | None:
    """The register's effective reading in this campaign, or ``None``."""
    return effective_readings([line]).get(line.register_id)


def locked_lines(lines: "QuerySet[CampaignMeter]") -> list[CampaignMeter]:
    """The campaign-meter rows of ``lines``, locked until the transaction ends, with
    campaign, organisation, register and meter, in a fixed order (two writers of one meter
    cannot deadlock). Only the campaign-meter rows are locked: a lock on the campaign or
    the organisation would make every write of the organisation wait for the others."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("locked lines need a transaction")
    return list(
        lines.select_for_update(of=("self",))
        .select_related("campaign__organisation", "register__meter")
        .defer("raw_row")
        .order_by("pk")
    )


def lock_line_of(reading: Reading) -> None:
    """Locks the campaign-meter row of the reading's register in its campaign (before a
    version of that register changes)."""
    list(
        CampaignMeter.objects.select_for_update(of=("self",))
        .filter(campaign_id=reading.campaign_id, register_id=reading.register_id)
        .values_list("pk", flat=True)
    )


def settle_effective(campaign_id: int, register_id: int) -> Reading | None:
    """Marks the newest live version of the register as effective and no other; the caller
    holds the line's lock. Returns the effective version (``None`` when none is live)."""
    versions = Reading.with_trashed.filter(campaign_id=campaign_id, register_id=register_id)
    newest = versions.filter(deleted_at__isnull=True).order_by("-version").first()
    stale = versions.filter(is_effective=True)
    if newest is not None:
        stale = stale.exclude(pk=newest.pk)
    stale.update(is_effective=False)  # first: the unique index allows one at a time
    if newest is not None and not newest.is_effective:
        Reading.objects.filter(pk=newest.pk).update(is_effective=True)
        newest.is_effective = True
    return newest


# --- recording -------------------------------------------------------------------------------


def citizen_may_change(line: CampaignMeter, current: Reading | None, today: datetime.date) -> bool:
    """Citizens may enter and correct values while the campaign is online and not released."""
    if not line.campaign.is_online(today):
        return False
    return current is None or current.state != ReviewState.RELEASED


def _refusal_for_state(
    line: CampaignMeter,
    current: Reading | None,
    submission: Submission,
    source: str,
    today: datetime.date,
) -> str | None:
    campaign = line.campaign
    released = current is not None and current.state == ReviewState.RELEASED
    if source == ReadingSource.ONLINE:
        if released:
            return _(
                "Dieser Zählerstand wurde bereits von der Verwaltung freigegeben und kann "
                "online nicht mehr geändert werden."
            )
        if not campaign.is_online(today):
            return _("Die Online-Erfassung ist für diese Ableseaktion nicht mehr möglich.")
        return None
    if campaign.status == CampaignStatus.EXPORTED:
        return _(
            "Die Ableseaktion ist bereits exportiert; Zählerstände können nicht mehr erfasst werden."
        )
    if released and not submission.note.strip():
        return _(
            "Dieser Zählerstand ist freigegeben. Ein neuer Wert ersetzt ihn nur mit einem "
            "Vermerk, warum der freigegebene Wert nicht stimmt."
        )
    return None


def _validate_submission(
    submission: Submission, result: engine.CheckResult, source: str
) -> list[str]:
    """Citizens confirm a questioned value with a reason; clerks confirm a warning with
    one key press and an implausible value with a note. Errors are never stored."""
    problems = []
    if result.outcome is engine.Outcome.ERROR:
        problems.extend(result.messages(engine_language()))
    elif source == ReadingSource.ONLINE:
        if result.needs_confirmation and submission.reason not in ConfirmationReason.values:
            problems.append(
                _("Bitte korrigieren Sie den Wert oder bestätigen Sie ihn mit einer Begründung.")
            )
        elif (
            result.needs_confirmation
            and submission.reason == ConfirmationReason.OTHER
            and not submission.reason_text.strip()
        ):
            problems.append(_("Bitte beschreiben Sie kurz den Grund."))
    elif result.outcome is engine.Outcome.IMPLAUSIBLE and not submission.note.strip():
        problems.append(_("Ein unplausibler Wert wird nur mit einem Vermerk gespeichert."))
    elif result.outcome is engine.Outcome.WARNING and not (
        submission.confirmed or submission.note.strip()
    ):
        problems.append(_("Bitte bestätigen Sie den Hinweis oder korrigieren Sie den Wert."))
    if source == ReadingSource.MANUAL_ESTIMATE and not submission.note.strip():
        problems.append(_("Eine manuelle Schätzung braucht einen Vermerk."))
    if len(submission.comment) > MAX_COMMENT:
        problems.append(_("Die Bemerkung darf höchstens 500 Zeichen lang sein."))
    if len(submission.reason_text) > MAX_REASON_TEXT:
        problems.append(_("Die Begründung darf höchstens 500 Zeichen lang sein."))
    if len(submission.note) > MAX_NOTE:
        problems.append(_("Der Vermerk darf höchstens 500 Zeichen lang sein."))
    return problems


def _store_photo(photo: bytes) -> str:
    name = f"photos/{timezone.now():%Y/%m}/{get_random_string(24)}.jpg"
    return default_storage.save(name, ContentFile(photo))


def _unchanged(
    current: Reading | None,
    submission: Submission,
    value: Decimal,
    reason: str,
    reason_text: str,
    source: str,
) -> bool:
    return (
        current is not None
        and current.value == value
        and current.reading_date == submission.reading_date
        and current.reason == reason
        and current.confirmation_reason == reason_text
        and current.comment == submission.comment.strip()
        and current.note == submission.note.strip()
        and current.source == source
    )


def _record(
    line: CampaignMeter,
    current: Reading | None,
    submission: Submission,
    *,
    source: str,
    actor: Actor,
    photo: bytes | None,
    today: datetime.date,
    stored_photos: list[str],
) -> Recorded:
    """Checks and stores one register's value under its line's lock. Raises
    :class:`ReadingRefused` before it writes anything for this register."""
    refusal = _refusal_for_state(line, current, submission, source, today)
    if refusal:
        raise ReadingRefused(refusal)
    result = check_value(line, submission.value, submission.reading_date, today=today)
    problems = _validate_submission(submission, result, source)
    if problems:
        raise ReadingRefused(*problems)
    assert result.value is not None  # not an error, so the value was read
    reason = submission.reason if result.needs_confirmation and submission.reason else ""
    if reason and reason not in ConfirmationReason.values:
        reason = ""
    reason_text = submission.reason_text.strip() if reason else ""
    if photo is None and _unchanged(current, submission, result.value, reason, reason_text, source):
        assert current is not None
        return Recorded(current, result, created=False)
    photo_name = ""
    if photo is not None:
        photo_name = _store_photo(photo)
        stored_photos.append(photo_name)
    organisation = line.campaign.organisation
    version = line.last_version + 1  # the line is locked: nobody else counts now
    CampaignMeter.objects.filter(pk=line.pk).update(last_version=version)
    line.last_version = version
    if current is not None:
        Reading.objects.filter(pk=current.pk).update(is_effective=False)
        current.is_effective = False
    reading = Reading.objects.create(
        organisation=organisation,
        campaign_id=line.campaign_id,
        register_id=line.register_id,
        version=version,
        is_effective=True,
        value=result.value,
        reading_date=submission.reading_date,
        source=source,
        comment=submission.comment.strip(),
        reason=reason,
        confirmation_reason=reason_text,
        note=submission.note.strip(),
        photo=photo_name,
        outcome=result.outcome.key,
        codes=list(result.codes),
        actor=actor.user,
    )
    audit.record(
        "reading.corrected" if current is not None else "reading.submitted",
        actor=actor,
        organisation=organisation,
        obj=reading,
        data={
            "register": line.register_id,
            "campaign": line.campaign_id,
            "version": version,
            "value": str(reading.value),
            "date": submission.reading_date.isoformat(),
            "source": source,
            "outcome": result.outcome.key,
            "supersedes": current.pk if current is not None else None,
            "reason": reason,
        },
    )
    return Recorded(reading, result, created=True, superseded=current)


def do_record_readings(
    lines: "QuerySet[CampaignMeter]",
    submissions: Mapping[int, Submission],
    *,
    organisation: Organisation,
    source: str,
    actor: Actor,
    photo: bytes | None = None,
    today: datetime.date | None = None,
    expected: Mapping[int, int | None] | None = None,
) -> list[Recorded]:
    """Checks and stores the values of several registers of one campaign, all or none.

    ``lines``: the caller's query (built in ``organisation``'s scope) of the campaign-meter
    rows it may write, e.g. a citizen's meter; ``submissions``: the value per register
    id, each of which must be one of those lines. The lines are locked, their effective
    readings read under the lock, every value checked and stored as a new version (an
    unchanged resubmission stores nothing). ``expected``: per register, the id of the
    effective version the writer saw (``None``: none); if another one is effective now,
    :class:`ReadingConflict` names it (two clerks saving from the same version). Raises
    :class:`ReadingRefused` and stores nothing when one register is refused; photo files
    stored for a refused submission are removed again.
    """
    today = today or timezone.localdate()
    stored_photos: list[str] = []
    try:
        with transaction.atomic(durable=True), organisation_scope(organisation):
            locked = {line.register_id: line for line in locked_lines(lines)}
            missing = [register_id for register_id in submissions if register_id not in locked]
            if missing or not submissions:
                raise ReadingRefused(_("Dieser Zähler gehört nicht (mehr) zu Ihrem Zugang."))
            chosen = [locked[register_id] for register_id in submissions]
            current = effective_readings(chosen)
            for register_id, seen in (expected or {}).items():
                now = current.get(register_id)
                if (now.pk if now is not None else None) != seen:
                    raise ReadingConflict(now)
            return [
                _record(
                    locked[register_id],
                    current.get(register_id),
                    submission,
                    source=source,
                    actor=actor,
                    photo=photo,
                    today=today,
                    stored_photos=stored_photos,
                )
                for register_id, submission in submissions.items()
            ]
    except BaseException:
        for name in stored_photos:
            default_storage.delete(name)
        raise


def do_record_reading(
    line: CampaignMeter,
    submission: Submission,
    *,
    source: str,
    actor: Actor,
    photo: bytes | None = None,
    today: datetime.date | None = None,
) -> Recorded:
    """Checks and stores one reading for a register of a campaign (see
    :func:`do_record_readings`). Raises :class:`ReadingRefused` when the value has an
    error, needs a reason that is missing, or the register may no longer be changed by
    this source."""
    organisation = line.campaign.organisation
    with organisation_scope(organisation):
        lines = CampaignMeter.objects.filter(pk=line.pk)
    (recorded,) = do_record_readings(
        lines,
        {line.register_id: submission},
        organisation=organisation,
        source=source,
        actor=actor,
        photo=photo,
        today=today,
    )
    return recorded


# --- trash -----------------------------------------------------------------------------------


def refusal_to_trash(reading: Reading) -> str | None:
    """Why ``reading`` may not go to the trash, or ``None``."""
    if reading.state == ReviewState.RELEASED:
        return _(
            "Ein freigegebener Zählerstand kann nicht gelöscht werden. Erfassen Sie stattdessen "
            "einen neuen Wert mit Vermerk."
        )
    if reading.campaign.status == CampaignStatus.EXPORTED:
        return _("Zählerstände einer exportierten Ableseaktion können nicht gelöscht werden.")
    return None
