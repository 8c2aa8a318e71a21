"""Estimates (Schätzung): readings for registers nobody reported, as PLAUSIBILITY.md says.

When the online window is over (or the campaign is closed) and the key date has come,
"Fehlende schätzen" computes for every register of the campaign without an effective
reading ``R_est = R_prev + Q × W(prev date, key date) / W(reference)``, wrapped at
``10^digits`` (the pure :func:`ablesung.plausibility.estimate`):

* ``Q`` is the register's previous-year consumption from the import; without it (a new
  connection) the median of the previous-year consumptions of the organisation's meters
  of the same kind, as this campaign lists them (each meter once, with the billing
  system's current figure);
* without a previous reading there is nothing to carry: no estimate; without ``Q`` and
  without a median (no meter of the kind has one) neither: the clerk sets a manual
  estimate if one is needed (a value that only repeats the previous reading would bill
  nothing);
* ``W`` are the day weights of the meter kind (uniform for water and electricity, the
  organisation's or the default heating profile for gas and heat).

The clerk reviews the computed values with their inputs, and :func:`do_store_estimates`
stores them with source ``ESTIMATE`` (code ``A``), reading date = key date, as new reading
versions under the lines' locks (the version rule of :mod:`ablesung.core.services.readings`).
Running it again recomputes only *automatic estimates that are not released*: an unchanged
value stores nothing, a changed one a new version. Real readings, manual estimates (``M``,
:func:`do_record_manual_estimate`, always with a note) and released estimates are never
touched.

Estimates never count as readings in later plausibility checks
--------------------------------------------------------------
A check compares a value with the campaign line's *previous reading from the import*
(``CampaignMeter.previous_value/previous_date``), never with another reading version of
the campaign, so an estimate of this campaign is never the base of a check in it: a
citizen's or clerk's late reading is checked against the imported previous reading, and
it supersedes the estimate as a new version. Across campaigns the estimate goes back to
the billing system with its source code (``A``/``M``); when the billing system hands it
back as next year's previous reading, the line's ``previous_was_estimate`` says so and the
engine widens the band and disables the overflow rule. The meter-list import cannot read
that flag from a FINANZ+ file (it has no column for the source of the previous reading),
so :func:`mark_estimated_previous_readings` derives it from this organisation's own
estimates: a previous reading equal in value and date to an effective estimate of an
earlier campaign was an estimate.
"""

