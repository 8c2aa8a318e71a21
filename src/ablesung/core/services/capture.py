"""Capture (Erfassung): a clerk enters readings from reply cards, phone calls and visits.

Three steps, each one function:

* :func:`find_registers` — the campaign's registers for a number typed or scanned from a
  reply card: a meter number gives that meter's registers (HT and NT), an object number
  every register of the property's meters, and a reply card's machine-readable code
  (:mod:`ablesung.letters.reply_card`: object number and the card's meter numbers) the
  registers of the meters printed on that card, in card order. :func:`lookup_candidates`
  is the one place that turns a typed text into numbers to look for.
* :func:`preview` — what the screen shows before saving: the previous reading and its
  date, the expected consumption and the range of values that raise no warning (from the
  engine's band), the effective value if there is one, and the check of a typed value.
  Nothing is stored.
* :func:`do_capture_reading` — a thin service over
  :func:`~ablesung.core.services.readings.do_record_readings`: the clerk's sources, the key
  date as the default reading date, and what the clerk saw (``seen``) as ``expected``, so
  that a value stored in between is never overwritten silently; an existing value is
  replaced only after an explicit choice (``replace``). The readings service writes the
  audit entries (``reading.submitted`` / ``reading.corrected`` with the source).

:func:`do_undo_capture` undoes a capture without deleting anything: the version before it
is stored again as a new version (a copy, with its source, state and photo). When there
was no version before it, the capture goes to the trash, so the register has no value
again: that is the honest state, and the capture stays restorable from the trash for a
year. Both are audited as ``reading.undone``.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ablesung import plausibility as engine
from ablesung.core.language import engine_language
from ablesung.core.models import (
    CAPTURE_SOURCES,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    Organisation,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.access import property_registers
from ablesung.core.services.actor import Actor
from ablesung.core.services.plausibility_settings import campaign_thresholds, weights_for
from ablesung.core.services.readings import (
    ReadingRefused,
    Recorded,
    Submission,
    check_value,
    do_record_readings,
    effective_readings,
    locked_lines,
    settle_effective,
    unit_for,
)
from ablesung.letters import reply_card

#: what the capture screen offers, in this order: the capture sources, then a manual estimate
CAPTURE_CHOICES: tuple[str, ...] = (*CAPTURE_SOURCES, ReadingSource.MANUAL_ESTIMATE)
#: the source of a new capture screen (the reply card is the most common)
DEFAULT_SOURCE = ReadingSource.LETTER
#: a typed or scanned number longer than this is not a meter or object number
MAX_NUMBER = 50
#: what the search field takes: a reply card's code with four meters whose numbers have 50
#: characters each, every one percent-encoded (:mod:`ablesung.letters.reply_card`), fits
MAX_TEXT = 3200
_MILLI = Decimal("0.001")


# --- finding the registers -------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """What a typed or scanned number found in a campaign."""

    text: str
    #: ordered by meter number and register (a reply card: in card order); empty: nothing found
    lines: list[CampaignMeter]
    property: Property | None  # the property of the meter(s)
    matched: str  # "meter", "property", "card" (a reply card's code) or "" (nothing)
    #: German message when nothing can be captured for the number ("" when lines were found)
    problem: str = ""
    #: German message shown with the lines: a reply card that no longer matches its object
    notice: str = ""
    card: reply_card.ReplyCard | None = None


def lookup_candidates(text: str) -> list[str]:
    """The numbers to look for in what was typed or scanned: the text as it is, and without
    the spaces a clerk may type into a long number (``"66 978 001"``). Upper case too:
    meter numbers with letters are printed in capitals. A reply card's machine-readable
    code is not a number: :func:`find_registers` reads it with
    :func:`ablesung.letters.reply_card.parse` first."""
    text = text.strip()[:MAX_NUMBER]
    if not text:
        return []
    compact = "".join(text.split())
    candidates = []
    for candidate in (text, compact, compact.upper()):
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def read_card(text: str) -> reply_card.ReplyCard | None:
    """The reply card whose code was scanned; ``None`` for any other text, for a code cut
    short (longer than the field takes) and for numbers longer than any stored one."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        return None
    card = reply_card.parse(text)
    if card is None:
        return None
    if any(len(number) > MAX_NUMBER for number in (card.object_number, *card.meter_numbers)):
        return None
    return card


