"""Recording readings: check, supersede, never overwrite.

A new value for a register in a campaign is a new :class:`Reading`; the one it
replaces points to it through ``superseded_by`` and stays in the history. The
campaign-meter row is locked for the duration, so that a citizen and a clerk
writing the same register at the same moment end up as two versions in a row
with exactly one effective reading (the later one).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
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
    Meter,
    Organisation,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.plausibility_settings import campaign_thresholds, weights_for
from ablesung.lib.model_rows import Part, RowShape, insert, table, update

UNITS = {"electricity": "kWh", "heat": "kWh"}
MAX_COMMENT = 500
MAX_REASON_TEXT = 500


class ReadingRefused(Exception):
    """The reading cannot be stored; ``messages`` say why (German, for the citizen or clerk)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


@dataclass(frozen=True)
class Submission:
    """What a citizen or clerk typed for one register."""

    value: str
    reading_date: datetime.date
    reason: str = ""
    reason_text: str = ""
    comment: str = ""


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


# Both run on every portal page or inside every reading's write transaction, so their SQL is
# written out once (see ablesung.lib.model_rows); tests compare them with the ORM queries.
_READING = RowShape(Part(Reading, "rd"))
_LOCKED_LINE = RowShape(
    Part(CampaignMeter, "cm", defer=("raw_row",)),
    Part(Campaign, "c", parent="cm", via="campaign"),
    Part(Organisation, "o", parent="c", via="organisation"),
    Part(Register, "r", parent="cm", via="register"),
    Part(Meter, "m", parent="r", via="meter"),
)


@cache
def _effective_sql(registers: int) -> str:
    marks = ", ".join(["%s"] * registers)
    return (
        f"FROM {table(Reading, 'rd')} WHERE rd.organisation_id = %s AND rd.deleted_at IS NULL "
        "AND rd.campaign_id = %s AND rd.superseded_by_id IS NULL "
        f"AND rd.register_id IN ({marks}) ORDER BY rd.created_at, rd.id"
    )


@cache
def effective_reading_id_sql(line: str) -> str:
    """SQL for the id of the effective reading of the campaign-meter row with alias
    ``line`` (or NULL): the rule of :func:`effective_readings` (not superseded, not in the
    trash, the newest), as a correlated subquery for a query that reads lines."""
    return (
        f"(SELECT rd2.id FROM {table(Reading, 'rd2')} "  # noqa: S608 (alias from the caller's code)
        f"WHERE rd2.organisation_id = {line}.organisation_id AND rd2.deleted_at IS NULL "
        f"AND rd2.campaign_id = {line}.campaign_id AND rd2.register_id = {line}.register_id "
        "AND rd2.superseded_by_id IS NULL ORDER BY rd2.created_at DESC, rd2.id DESC LIMIT 1)"
    )


@cache
def _locked_line_sql() -> str:
    """Locks the campaign-meter row only (PostgreSQL ``FOR UPDATE OF``): a lock on the joined
    campaign and organisation rows would make every write of the organisation wait for the
    others. SQLite has no row locks; its write transaction (``BEGIN IMMEDIATE``) is the lock."""
    cm, c, o = table(CampaignMeter, "cm"), table(Campaign, "c"), table(Organisation, "o")
    r, m = table(Register, "r"), table(Meter, "m")
    lock = " FOR UPDATE OF cm" if connection.features.has_select_for_update_of else ""
    return (
        f"FROM {cm} JOIN {c} ON c.id = cm.campaign_id JOIN {o} ON o.id = c.organisation_id "
        f"JOIN {r} ON r.id = cm.register_id JOIN {m} ON m.id = r.meter_id "
        f"WHERE cm.organisation_id = %s AND cm.id = %s{lock}"
    )


def effective_readings(lines: list[CampaignMeter]) -> dict[int, Reading]:
    """The current reading (not superseded, not in the trash) of each line's register in
    its campaign, by register id; one query. The lines belong to one campaign."""
    if not lines:
        return {}
    registers = [line.register_id for line in lines]
    readings = _READING.fetch(
        Reading,
        _effective_sql(len(registers)),
        [lines[0].organisation_id, lines[0].campaign_id, *registers],
    )
    return {reading.register_id: reading for reading in readings}  # newest wins


def effective_reading(line: CampaignMeter) -> Reading | None:
    """The register's current reading in this campaign (not superseded, not in the trash)."""
    return effective_readings([line]).get(line.register_id)


def _lock_line(line: CampaignMeter) -> CampaignMeter:
    """The campaign-meter row again, locked, with campaign, organisation, register and meter."""
    found = _LOCKED_LINE.fetch(CampaignMeter, _locked_line_sql(), [line.organisation_id, line.pk])
    if not found:
        raise CampaignMeter.DoesNotExist(f"campaign meter {line.pk}")
    return found[0]


