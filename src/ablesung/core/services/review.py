"""Review (Prüfung): the clerk's second look at readings the plausibility check questioned.

The review queue holds the effective readings of a campaign that are not released and not
yet reviewed, and that the check found implausible, or that got a warning a citizen
confirmed with a reason ("Leerstand", "Rohrbruch" …) — oldest first. Each comes with the
engine's explanation of a fresh re-check (the thresholds may have changed since the value
came in), the register's consumption history, the photo and the comment.

What a clerk does with a queued reading:

* **accept** (:func:`do_accept_reading`): the value stays as it is and may be released;
  state ``reviewed``. An implausible value needs a note saying why it is right.
* **correct** (:func:`do_correct_reading`): a new version through the readings service,
  from the version the clerk saw (``expected``: someone else's newer value is a conflict,
  never overwritten); the source is kept or changed.
* **ask for a control reading** (:func:`do_request_control_reading`, cleared with
  :func:`do_clear_control_reading`): the campaign-meter row carries the time of the request;
  lists and the export show it. A value recorded before the request is not released by a
  release run until a newer one arrives (see :mod:`ablesung.core.services.release`).

Every change of a register's versions (accepting is one: it changes a version's state)
runs under the lock of its campaign-meter row, as the readings service's rule says.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ablesung import plausibility as engine
from ablesung.core.language import engine_language
from ablesung.core.models import (
    CAPTURE_SOURCES,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Organisation,
    Outcome,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.history import HistoryPoint, consumption_history, register_lines
from ablesung.core.services.readings import (
    MAX_NOTE,
    ReadingConflict,
    ReadingRefused,
    Recorded,
    Submission,
    check_value,
    do_record_readings,
    locked_lines,
    unit_for,
)

#: the sources a clerk may give a corrected value (what was captured, or a manual estimate)
CORRECTION_SOURCES: tuple[str, ...] = (*CAPTURE_SOURCES, ReadingSource.MANUAL_ESTIMATE)
#: the review queue's two kinds (the ``art`` filter of its page)
QUEUE_IMPLAUSIBLE = "unplausibel"
QUEUE_CONFIRMED_WARNING = "hinweis"
QUEUE_KINDS = (QUEUE_IMPLAUSIBLE, QUEUE_CONFIRMED_WARNING)


# --- the queue -------------------------------------------------------------------------------


def queue_condition(kind: str = "") -> Q:
    """Which unreleased effective readings wait for review (``kind``: one of QUEUE_KINDS or
    both): implausible ones, and warnings confirmed with a reason; not yet reviewed."""
    implausible = Q(outcome=Outcome.IMPLAUSIBLE)
    confirmed_warning = Q(outcome=Outcome.WARNING) & ~Q(reason="")
    condition = {
        QUEUE_IMPLAUSIBLE: implausible,
        QUEUE_CONFIRMED_WARNING: confirmed_warning,
    }.get(kind, implausible | confirmed_warning)
    return Q(state=ReviewState.SUBMITTED) & condition


def live_effective_readings(campaign: Campaign) -> "QuerySet[Reading]":
    """The campaign's effective readings whose meter and property are not in the trash."""
    return Reading.objects.filter(
        campaign=campaign,
        is_effective=True,
        register__meter__deleted_at__isnull=True,
        register__meter__property__deleted_at__isnull=True,
    )


def review_queue(campaign: Campaign, kind: str = "") -> "QuerySet[Reading]":
    """The review queue of a campaign, oldest first, with register, meter and property."""
    return (
        live_effective_readings(campaign)
        .filter(queue_condition(kind))
        .select_related("register__meter__property", "campaign__organisation")
        .order_by("created_at", "pk")
    )


def accepted_unreleased(campaign: Campaign) -> "QuerySet[Reading]":
    """Readings accepted in review that no release has released yet."""
    return live_effective_readings(campaign).filter(state=ReviewState.REVIEWED)


@dataclass(frozen=True)
class ReviewItem:
    """A reading with what the clerk needs to judge it."""

    reading: Reading
    line: CampaignMeter
    result: engine.CheckResult  # a re-check against the line and thresholds as they are now
    messages: list[str]
    history: list[HistoryPoint]
    unit: str

    @property
    def outcome(self) -> str:
        return self.result.outcome.key

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.result.outcome.key).label)

    @property
    def changed_since_capture(self) -> bool:
        """The re-check judges the value differently than when it was stored."""
        return self.result.outcome.key != self.reading.outcome

    @property
    def decimals(self) -> int:
        return int(self.line.register.meter.decimals)

    @property
    def needs_note(self) -> bool:
        return self.result.outcome >= engine.Outcome.IMPLAUSIBLE

    @property
    def control_requested(self) -> bool:
        return self.line.control_requested_at is not None