def campaign_lines(campaign: Campaign) -> "models.QuerySet[CampaignMeter]":
    """The campaign's lines of live meters of live properties (what a clerk may capture)."""
    return CampaignMeter.objects.filter(
        campaign_id=campaign.pk,
        register__meter__deleted_at__isnull=True,
        register__meter__property__deleted_at__isnull=True,
    )


def _with_related(
    lines: "models.QuerySet[CampaignMeter]", campaign: Campaign
) -> list[CampaignMeter]:
    found = list(
        lines.select_related("register__meter__property")
        .defer("raw_row")
        .order_by("register__meter__number", "register__code")
    )
    for line in found:
        line.campaign = campaign
    return found


def find_registers(campaign: Campaign, text: str) -> Lookup:
    """The campaign's registers for a meter number, an object number or a reply card's
    code (run in the organisation's scope). A meter number wins over an equal object
    number; a card's code names an object of this organisation, or it is not found."""
    card = read_card(text)
    if card is not None:
        found = Property.objects.filter(object_number=card.object_number).first()
        if found is not None:
            return _card_registers(campaign, text.strip(), card, found)
    candidates = lookup_candidates(text)
    shown = text.strip()[:MAX_NUMBER]
    if not candidates:
        return Lookup(shown, [], None, "", _("Bitte geben Sie eine Zähler- oder Objektnummer ein."))
    # the registers as a subquery: the lines are then found through the (campaign, register)
    # index instead of a walk through the whole campaign
    meter = (
        Meter.objects.filter(number__in=candidates, property__deleted_at__isnull=True)
        .select_related("property")
        .first()
    )
    if meter is not None:
        registers = Register.objects.filter(meter=meter)
        lines = _with_related(campaign_lines(campaign).filter(register__in=registers), campaign)
        if lines:
            return Lookup(shown, lines, meter.property, "meter")
        return Lookup(
            shown,
            [],
            meter.property,
            "meter",
            _("Der Zähler %(number)s gehört nicht zu dieser Ableseaktion.")
            % {"number": meter.number},
        )
    found = Property.objects.filter(object_number__in=candidates).first()
    if found is not None:
        lines = _with_related(
            campaign_lines(campaign).filter(register__in=property_registers(found)), campaign
        )
        if lines:
            return Lookup(shown, lines, found, "property")
        return Lookup(
            shown,
            [],
            found,
            "property",
            _("Das Objekt %(number)s hat keinen Zähler in dieser Ableseaktion.")
            % {"number": found.object_number},
        )
    if card is not None:
        return Lookup(
            shown,
            [],
            None,
            "",
            _("Antwortkarte gelesen, aber keine Objektnummer „%(number)s“ gefunden.")
            % {"number": card.object_number},
        )
    return Lookup(
        shown,
        [],
        None,
        "",
        _("Keine Zählernummer und keine Objektnummer „%(text)s“ gefunden.") % {"text": shown},
    )


def _card_registers(
    campaign: Campaign, text: str, card: reply_card.ReplyCard, found: Property
) -> Lookup:
    """The registers of the meters on a reply card of ``found``, in card order; when a
    meter on the card is no longer one of the property's in this campaign (exchanged,
    removed, a card of another campaign), a notice names it and the others are offered;
    when none is, every register the property has in the campaign."""
    lines = _with_related(
        campaign_lines(campaign).filter(register__in=property_registers(found)), campaign
    )
    if not lines:
        return Lookup(
            text,
            [],
            found,
            "card",
            _("Das Objekt %(number)s hat keinen Zähler in dieser Ableseaktion.")
            % {"number": found.object_number},
            card=card,
        )
    order = {number: index for index, number in enumerate(card.meter_numbers)}
    on_card = sorted(
        (line for line in lines if line.register.meter.number in order),
        key=lambda line: (order[line.register.meter.number], line.register.code),
    )
    present = {line.register.meter.number for line in on_card}
    missing = [number for number in card.meter_numbers if number not in present]
    if not missing:
        return Lookup(text, on_card or lines, found, "card", card=card)
    meters = ", ".join(missing)
    if on_card:
        notice = ngettext(
            "Die Antwortkarte passt nicht mehr ganz: Der Zähler %(meters)s gehört nicht "
            "(mehr) zu diesem Objekt in dieser Ableseaktion. Unten stehen die Zähler der "
            "Karte, die noch passen.",
            "Die Antwortkarte passt nicht mehr ganz: Die Zähler %(meters)s gehören nicht "
            "(mehr) zu diesem Objekt in dieser Ableseaktion. Unten stehen die Zähler der "
            "Karte, die noch passen.",
            len(missing),
        ) % {"meters": meters}
        return Lookup(text, on_card, found, "card", notice=notice, card=card)
    notice = _(
        "Die Antwortkarte passt nicht mehr zu diesem Objekt: Keiner ihrer Zähler "
        "(%(meters)s) gehört in dieser Ableseaktion noch dazu. Unten stehen die Zähler, die "
        "das Objekt jetzt hat; bitte ordnen Sie die Werte der Karte sorgfältig zu."
    ) % {"meters": meters}
    return Lookup(text, lines, found, "card", notice=notice, card=card)