def citizen_may_change(line: CampaignMeter, current: Reading | None, today: datetime.date) -> bool:
    """Citizens may enter and correct values while the campaign is online and not released."""
    if not line.campaign.is_online(today):
        return False
    return current is None or current.state != ReviewState.RELEASED


def _refusal_for_state(
    line: CampaignMeter, current: Reading | None, source: str, today: datetime.date
) -> str | None:
    campaign = line.campaign
    if source == ReadingSource.ONLINE:
        if current is not None and current.state == ReviewState.RELEASED:
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
    return None


def _validate_submission(submission: Submission, result: engine.CheckResult) -> list[str]:
    problems = []
    if result.outcome is engine.Outcome.ERROR:
        problems.extend(result.messages(engine_language()))
    elif result.needs_confirmation:
        if submission.reason not in ConfirmationReason.values:
            problems.append(
                _("Bitte korrigieren Sie den Wert oder bestätigen Sie ihn mit einer Begründung.")
            )
        elif submission.reason == ConfirmationReason.OTHER and not submission.reason_text.strip():
            problems.append(_("Bitte beschreiben Sie kurz den Grund."))
    if len(submission.comment) > MAX_COMMENT:
        problems.append(_("Die Bemerkung darf höchstens 500 Zeichen lang sein."))
    if len(submission.reason_text) > MAX_REASON_TEXT:
        problems.append(_("Die Begründung darf höchstens 500 Zeichen lang sein."))
    return problems


def _store_photo(photo: bytes) -> str:
    name = f"photos/{timezone.now():%Y/%m}/{get_random_string(24)}.jpg"
    return default_storage.save(name, ContentFile(photo))


def do_record_reading(
    line: CampaignMeter,
    submission: Submission,
    *,
    source: str,
    actor: Actor,
    photo: bytes | None = None,
    today: datetime.date | None = None,
) -> Recorded:
    """Checks and stores one reading for a register of a campaign.

    Raises :class:`ReadingRefused` when the value has an error, needs a reason that
    is missing, or the register may no longer be changed by this source. An
    unchanged resubmission (same value, date, reason and comment, no photo) returns
    the effective reading without a new version.
    """
    with transaction.atomic():
        locked = _lock_line(line)
        return record_locked(
            locked,
            effective_reading(locked),
            submission,
            source=source,
            actor=actor,
            photo=photo,
            today=today,
        )


def record_locked(
    locked: CampaignMeter,
    current: Reading | None,
    submission: Submission,
    *,
    source: str,
    actor: Actor,
    photo: bytes | None = None,
    today: datetime.date | None = None,
) -> Recorded:
    """:func:`do_record_reading` for a caller that holds the line's lock in its open
    transaction and read ``current`` (the effective reading) under it, e.g. the portal,
    which locks a meter's lines before it reads them (see ``property_lines``). The
    line's campaign must be set with its organisation. Raises :class:`ReadingRefused`
    before it writes anything; the caller's transaction then rolls back what it wrote.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_locked() needs the transaction that holds the line's lock")
    today = today or timezone.localdate()
    photo_name = ""
    try:
        refusal = _refusal_for_state(locked, current, source, today)
        if refusal:
            raise ReadingRefused(refusal)
        result = check_value(locked, submission.value, submission.reading_date, today=today)
        problems = _validate_submission(submission, result)
        if problems:
            raise ReadingRefused(*problems)
        assert result.value is not None  # not an error, so the value was read
        reason = submission.reason if result.needs_confirmation else ""
        reason_text = submission.reason_text.strip() if reason else ""
        if (
            current is not None
            and photo is None
            and current.value == result.value
            and current.reading_date == submission.reading_date
            and current.reason == reason
            and current.confirmation_reason == reason_text
            and current.comment == submission.comment.strip()
            and current.source == source
        ):
            return Recorded(current, result, created=False)
        if photo is not None:
            photo_name = _store_photo(photo)
        organisation = locked.campaign.organisation  # selected with the lock
        reading = insert(
            Reading(
                organisation=organisation,
                campaign_id=locked.campaign_id,
                register_id=locked.register_id,
                value=result.value,
                reading_date=submission.reading_date,
                source=source,
                comment=submission.comment.strip(),
                reason=reason,
                confirmation_reason=reason_text,
                photo=photo_name,
                outcome=result.outcome.key,
                codes=list(result.codes),
                actor=actor.user,
            )
        )
        if current is not None:
            current.superseded_by = reading
            update(current, "superseded_by")
        audit.record(
            "reading.corrected" if current is not None else "reading.submitted",
            actor=actor,
            organisation=organisation,
            obj=reading,
            data={
                "register": locked.register_id,
                "campaign": locked.campaign_id,
                "value": str(reading.value),
                "date": submission.reading_date.isoformat(),
                "source": source,
                "outcome": result.outcome.key,
                "supersedes": current.pk if current is not None else None,
                "reason": reason,
            },
        )
        return Recorded(reading, result, created=True, superseded=current)
    except BaseException:
        if photo_name:
            default_storage.delete(photo_name)
        raise