def review_items(
    readings: Sequence[Reading], *, today: datetime.date | None = None
) -> list[ReviewItem]:
    """The items for readings of one campaign (a page of the queue, or one reading), in a
    fixed number of queries: their lines, and the lines of the consumption history."""
    if not readings:
        return []
    today = today or timezone.localdate()
    campaign_id = readings[0].campaign_id
    register_ids = [reading.register_id for reading in readings]
    lines = {
        line.register_id: line
        for line in CampaignMeter.objects.filter(
            campaign_id=campaign_id, register_id__in=register_ids
        )
        .select_related("campaign__organisation", "register__meter")
        .defer("raw_row")
    }
    if not lines:
        return []
    key_date = next(iter(lines.values())).campaign.key_date
    history_lines: dict[int, list[CampaignMeter]] = {}
    for other in register_lines(register_ids, key_date):
        history_lines.setdefault(other.register_id, []).append(other)
    language = engine_language()
    items = []
    for reading in readings:
        line = lines.get(reading.register_id)
        if line is None:
            continue
        result = check_value(line, reading.value, reading.reading_date, today=today)
        items.append(
            ReviewItem(
                reading=reading,
                line=line,
                result=result,
                messages=result.messages(language),
                history=consumption_history(line, reading, history_lines.get(line.register_id)),
                unit=unit_for(line.register.meter.kind),
            )
        )
    return items


def review_item(reading: Reading, *, today: datetime.date | None = None) -> ReviewItem | None:
    items = review_items([reading], today=today)
    return items[0] if items else None


def preview_correction(
    item: ReviewItem, value: str, reading_date: datetime.date, *, today: datetime.date | None = None
) -> engine.CheckResult:
    """What the check says about a corrected value before it is stored (nothing is written)."""
    return check_value(item.line, value, reading_date, today=today)


# --- notes -----------------------------------------------------------------------------------


def with_note(existing: str, note: str) -> str:
    """The reading's note with a clerk's new note added (earlier notes are kept)."""
    note = note.strip()
    if not note or note == existing:
        return existing
    return f"{existing}\n{note}" if existing else note


def _check_note(note: str) -> None:
    if len(note) > MAX_NOTE:
        raise ReadingRefused(_("Der Vermerk darf höchstens 500 Zeichen lang sein."))


# --- accept ----------------------------------------------------------------------------------


def _locked_effective(reading_id: int) -> tuple[CampaignMeter, Reading]:
    """The line of the reading's register, locked, and the reading, read under the lock; it
    must still be the register's effective version (else a conflict naming the newer one)."""
    found = Reading.objects.filter(pk=reading_id).values("campaign_id", "register_id").first()
    if found is None:
        raise ReadingRefused(_("Diesen Zählerstand gibt es nicht (mehr)."))
    lines = locked_lines(
        CampaignMeter.objects.filter(
            campaign_id=found["campaign_id"], register_id=found["register_id"]
        )
    )
    if not lines:
        raise ReadingRefused(_("Dieser Zähler gehört nicht (mehr) zur Ableseaktion."))
    line = lines[0]
    reading: Reading | None = Reading.objects.filter(pk=reading_id).first()
    if reading is None or not reading.is_effective:
        current = Reading.objects.filter(
            campaign_id=line.campaign_id, register_id=line.register_id, is_effective=True
        ).first()
        raise ReadingConflict(current)
    return line, reading