# --- what the screen shows before saving ------------------------------------------------------


@dataclass(frozen=True)
class ExpectedRange:
    """The expected consumption ``E`` up to the reading date and the register values that
    raise no warning of the band rule (rule 5) nor the "no consumption" rule (rule 4).
    ``low`` and ``high`` are wrapped at the register's ``10^digits``."""

    consumption: Decimal
    low: Decimal
    high: Decimal


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def expected_range(line: CampaignMeter, reading_date: datetime.date) -> ExpectedRange | None:
    """The range the band rule accepts for a reading on ``reading_date``; ``None`` without a
    previous reading, without previous-year consumption, or for a date before the previous
    reading. ``line`` has its campaign (with organisation) and register's meter loaded.

    The engine warns when the consumption ``c`` is below the band and at least
    ``min_deviation`` under ``E``, or above it and at least ``min_deviation`` over ``E``
    (:meth:`Thresholds.below_band`, :meth:`Thresholds.above_band`), and when ``c`` is 0
    while ``E`` > 0. The range is the smallest and the largest value on the register's
    grid that does neither.
    """
    previous, previous_date = line.previous_value, line.previous_date
    quantity = line.previous_year_consumption
    if previous is None or previous_date is None or quantity is None or quantity < 0:
        return None
    if reading_date < previous_date:
        return None
    meter = line.register.meter
    register = engine.Register(digits=meter.digits, decimals=meter.decimals)
    campaign = line.campaign
    year = engine.PreviousYearConsumption(quantity)
    raw = engine.expected_consumption(
        quantity,
        previous_date,
        reading_date,
        reference=engine.reference_period(year, previous_date),
        weights=weights_for(campaign.organisation, meter.kind),
    )
    if raw is None:
        return None
    expected = raw.quantize(_MILLI)
    thresholds = campaign_thresholds(campaign)
    low, high, _far_high, _far_low = thresholds.limits(expected, line.previous_was_estimate)
    step, deviation = register.step, thresholds.min_deviation
    # not above: c <= high, or c - E < min_deviation
    most = max(_floor(high, step), _ceil(expected + deviation, step) - step)
    # not below: c >= low, or E - c < min_deviation
    least = min(_ceil(low, step), _floor(expected - deviation, step) + step)
    least = max(least, step if expected > 0 else Decimal(0))
    modulus = register.modulus
    return ExpectedRange(expected, (previous + least) % modulus, (previous + most) % modulus)


@dataclass
class LinePreview:
    """One register on the capture screen."""

    line: CampaignMeter
    current: Reading | None  # the effective reading, if any
    expected: ExpectedRange | None
    value: str = ""  # what was typed
    result: engine.CheckResult | None = None  # the check of ``value`` (nothing stored)

    @property
    def meter(self) -> Meter:
        meter: Meter = self.line.register.meter
        return meter

    @property
    def unit(self) -> str:
        return unit_for(self.meter.kind)

    @property
    def messages(self) -> list[str]:
        return self.result.messages(engine_language()) if self.result is not None else []

    @property
    def outcome(self) -> str:
        """``ok``, ``warning``, ``implausible``, ``error`` or ``""`` (nothing checked)."""
        return self.result.outcome.key if self.result is not None else ""