import datetime
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ablesung import plausibility as engine
from ablesung.core import audit_actions
from ablesung.core.language import engine_language
from ablesung.core.models import (
    ESTIMATE_SOURCES,
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Organisation,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.campaign_stats import live_lines
from ablesung.core.services.plausibility_settings import weights_for
from ablesung.core.services.readings import (
    ReadingRefused,
    Recorded,
    Submission,
    check_value,
    do_record_readings,
    effective_reading,
    locked_lines,
)

#: rows per statement when estimates are written (bounded ``IN`` lists)
CHUNK = 500
_ZERO = Decimal(0)


class EstimatesRefused(Exception):
    """Estimates cannot be computed or stored now; the message is German, for the clerk."""


class EstimateStatus(StrEnum):
    NEW = "new"  # no reading yet: the estimate will be stored
    REPLACES = "replaces"  # an automatic estimate with another value: a new version
    UNCHANGED = "unchanged"  # the stored automatic estimate has this value already
    NO_PREVIOUS = "no_previous"  # no previous reading: nothing to carry
    NO_BASIS = "no_basis"  # neither Q nor a median of the meter kind


STORABLE = frozenset({EstimateStatus.NEW, EstimateStatus.REPLACES})


@dataclass(frozen=True)
class PlannedEstimate:
    """One register's estimate with everything it was computed from (for the review)."""

    line: CampaignMeter
    #: the automatic, unreleased estimate it recomputes (``None``: no reading yet)
    current: Reading | None
    status: EstimateStatus
    estimate: engine.Estimate | None = None
    #: ``Q`` as used: the line's previous-year consumption or the median of its kind
    quantity: Decimal | None = None
    days: int | None = None  # from the previous reading date to the key date
    #: ``W(prev date, key date) / W(reference)``: the share of a year's consumption
    share: Decimal | None = None
    weights: engine.DayWeights | None = None

    @property
    def storable(self) -> bool:
        return self.status in STORABLE

    @property
    def basis(self) -> str:
        return self.estimate.basis.value if self.estimate is not None else ""

    @property
    def share_percent(self) -> Decimal | None:
        return self.share * 100 if self.share is not None else None

    @property
    def weights_label(self) -> str:
        return weights_label(self.weights) if self.weights is not None else ""


def weights_label(weights: engine.DayWeights) -> str:
    """The day weights for people: uniform, the default heating profile, or the own one."""
    if isinstance(weights, engine.UniformWeights):
        return _("gleichmäßig (jeder Tag gleich)")
    if weights is engine.HEATING:
        return _("Heizprofil (Standard)")
    return _("eigenes Profil „%(name)s“") % {"name": weights.name}


def estimate_refusal(campaign: Campaign, today: datetime.date) -> str | None:
    """Why estimates cannot be made for ``campaign`` today, or ``None``."""
    if campaign.status == CampaignStatus.EXPORTED:
        return _("Die Ableseaktion ist bereits exportiert; es wird nichts mehr geschätzt.")
    if campaign.status == CampaignStatus.DRAFT:
        return _(
            "Die Ableseaktion ist noch nicht geöffnet. Geschätzt wird erst nach dem Ende der "
            "Online-Erfassung."
        )
    window_running = campaign.online_until is None or today <= campaign.online_until
    if campaign.status == CampaignStatus.OPEN and window_running:
        if campaign.online_until is None:
            return _(
                "Die Online-Erfassung läuft noch. Geschätzt wird nach ihrem Ende oder wenn "
                "die Ableseaktion geschlossen ist."
            )
        return _(
            "Die Online-Erfassung läuft noch bis zum %(date)s. Geschätzt wird danach oder "
            "wenn die Ableseaktion geschlossen ist."
        ) % {"date": engine.format_date(campaign.online_until, engine_language())}
    if campaign.key_date > today:
        return _(
            "Schätzungen gelten für den Stichtag %(date)s und sind erst ab diesem Tag möglich."
        ) % {"date": engine.format_date(campaign.key_date, engine_language())}
    return None


# --- which lines ------------------------------------------------------------------------------


def _effective(campaign: Campaign) -> "QuerySet[Reading]":
    return Reading.objects.filter(
        campaign_id=campaign.pk, register_id=OuterRef("register_id"), is_effective=True
    )


def _replaceable() -> Q:
    """An effective reading that a new run may recompute: automatic and not released."""
    return Q(source=ReadingSource.ESTIMATE) & ~Q(state=ReviewState.RELEASED)


def candidate_lines(campaign: Campaign) -> "QuerySet[CampaignMeter]":
    """Lines of live meters without an effective reading, or whose effective reading is an
    automatic estimate that is not released: what "Fehlende schätzen" computes."""
    effective = _effective(campaign)
    return live_lines([campaign.pk]).filter(
        ~Exists(effective) | Exists(effective.filter(_replaceable()))
    )


def replaceable_estimates(
    campaign: Campaign, register_ids: Sequence[int] | None = None
) -> dict[int, Reading]:
    """The campaign's effective automatic estimates that are not released, by register
    (all of them, or those of ``register_ids``)."""
    readings = Reading.objects.filter(campaign_id=campaign.pk, is_effective=True).filter(
        _replaceable()
    )
    if register_ids is not None:
        readings = readings.filter(register_id__in=list(register_ids))
    return {reading.register_id: reading for reading in readings}


def kind_medians(campaign: Campaign, kinds: Iterable[str]) -> dict[str, Decimal | None]:
    """The median previous-year consumption of the campaign's meters of each kind (one
    query); ``None`` for a kind where no meter has one."""
    wanted = sorted(set(kinds))
    if not wanted:
        return {}
    values: dict[str, list[Decimal]] = {kind: [] for kind in wanted}
    rows = (
        live_lines([campaign.pk])
        .filter(register__meter__kind__in=wanted, previous_year_consumption__isnull=False)
        .values_list("register__meter__kind", "previous_year_consumption")
    )
    for kind, consumption in rows.iterator(chunk_size=5000):
        if consumption is not None:
            values[kind].append(consumption)
    return {kind: engine.median_consumption(found) for kind, found in values.items()}


# --- computing ---------------------------------------------------------------------------------


def _has_previous(line: CampaignMeter) -> bool:
    return line.previous_value is not None and line.previous_date is not None


def _needs_median(line: CampaignMeter) -> bool:
    quantity = line.previous_year_consumption
    return _has_previous(line) and (quantity is None or quantity < _ZERO)


def plan_line(
    line: CampaignMeter,
    current: Reading | None,
    *,
    key_date: datetime.date,
    weights: engine.DayWeights,
    median: Decimal | None,
) -> PlannedEstimate:
    """The estimate of one line (``line.register.meter`` loaded) with its inputs.

    ``median``: the median consumption of the meter's kind (used without ``Q``)."""
    if line.previous_value is None or line.previous_date is None:
        return PlannedEstimate(line, current, EstimateStatus.NO_PREVIOUS)
    meter = line.register.meter
    own = line.previous_year_consumption
    has_own = own is not None and own >= _ZERO
    quantity = own if has_own else median
    if quantity is None:
        return PlannedEstimate(line, current, EstimateStatus.NO_BASIS)
    previous = engine.PreviousReading(
        line.previous_value, line.previous_date, line.previous_was_estimate
    )
    result = engine.estimate(
        previous,
        key_date,
        register=engine.Register(digits=meter.digits, decimals=meter.decimals),
        previous_year=engine.PreviousYearConsumption(own) if has_own and own is not None else None,
        kind_consumptions=() if has_own else (median,),
        weights=weights,
    )
    reference = engine.reference_period(
        engine.PreviousYearConsumption(quantity), line.previous_date
    )
    reference_weight = weights.weight(*reference)
    share = None
    if reference_weight > 0:
        elapsed = max(weights.weight(line.previous_date, key_date), 0)
        share = Decimal(elapsed) / reference_weight
    if current is None:
        status = EstimateStatus.NEW
    elif current.value == result.value and current.reading_date == key_date:
        status = EstimateStatus.UNCHANGED
    else:
        status = EstimateStatus.REPLACES
    return PlannedEstimate(
        line,
        current,
        status,
        estimate=result,
        quantity=quantity,
        days=max((key_date - line.previous_date).days, 0),
        share=share,
        weights=weights,
    )


def plan_lines(
    campaign: Campaign, lines: Sequence[CampaignMeter], currents: Mapping[int, Reading]
) -> list[PlannedEstimate]:
    """The estimates of ``lines`` (with ``register.meter``); ``currents``: the replaceable
    estimates by register. One query for the medians, if any line needs one."""
    medians = kind_medians(
        campaign, (line.register.meter.kind for line in lines if _needs_median(line))
    )
    weights: dict[str, engine.DayWeights] = {}
    planned = []
    for line in lines:
        kind = line.register.meter.kind
        if kind not in weights:
            weights[kind] = weights_for(campaign.organisation, kind)
        planned.append(
            plan_line(
                line,
                currents.get(line.register_id),
                key_date=campaign.key_date,
                weights=weights[kind],
                median=medians.get(kind),
            )
        )
    return planned


def preview(campaign: Campaign, lines: Sequence[CampaignMeter]) -> list[PlannedEstimate]:
    """The estimates of one page of :func:`candidate_lines` (with ``register.meter``) for
    the review: a query for their stored automatic estimates, one for medians if needed."""
    currents = replaceable_estimates(campaign, [line.register_id for line in lines])
    return plan_lines(campaign, lines, currents)


# --- the summary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimateSummary:
    """What "Fehlende schätzen" would work on, counted with aggregate queries."""

    missing: int = 0  # registers without an effective reading
    automatic: int = 0  # effective automatic estimates, not released (recomputed)
    released: int = 0  # effective estimates (automatic or manual) already released
    manual: int = 0  # effective manual estimates, not released
    no_previous: int = 0  # of the candidates: without a previous reading
    no_basis: int = 0  # of the candidates: without Q and without a median of their kind

    @property
    def candidates(self) -> int:
        return self.missing + self.automatic

    @property
    def computable(self) -> int:
        return self.candidates - self.no_previous - self.no_basis


def summary(campaign: Campaign) -> EstimateSummary:
    effective = _effective(campaign)
    missing = live_lines([campaign.pk]).filter(~Exists(effective)).count()
    estimates = Reading.objects.filter(
        campaign_id=campaign.pk,
        is_effective=True,
        source__in=ESTIMATE_SOURCES,
        register__meter__deleted_at__isnull=True,
        register__meter__property__deleted_at__isnull=True,
    ).aggregate(
        automatic=Count("pk", filter=_replaceable()),
        released=Count("pk", filter=Q(state=ReviewState.RELEASED)),
        manual=Count(
            "pk",
            filter=Q(source=ReadingSource.MANUAL_ESTIMATE) & ~Q(state=ReviewState.RELEASED),
        ),
    )
    candidates = candidate_lines(campaign)
    no_previous_q = Q(previous_value__isnull=True) | Q(previous_date__isnull=True)
    no_previous = candidates.filter(no_previous_q).count()
    without_q = dict(
        candidates.exclude(no_previous_q)
        .filter(Q(previous_year_consumption__isnull=True) | Q(previous_year_consumption__lt=0))
        .values("register__meter__kind")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("register__meter__kind", "count")
    )
    medians = kind_medians(campaign, without_q)
    no_basis = sum(count for kind, count in without_q.items() if medians.get(kind) is None)
    return EstimateSummary(
        missing=missing,
        automatic=estimates["automatic"],
        released=estimates["released"],
        manual=estimates["manual"],
        no_previous=no_previous,
        no_basis=no_basis,
    )


# --- storing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEstimates:
    created: int = 0  # registers that had no reading
    replaced: int = 0  # automatic estimates recomputed to another value (new version)
    unchanged: int = 0
    not_possible: int = 0  # no previous reading, or no consumption basis

    @property
    def stored(self) -> int:
        return self.created + self.replaced


def _chunks[T](items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _audit_entry(
    reading: Reading, plan: PlannedEstimate, actor: Actor, organisation: Organisation
) -> AuditEntry:
    """The entry :func:`audit.record` would write for one estimate (written in bulk)."""
    estimate = plan.estimate
    assert estimate is not None
    data: dict[str, Any] = {
        "register": reading.register_id,
        "campaign": reading.campaign_id,
        "version": reading.version,
        "value": str(reading.value),
        "date": reading.reading_date.isoformat(),
        "source": reading.source,
        "outcome": reading.outcome,
        "supersedes": plan.current.pk if plan.current is not None else None,
        "basis": estimate.basis.value,
        "consumption": str(estimate.consumption),
    }
    return AuditEntry(
        organisation=organisation,
        actor=actor.user,
        actor_label=actor.label[:254],
        action=audit_actions.check("reading.estimated"),
        object_type=audit.object_type(Reading),
        object_id=str(reading.pk),
        data=data,
        client_ip=actor.ip,
    )


def _store(
    campaign: Campaign,
    plans: Sequence[PlannedEstimate],
    *,
    actor: Actor,
    today: datetime.date,
) -> None:
    """Writes the storable plans as new effective versions, in chunks; lines are locked."""
    organisation = campaign.organisation
    for chunk in _chunks(plans):
        line_ids = [plan.line.pk for plan in chunk]
        CampaignMeter.objects.filter(pk__in=line_ids).update(last_version=F("last_version") + 1)
        superseded = [plan.current.pk for plan in chunk if plan.current is not None]
        if superseded:  # first: the unique index allows one effective version at a time
            Reading.objects.filter(pk__in=superseded).update(is_effective=False)
        readings = []
        for plan in chunk:
            assert plan.estimate is not None
            plan.line.last_version += 1
            check = check_value(plan.line, plan.estimate.value, campaign.key_date, today=today)
            readings.append(
                Reading(
                    organisation=organisation,
                    campaign_id=campaign.pk,
                    register_id=plan.line.register_id,
                    version=plan.line.last_version,
                    is_effective=True,
                    value=plan.estimate.value,
                    reading_date=campaign.key_date,
                    source=ReadingSource.ESTIMATE,
                    outcome=check.outcome.key,
                    codes=list(check.codes),
                    actor=actor.user,
                )
            )
        created = Reading.objects.bulk_create(readings)
        AuditEntry.objects.bulk_create(
            [
                _audit_entry(reading, plan, actor, organisation)
                for reading, plan in zip(created, chunk, strict=True)
            ]
        )


def do_store_estimates(
    campaign_id: int,
    *,
    organisation: Organisation,
    actor: Actor,
    today: datetime.date | None = None,
) -> StoredEstimates:
    """Computes and stores the automatic estimates of the campaign, all or none.

    The candidate lines are locked and read again under the lock, so a reading that
    arrived meanwhile is never replaced, and two runs at once store every estimate once.
    Raises :class:`EstimatesRefused` when the campaign cannot be estimated now.
    """
    with transaction.atomic(durable=True), organisation_scope(organisation):
        campaign = Campaign.objects.select_related("organisation").filter(pk=campaign_id).first()
        if campaign is None:
            raise EstimatesRefused(_("Diese Ableseaktion gibt es nicht (mehr)."))
        return store_estimates(campaign, actor=actor, today=today)


def store_estimates(
    campaign: Campaign, *, actor: Actor, today: datetime.date | None = None
) -> StoredEstimates:
    """:func:`do_store_estimates` inside the caller's transaction and organisation scope
    (the export estimates the missing meters in its own transaction)."""
    today = today or timezone.localdate()
    refusal = estimate_refusal(campaign, today)
    if refusal:
        raise EstimatesRefused(refusal)
    locked = locked_lines(candidate_lines(campaign))
    # read again under the locks: a line may have got a reading before it was locked
    still = set(candidate_lines(campaign).values_list("pk", flat=True))
    lines = [line for line in locked if line.pk in still]
    for line in lines:
        line.campaign = campaign
    plans = plan_lines(campaign, lines, replaceable_estimates(campaign))
    to_store = [plan for plan in plans if plan.storable]
    _store(campaign, to_store, actor=actor, today=today)
    result = StoredEstimates(
        created=sum(1 for plan in plans if plan.status == EstimateStatus.NEW),
        replaced=sum(1 for plan in plans if plan.status == EstimateStatus.REPLACES),
        unchanged=sum(1 for plan in plans if plan.status == EstimateStatus.UNCHANGED),
        not_possible=sum(1 for plan in plans if plan.estimate is None),
    )
    if result.stored:
        audit.record(
            "campaign.estimated",
            actor=actor,
            organisation=campaign.organisation,
            obj=campaign,
            data={
                "created": result.created,
                "replaced": result.replaced,
                "unchanged": result.unchanged,
                "not_possible": result.not_possible,
                "key_date": campaign.key_date.isoformat(),
            },
        )
    return result


# --- manual estimates --------------------------------------------------------------------------


def estimate_line(campaign: Campaign, campaign_meter_id: int) -> CampaignMeter | None:
    """A live line of the campaign with register, meter and property (or ``None``)."""
    line: CampaignMeter | None = (
        live_lines([campaign.pk])
        .filter(pk=campaign_meter_id)
        .select_related("register__meter__property")
        .defer("raw_row")
        .first()
    )
    if line is not None:
        line.campaign = campaign
    return line


def manual_estimate_refusal(current: Reading | None) -> str | None:
    """A manual estimate stands in for a missing reading; it never replaces a real one."""
    if current is not None and current.source not in ESTIMATE_SOURCES:
        return _(
            "Für dieses Zählwerk liegt ein abgelesener Zählerstand vor; eine Schätzung "
            "ersetzt ihn nicht."
        )
    return None


def do_record_manual_estimate(
    campaign: Campaign,
    campaign_meter_id: int,
    *,
    value: str,
    note: str,
    seen: int | None,
    organisation: Organisation,
    actor: Actor,
    today: datetime.date | None = None,
) -> Recorded:
    """Stores a clerk's estimate (source ``MANUAL_ESTIMATE``, reading date = key date, a
    note required) through :func:`readings.do_record_readings`.

    ``seen``: the id of the effective reading the clerk saw (``None``: none); if another
    one is effective now, :class:`ReadingConflict` names it. Raises
    :class:`ReadingRefused` (German messages) and stores nothing when refused.
    """
    today = today or timezone.localdate()
    with organisation_scope(organisation):
        line = estimate_line(campaign, campaign_meter_id)
        if line is None:
            raise ReadingRefused(_("Diesen Zähler gibt es in der Ableseaktion nicht (mehr)."))
        refusal = estimate_refusal(campaign, today) or manual_estimate_refusal(
            effective_reading(line)
        )
        if refusal:
            raise ReadingRefused(refusal)
        lines = CampaignMeter.objects.filter(pk=line.pk, campaign_id=campaign.pk)
    # the note stands for the confirmation a warning or an implausible value needs
    submission = Submission(value=value, reading_date=campaign.key_date, note=note)
    (recorded,) = do_record_readings(
        lines,
        {line.register_id: submission},
        organisation=organisation,
        source=ReadingSource.MANUAL_ESTIMATE,
        actor=actor,
        today=today,
        expected={line.register_id: seen},
    )
    return recorded


# --- previous readings that were estimates -------------------------------------------------------


def mark_estimated_previous_readings(campaign: Campaign) -> int:
    """Sets ``previous_was_estimate`` on the campaign's lines whose previous reading (value
    and date) is an effective estimate of the same register in another campaign of the
    organisation; returns how many lines changed. For the meter-list import, inside its
    transaction and organisation scope (the file cannot say it, see the module docstring)."""
    earlier_estimate = (
        Reading.objects.filter(
            register_id=OuterRef("register_id"),
            is_effective=True,
            source__in=ESTIMATE_SOURCES,
            value=OuterRef("previous_value"),
            reading_date=OuterRef("previous_date"),
        )
        .exclude(campaign_id=campaign.pk)
        .filter(campaign__key_date__lt=campaign.key_date)
    )
    updated: int = (
        CampaignMeter.objects.filter(campaign_id=campaign.pk, previous_was_estimate=False)
        .filter(Exists(earlier_estimate))
        .update(previous_was_estimate=True)
    )
    return updated