def do_accept_reading(
    reading_id: int,
    *,
    organisation: Organisation,
    actor: Actor,
    note: str = "",
    today: datetime.date | None = None,
) -> bool:
    """Accepts the effective reading ``reading_id`` in review: state ``reviewed``.

    The value is checked again; an implausible one (or one with an error) needs a note,
    which is added to the reading's note. Returns ``False`` when the reading was already
    accepted (nothing changes). Raises :class:`ReadingRefused` (a released or exported
    reading, a missing note) and :class:`ReadingConflict` (a newer version exists).
    """
    _check_note(note)
    with transaction.atomic(durable=True), organisation_scope(organisation):
        line, reading = _locked_effective(reading_id)
        if reading.state == ReviewState.RELEASED:
            raise ReadingRefused(_("Dieser Zählerstand ist bereits freigegeben."))
        if line.campaign.status == CampaignStatus.EXPORTED:
            raise ReadingRefused(_("Die Ableseaktion ist bereits exportiert."))
        if reading.state == ReviewState.REVIEWED:
            return False
        result = check_value(line, reading.value, reading.reading_date, today=today)
        if result.outcome >= engine.Outcome.IMPLAUSIBLE and not note.strip():
            raise ReadingRefused(
                _("Ein unplausibler Zählerstand wird nur mit einem Vermerk angenommen.")
            )
        reading.state = ReviewState.REVIEWED
        reading.note = with_note(reading.note, note)
        reading.save(update_fields=["state", "note"])
        audit.record(
            "reading.reviewed",
            actor=actor,
            organisation=line.campaign.organisation,
            obj=reading,
            data={
                "register": reading.register_id,
                "campaign": reading.campaign_id,
                "version": reading.version,
                "outcome": result.outcome.key,
                "note": note.strip(),
            },
        )
        return True


# --- correct ---------------------------------------------------------------------------------


def do_correct_reading(
    reading_id: int,
    submission: Submission,
    *,
    source: str,
    organisation: Organisation,
    actor: Actor,
    today: datetime.date | None = None,
) -> Recorded:
    """Stores a clerk's correction of ``reading_id`` as a new version of its register.

    ``reading_id`` is the version the clerk saw: when another one is effective now, the
    readings service raises :class:`ReadingConflict` naming it. ``source`` is one of
    :data:`CORRECTION_SOURCES` (the reading's own, or how the clerk learnt the right value).
    A warning needs ``submission.confirmed``, an implausible value a note (the readings
    service's rules for clerks). Raises :class:`ReadingRefused`.
    """
    if source not in CORRECTION_SOURCES:
        raise ReadingRefused(_("Bitte wählen Sie, woher der richtige Wert stammt."))
    with organisation_scope(organisation):
        found = Reading.objects.filter(pk=reading_id).values("campaign_id", "register_id").first()
        if found is None:
            raise ReadingRefused(_("Diesen Zählerstand gibt es nicht (mehr)."))
        lines = CampaignMeter.objects.filter(
            campaign_id=found["campaign_id"], register_id=found["register_id"]
        )
    (recorded,) = do_record_readings(
        lines,
        {found["register_id"]: submission},
        organisation=organisation,
        source=source,
        actor=actor,
        today=today,
        expected={found["register_id"]: reading_id},
    )
    return recorded


# --- control readings ------------------------------------------------------------------------


def _locked_line(campaign_meter_id: int) -> CampaignMeter:
    lines = locked_lines(CampaignMeter.objects.filter(pk=campaign_meter_id))
    if not lines:
        raise CampaignMeter.DoesNotExist(campaign_meter_id)
    line = lines[0]
    if line.campaign.status == CampaignStatus.EXPORTED:
        raise ReadingRefused(_("Die Ableseaktion ist bereits exportiert."))
    return line


def do_request_control_reading(
    campaign_meter_id: int, *, organisation: Organisation, actor: Actor
) -> bool:
    """Flags the meter of a campaign for a control reading (Kontrollablesung). Returns
    ``False`` when it was flagged already (nothing changes). Raises
    ``CampaignMeter.DoesNotExist`` for an unknown line, :class:`ReadingRefused` for an
    exported campaign."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        line = _locked_line(campaign_meter_id)
        if line.control_requested_at is not None:
            return False
        line.control_requested_at = timezone.now()
        CampaignMeter.objects.filter(pk=line.pk).update(
            control_requested_at=line.control_requested_at
        )
        audit.record(
            "campaign_meter.control_requested",
            actor=actor,
            organisation=line.campaign.organisation,
            obj=line,
            data={"campaign": line.campaign_id, "register": line.register_id},
        )
        return True


def do_clear_control_reading(
    campaign_meter_id: int, *, organisation: Organisation, actor: Actor
) -> bool:
    """Clears the control-reading flag. Returns ``False`` when none was set."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        line = _locked_line(campaign_meter_id)
        if line.control_requested_at is None:
            return False
        requested = line.control_requested_at
        CampaignMeter.objects.filter(pk=line.pk).update(control_requested_at=None)
        audit.record(
            "campaign_meter.control_cleared",
            actor=actor,
            organisation=line.campaign.organisation,
            obj=line,
            data={
                "campaign": line.campaign_id,
                "register": line.register_id,
                "requested_at": requested.isoformat(),
            },
        )
        return True