def preview(
    lines: Sequence[CampaignMeter],
    values: Mapping[int, str] | None = None,
    *,
    reading_date: datetime.date,
    today: datetime.date | None = None,
    effective: Mapping[int, Reading] | None = None,
) -> list[LinePreview]:
    """The screen's view of each line for ``reading_date``; ``values`` (by register id) are
    checked, nothing is stored. ``effective``: the lines' effective readings if the caller
    read them already (else one query)."""
    today = today or timezone.localdate()
    current = effective_readings(lines) if effective is None else effective
    previews = []
    for line in lines:
        view = LinePreview(line, current.get(line.register_id), expected_range(line, reading_date))
        typed = (values or {}).get(line.register_id, "").strip()
        if typed:
            view.value = typed
            view.result = check_value(line, typed, reading_date, today=today)
        previews.append(view)
    return previews


def default_reading_date(campaign: Campaign, today: datetime.date | None = None) -> datetime.date:
    """The key date; today while the key date is still ahead (a reading is never dated in
    the future)."""
    today = today or timezone.localdate()
    return min(campaign.key_date, today)


# --- saving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureEntry:
    """What the clerk typed and chose for one register."""

    value: str | Decimal
    #: the id of the effective reading the screen showed (``None``: it showed none)
    seen: int | None = None
    #: the clerk chose to replace the value the screen showed
    replace: bool = False
    #: the clerk confirmed the warning the screen showed (one key press)
    confirmed: bool = False
    #: why an implausible value is right, why a released value is replaced, how a manual
    #: estimate was made
    note: str = ""


def do_capture_reading(
    campaign: Campaign,
    entries: Mapping[int, CaptureEntry],
    *,
    organisation: Organisation,
    source: str,
    actor: Actor,
    reading_date: datetime.date | None = None,
    today: datetime.date | None = None,
) -> list[Recorded]:
    """Stores the captured values of registers of ``campaign`` (by register id), all or none.

    ``source``: one of :data:`CAPTURE_CHOICES`; ``reading_date`` defaults to
    :func:`default_reading_date`. Raises :class:`ReadingRefused` (nothing stored) when the
    source is not a clerk's, a register is not one of the campaign's live meters, a value
    the screen showed would be replaced without the clerk's choice, the campaign is
    exported, or a value has an error, a warning without confirmation, an implausible value
    or a manual estimate without a note; :class:`ReadingConflict` when another value was
    stored since the screen showed the register (it names the newer value).
    """
    if source not in CAPTURE_CHOICES:
        raise ReadingRefused(_("Bitte wählen Sie, wie der Zählerstand eingegangen ist."))
    if not entries:
        raise ReadingRefused(_("Bitte geben Sie mindestens einen Zählerstand ein."))
    if any(entry.seen is not None and not entry.replace for entry in entries.values()):
        raise ReadingRefused(
            _(
                "Für dieses Zählwerk gibt es bereits einen Wert. Ihr Wert ersetzt ihn nur, "
                "wenn Sie „Vorhandenen Wert ersetzen“ wählen."
            )
        )
    today = today or timezone.localdate()
    reading_date = reading_date or default_reading_date(campaign, today)
    with organisation_scope(organisation):
        lines = campaign_lines(campaign).filter(register_id__in=list(entries))
    return do_record_readings(
        lines,
        {
            register_id: Submission(
                value=entry.value,
                reading_date=reading_date,
                note=entry.note,
                confirmed=entry.confirmed,
            )
            for register_id, entry in entries.items()
        },
        organisation=organisation,
        source=source,
        actor=actor,
        today=today,
        expected={register_id: entry.seen for register_id, entry in entries.items()},
    )


# --- undo --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Undone:
    """What an undo did: ``restored`` is the new version copying the one before the
    capture; ``None`` when there was none and the capture went to the trash."""

    capture: Reading
    restored: Reading | None

    @property
    def trashed(self) -> bool:
        return self.restored is None


def _copy_photo(name: str, stored: list[str]) -> str:
    if not name or not default_storage.exists(name):
        return ""
    with default_storage.open(name, "rb") as source:
        content = source.read()
    copy = default_storage.save(
        f"photos/{timezone.now():%Y/%m}/{get_random_string(24)}.jpg", ContentFile(content)
    )
    stored.append(copy)
    return copy


def _refusal_to_undo(reading: Reading, current: Reading | None, campaign: Campaign) -> str | None:
    if reading.source not in CAPTURE_CHOICES:
        return _("Nur erfasste Zählerstände können hier rückgängig gemacht werden.")
    if campaign.status == CampaignStatus.EXPORTED:
        return _(
            "Die Ableseaktion ist bereits exportiert; Zählerstände können nicht mehr "
            "geändert werden."
        )
    if current is None or current.pk != reading.pk:
        if current is None:
            return _(
                "Diese Erfassung gilt nicht mehr; das Zählwerk hat zurzeit keinen Wert. "
                "Es wurde nichts geändert."
            )
        return _(
            "Diese Erfassung gilt nicht mehr: inzwischen gilt %(value)s (%(source)s, "
            "%(date)s). Es wurde nichts geändert."
        ) % {
            "value": engine.format_decimal(current.value, engine_language(), grouped=False),
            "source": current.get_source_display(),
            "date": engine.format_date(current.reading_date, engine_language()),
        }
    if reading.state == ReviewState.RELEASED:
        return _(
            "Dieser Zählerstand ist bereits freigegeben. Erfassen Sie stattdessen einen "
            "neuen Wert mit Vermerk."
        )
    return None


def do_undo_capture(
    reading_id: int,
    *,
    organisation: Organisation,
    actor: Actor,
    campaign_id: int | None = None,
) -> Undone:
    """Undoes the capture ``reading_id`` (of ``campaign_id``, if given); never deletes.

    The capture must be the register's effective version, not released, of a campaign
    that is not exported. The newest live version before it is stored again as the next
    version (value, date, source, comment, confirmation, note, photo, outcome and review
    state copied; the actor is the clerk who undoes). Without one the capture goes to the
    trash (restorable). Raises ``Reading.DoesNotExist`` for an unknown id and
    :class:`ReadingRefused` with the reason otherwise.
    """
    stored: list[str] = []
    try:
        with transaction.atomic(durable=True), organisation_scope(organisation):
            found = Reading.with_trashed.filter(pk=reading_id)
            if campaign_id is not None:
                found = found.filter(campaign_id=campaign_id)
            where = found.values("campaign_id", "register_id").first()
            if where is None:
                raise Reading.DoesNotExist(reading_id)
            (line,) = locked_lines(
                CampaignMeter.objects.filter(
                    campaign_id=where["campaign_id"], register_id=where["register_id"]
                )
            )
            reading: Reading = Reading.with_trashed.get(pk=reading_id)
            current = effective_readings([line]).get(line.register_id)
            refusal = _refusal_to_undo(reading, current, line.campaign)
            if refusal:
                raise ReadingRefused(refusal)
            before: Reading | None = (
                Reading.objects.filter(
                    campaign_id=reading.campaign_id,
                    register_id=reading.register_id,
                    version__lt=reading.version,
                )
                .order_by("-version")
                .first()
            )
            restored = _store_copy(line, reading, before, actor, stored) if before else None
            if restored is None:
                reading.deleted_at = timezone.now()
                reading.is_effective = False  # a trashed version is never effective
                reading.save(update_fields=["deleted_at", "is_effective"])
                settle_effective(reading.campaign_id, reading.register_id)
            audit.record(
                "reading.undone",
                actor=actor,
                organisation=organisation,
                obj=reading,
                data={
                    "register": reading.register_id,
                    "campaign": reading.campaign_id,
                    "version": reading.version,
                    "restores": before.pk if before is not None else None,
                    "restored_version": restored.version if restored is not None else None,
                    "trashed": restored is None,
                },
            )
            return Undone(reading, restored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _store_copy(
    line: CampaignMeter, capture: Reading, before: Reading, actor: Actor, stored: list[str]
) -> Reading:
    """The next version of the register as a copy of ``before``; the caller holds the lock
    and ``capture`` is the effective version."""
    version = line.last_version + 1
    CampaignMeter.objects.filter(pk=line.pk).update(last_version=version)
    line.last_version = version
    Reading.objects.filter(pk=capture.pk).update(is_effective=False)
    capture.is_effective = False
    copy: Reading = Reading.objects.create(
        organisation_id=line.organisation_id,
        campaign_id=line.campaign_id,
        register_id=line.register_id,
        version=version,
        is_effective=True,
        value=before.value,
        reading_date=before.reading_date,
        source=before.source,
        comment=before.comment,
        reason=before.reason,
        confirmation_reason=before.confirmation_reason,
        note=before.note,
        photo=_copy_photo(before.photo.name or "", stored),
        outcome=before.outcome,
        codes=list(before.codes),
        state=before.state,
        released_at=before.released_at,
        actor=actor.user,
    )
    return copy
