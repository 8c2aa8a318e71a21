"""Release (Freigabe): readings become final for billing.

* :func:`do_release_readings` — a **release run** over a selection of a campaign (chosen
  readings, a filter, or the whole campaign). It re-checks every unreleased effective
  reading the selection covers against the lines and thresholds as they are now. Plausible
  ones (outcome ok or warning) are released, implausible ones only when a clerk accepted
  them in review; each release is one state change and one ``reading.released`` audit
  entry. The others stay unreleased and get a :class:`ReleaseLogEntry` each with the
  reason in German: implausible and not accepted, an error, or a control reading
  requested after the value came in. The :class:`ReleaseRun` keeps who, when, the scope
  and the counts; it and its log stay with the campaign.
* :func:`do_release_reading` — the **manual release** of one reading; an implausible value
  (or one with an error) needs a note, and is then logged in a release run of its own
  (a log entry with ``released=True`` and the note as its reason).

Exported campaigns refuse both. After release citizens can no longer change the value
(the readings service refuses), and nobody can trash it.

Locks (PostgreSQL; on SQLite the IMMEDIATE write transaction is one lock): the
organisation, then the campaign (both ``FOR NO KEY UPDATE``, so that other writers'
foreign-key checks, which take ``FOR KEY SHARE``, are not blocked; the order is the one of
the campaign services), then the campaign-meter rows of the covered registers in
primary-key order (the readings service's lock on a register's versions). Two release runs
of a campaign therefore run one after the other, and the second finds the first one's
readings released; a citizen or clerk writing a register either finishes first (the run
re-checks the new version) or waits and then sees the release. The release itself is a
conditional ``UPDATE`` (still effective, still unreleased) whose row count must match:
no reading is released or audited twice.

A run of 50,000 readings reads them with one query (``iterator()``), checks them with the
pure engine, and writes in chunks (``update()`` by primary key, ``bulk_create`` of the audit
and log entries); ``tests/bench/bench_release.py`` measures it against the engine alone.
"""

import datetime
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ablesung import plausibility as engine
from ablesung.core import audit_actions
from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    MeterKind,
    Organisation,
    Outcome,
    Reading,
    ReadingSource,
    ReleaseLogEntry,
    ReleaseRun,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.plausibility_settings import campaign_thresholds, weights_for
from ablesung.core.services.readings import (
    MAX_NOTE,
    ReadingRefused,
    check_value,
    locked_lines,
    unit_for,
)
from ablesung.core.services.review import live_effective_readings, queue_condition, with_note
from ablesung.plausibility import format_date

UNRELEASED = (ReviewState.SUBMITTED, ReviewState.REVIEWED)
#: rows per fetch and per insert of log entries
CHUNK = 2000
#: readings per UPDATE and per insert of their audit entries
WRITE_CHUNK = 5000
#: the most readings a selection may name (a form carries them: Django takes 1,000 fields)
MAX_SELECTION = 500
#: the language of everything a run stores for people (scope, reasons): the log is German
LOG_LANGUAGE = "de"


class ReleaseRefused(ReadingRefused):
    """The release cannot run (exported campaign, nothing to release …); nothing changed."""


# --- what a run covers -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseFilter:
    """A filter over a campaign's unreleased effective readings (empty fields: any)."""

    outcome: str = ""  # the stored outcome: ok, warning, implausible
    state: str = ""  # submitted or reviewed
    source: str = ""
    kind: str = ""  # the meter kind
    review_queue: bool = False  # only what waits in the review queue

    def condition(self) -> Q:
        condition = Q()
        if self.outcome:
            condition &= Q(outcome=self.outcome)
        if self.state:
            condition &= Q(state=self.state)
        if self.source:
            condition &= Q(source=self.source)
        if self.kind:
            condition &= Q(register__meter__kind=self.kind)
        if self.review_queue:
            condition &= queue_condition()
        return condition

    def describe(self) -> str:
        parts = []
        if self.review_queue:
            parts.append(_("Prüfliste"))
        if self.outcome:
            parts.append(_("Plausibilität: %(value)s") % {"value": Outcome(self.outcome).label})
        if self.state:
            parts.append(
                _("Bearbeitungsstand: %(value)s") % {"value": ReviewState(self.state).label}
            )
        if self.source:
            parts.append(_("Quelle: %(value)s") % {"value": ReadingSource(self.source).label})
        if self.kind:
            parts.append(_("Zählerart: %(value)s") % {"value": MeterKind(self.kind).label})
        return ", ".join(parts) if parts else _("alle")


@dataclass(frozen=True)
class ReleaseSelection:
    """What a release run covers: chosen readings, a filter, or (neither) the whole campaign."""

    reading_ids: tuple[int, ...] = ()
    filter: ReleaseFilter | None = None

    @property
    def is_whole_campaign(self) -> bool:
        return not self.reading_ids and self.filter is None

    def apply(self, readings: "QuerySet[Reading]") -> "QuerySet[Reading]":
        if self.reading_ids:
            return readings.filter(pk__in=self.reading_ids)
        if self.filter is not None:
            return readings.filter(self.filter.condition())
        return readings

    def describe(self) -> str:
        """The scope in words (stored with the run in German)."""
        if self.reading_ids:
            count = len(self.reading_ids)
            return ngettext(
                "Auswahl: %(count)s Zählerstand", "Auswahl: %(count)s Zählerstände", count
            ) % {"count": count}
        if self.filter is not None:
            return _("Filter: %(filter)s") % {"filter": self.filter.describe()}
        return _("ganze Ableseaktion")


def covered_readings(campaign: Campaign, selection: ReleaseSelection) -> "QuerySet[Reading]":
    """The unreleased effective readings a run over ``selection`` would check (the count on
    the confirmation); meters and properties in the trash are left out."""
    return selection.apply(live_effective_readings(campaign).filter(state__in=UNRELEASED))


# --- the check of one reading, without a model instance ---------------------------------------

_FIELDS = (
    "pk",
    "register_id",
    "value",
    "reading_date",
    "state",
    "register__campaign_meters__previous_value",
    "register__campaign_meters__previous_date",
    "register__campaign_meters__previous_was_estimate",
    "register__campaign_meters__previous_year_consumption",
    "register__campaign_meters__control_requested_at",
    "register__meter__kind",
    "register__meter__digits",
    "register__meter__decimals",
)


@dataclass(slots=True)
class _Row:
    """One covered reading with its line's snapshot (the columns of ``_FIELDS``)."""

    pk: int
    register_id: int
    value: Decimal
    reading_date: datetime.date
    state: str
    previous_value: Decimal | None
    previous_date: datetime.date | None
    previous_was_estimate: bool
    previous_year_consumption: Decimal | None
    control_requested_at: datetime.datetime | None
    kind: str
    digits: int
    decimals: int


class CheckRow(Protocol):
    """What :class:`CampaignChecker` reads of a row (a reading with its line's snapshot)."""

    value: Decimal
    reading_date: datetime.date
    previous_value: Decimal | None
    previous_date: datetime.date | None
    previous_was_estimate: bool
    previous_year_consumption: Decimal | None
    kind: str
    digits: int
    decimals: int


class CampaignChecker:
    """:func:`readings.check_value` for rows: the campaign's thresholds, weights and
    registers are built once per run, not once per reading (a test compares the two).
    The release run and the export use it."""

    def __init__(self, campaign: Campaign, today: datetime.date) -> None:
        self.today = today
        self.key_date = campaign.key_date
        self.organisation = campaign.organisation
        self.thresholds = campaign_thresholds(campaign)
        self.weights: dict[str, engine.DayWeights] = {}
        self.registers: dict[tuple[int, int], engine.Register] = {}
        self.quantities: dict[Decimal, engine.PreviousYearConsumption] = {}

    def _register(self, row: CheckRow) -> engine.Register:
        register = self.registers.get((row.digits, row.decimals))
        if register is None:
            register = engine.Register(digits=row.digits, decimals=row.decimals)
            self.registers[(row.digits, row.decimals)] = register
        return register

    def _weights(self, kind: str) -> engine.DayWeights:
        weights = self.weights.get(kind)
        if weights is None:
            weights = self.weights[kind] = weights_for(self.organisation, kind)
        return weights

    def _previous_year(self, quantity: Decimal | None) -> engine.PreviousYearConsumption | None:
        if quantity is None:
            return None
        previous_year = self.quantities.get(quantity)
        if previous_year is None:
            previous_year = engine.PreviousYearConsumption(quantity)
            self.quantities[quantity] = previous_year
        return previous_year

    def carried(self, row: CheckRow) -> Decimal | None:
        """The value carried to the key date (PLAUSIBILITY.md, "Extrapolation to the key
        date"); ``None`` without a previous-year consumption."""
        if row.reading_date == self.key_date:
            return row.value
        previous_year = self._previous_year(row.previous_year_consumption)
        if previous_year is None:
            return None
        return engine.extrapolate(
            row.value,
            row.reading_date,
            self.key_date,
            register=self._register(row),
            previous_year=previous_year,
            weights=self._weights(row.kind),
            previous_date=row.previous_date,
        )

    def check(self, row: CheckRow) -> engine.CheckResult:
        register = self._register(row)
        weights = self._weights(row.kind)
        previous = None
        if row.previous_value is not None and row.previous_date is not None:
            previous = engine.PreviousReading(
                row.previous_value, row.previous_date, row.previous_was_estimate
            )
        previous_year = self._previous_year(row.previous_year_consumption)
        return engine.check_reading(
            row.value,
            row.reading_date,
            register=register,
            today=self.today,
            previous=previous,
            previous_year=previous_year,
            key_date=self.key_date,
            weights=weights,
            thresholds=self.thresholds,
            unit=unit_for(row.kind),
        )


def releasable(result: engine.CheckResult, *, state: str, control_pending: bool) -> bool:
    """Whether a release run releases a reading: ok and warning, implausible only when
    accepted in review; never an error, nor a value recorded before a control reading was
    requested (``control_pending``)."""
    outcome = result.outcome
    if outcome is engine.Outcome.ERROR or control_pending:
        return False
    return outcome is not engine.Outcome.IMPLAUSIBLE or state == ReviewState.REVIEWED


def refusal_reason(
    result: engine.CheckResult, *, control_pending_since: datetime.datetime | None = None
) -> str:
    """Why a release run did not release a reading, in German (the log's language).
    ``control_pending_since``: when the control reading was requested that the value
    predates."""
    with translation.override(LOG_LANGUAGE):
        return _reason(result, control_pending_since)


def _reason(result: engine.CheckResult, control_pending_since: datetime.datetime | None) -> str:
    """:func:`refusal_reason` in the active language (the caller sets German)."""
    messages = " ".join(result.messages(LOG_LANGUAGE))
    if result.outcome is engine.Outcome.ERROR:
        return _("Fehler bei der erneuten Prüfung: %(messages)s") % {"messages": messages}
    if control_pending_since is not None:
        date = format_date(timezone.localdate(control_pending_since), LOG_LANGUAGE)
        if result.outcome is engine.Outcome.IMPLAUSIBLE:
            return _(
                "Unplausibel; Kontrollablesung am %(date)s angefordert, der Wert stammt "
                "von vorher: %(messages)s"
            ) % {"date": date, "messages": messages}
        return _("Kontrollablesung am %(date)s angefordert; der Wert stammt von vorher.") % {
            "date": date
        }
    return _("Unplausibel und in der Prüfung nicht angenommen: %(messages)s") % {
        "messages": messages
    }


# --- locks -------------------------------------------------------------------------------------


def _lock_campaign(campaign_id: int) -> Campaign:
    """Locks the organisation and the live campaign (in this order, ``FOR NO KEY UPDATE``)."""
    organisation_id = (
        Campaign.objects.filter(pk=campaign_id).values_list("organisation_id", flat=True).first()
    )
    if organisation_id is None:
        raise ReleaseRefused(_("Die Ableseaktion liegt im Papierkorb."))
    organisation = Organisation.objects.select_for_update(no_key=True).get(pk=organisation_id)
    campaign: Campaign | None = (
        Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
    )
    if campaign is None:
        raise ReleaseRefused(_("Die Ableseaktion liegt im Papierkorb."))
    campaign.organisation = organisation
    return campaign


def _lock_lines(campaign: Campaign, covered: "QuerySet[Reading]") -> set[int] | None:
    """Locks the lines of the covered registers in primary-key order; returns their register
    ids (``None`` on SQLite, whose write transaction already excludes every other writer)."""
    if not connection.features.has_select_for_update:
        return None
    return set(
        CampaignMeter.objects.select_for_update(of=("self",))
        .filter(campaign=campaign, register_id__in=covered.values("register_id"))
        .order_by("pk")
        .values_list("register_id", flat=True)
    )


# --- the run -----------------------------------------------------------------------------------


@dataclass
class _Decisions:
    checked: int = 0
    #: ids of the readings to release, by the outcome of their re-check
    released: dict[str, list[int]] = field(default_factory=dict)
    #: what is not released, with its re-check and the time of a control reading
    #: requested after the value came in (for the log)
    refused: list[tuple[_Row, engine.CheckResult, datetime.datetime | None]] = field(
        default_factory=list
    )
    #: a control reading was requested: decided by the value's age (read for these only)
    waiting: list[tuple[_Row, engine.CheckResult]] = field(default_factory=list)

    def add(
        self, row: _Row, result: engine.CheckResult, *, pending_since: datetime.datetime | None
    ) -> None:
        if releasable(result, state=row.state, control_pending=pending_since is not None):
            self.released.setdefault(result.outcome.key, []).append(row.pk)
        else:
            self.refused.append((row, result, pending_since))

    @property
    def released_count(self) -> int:
        return sum(map(len, self.released.values()))


def _rows(covered: "QuerySet[Reading]", campaign: Campaign) -> Iterator[_Row]:
    values = (
        covered.filter(register__campaign_meters__campaign=campaign)
        .order_by("register_id")
        .values_list(*_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    for columns in values:
        yield _Row(*columns)


def _decide(
    covered: "QuerySet[Reading]", campaign: Campaign, locked: set[int] | None, today: datetime.date
) -> _Decisions:
    """Re-checks every covered reading (one query, the pure engine) and decides."""
    checker = CampaignChecker(campaign, today)
    decisions = _Decisions()
    ok, warning = engine.Outcome.OK, engine.Outcome.WARNING
    released = decisions.released
    for row in _rows(covered, campaign):
        if locked is not None and row.register_id not in locked:
            continue  # recorded after the lines were locked: the next run sees it
        decisions.checked += 1
        result = checker.check(row)
        outcome = result.outcome
        if row.control_requested_at is not None:
            decisions.waiting.append((row, result))
        elif outcome is ok or outcome is warning:  # the common case, without a call
            released.setdefault(outcome.key, []).append(row.pk)
        else:
            decisions.add(row, result, pending_since=None)
    for chunk in batched(decisions.waiting, CHUNK):
        created = dict(
            Reading.objects.filter(pk__in=[row.pk for row, _result in chunk]).values_list(
                "pk", "created_at"
            )
        )
        for row, result in chunk:
            requested = row.control_requested_at
            assert requested is not None
            pending = created[row.pk] <= requested
            decisions.add(row, result, pending_since=requested if pending else None)
    return decisions


def _release(
    ids: list[int], outcome: str, *, run: ReleaseRun, actor: Actor, now: datetime.datetime
) -> None:
    """Releases ``ids`` (one conditional UPDATE) and audits each of them once."""
    updated = Reading.objects.filter(pk__in=ids, is_effective=True, state__in=UNRELEASED).update(
        state=ReviewState.RELEASED, released_at=now
    )
    if updated != len(ids):  # cannot happen under the locks; never audit what did not change
        raise ReleaseRefused(
            _(
                "Zählerstände haben sich während der Freigabe geändert; es wurde nichts "
                "freigegeben. Bitte starten Sie die Freigabe erneut."
            )
        )
    audit_released(ids, outcome=outcome, run=run, actor=actor, now=now)


#: the database's function that builds a JSON object, and its JSON ``false``
_JSON_OBJECT = {
    "sqlite": ("json_object", "json('false')"),
    "postgresql": ("jsonb_build_object", "false"),
}


def audit_released(
    ids: list[int], *, outcome: str, run: ReleaseRun, actor: Actor, now: datetime.datetime
) -> None:
    """One ``reading.released`` audit entry per reading of ``ids``: the entry
    ``audit.record`` writes for it, with the data ``{"register", "campaign", "version",
    "outcome", "manual": false, "run"}``.

    Why SQL (ARCHITECTURE.md, "What we do not write ourselves"): through the ORM,
    ``bulk_create`` of 50,000 ``AuditEntry`` instances took 6.3 s on SQLite (1.6 s to build
    the instances, 4.7 s to insert them) and 6.4 s on PostgreSQL, while re-checking the
    same readings with the engine took 0.75 s (this 2-core machine, under load) — the
    release's target is ≤ 3 × the engine. ``INSERT … SELECT`` from the readings took
    0.2 s (SQLite) and 1.6 s (PostgreSQL, its floor). The ORM cannot express ``INSERT …
    SELECT``. The statement names the organisation in its WHERE, runs on the scoped
    managers' connection inside the run's transaction and scope, and
    ``test_the_release_audit_entries_are_those_audit_record_writes``
    (tests/core/test_release.py) compares its rows with the ORM's.
    """
    vendor = connection.vendor
    if vendor not in _JSON_OBJECT:  # pragma: no cover - SQLite and PostgreSQL only
        raise NotImplementedError(vendor)
    json_object, false = _JSON_OBJECT[vendor]
    ops = connection.ops
    marks = ", ".join(["%s"] * len(ids))
    audit_table = connection.ops.quote_name(AuditEntry._meta.db_table)
    reading_table = connection.ops.quote_name(Reading._meta.db_table)
    sql = (
        f"INSERT INTO {audit_table} (organisation_id, actor_id, actor_label, action, "  # noqa: S608
        "object_type, object_id, data, client_ip, created_at) "
        "SELECT r.organisation_id, %s, %s, %s, %s, CAST(r.id AS TEXT), "
        f"{json_object}('register', r.register_id, 'campaign', r.campaign_id, "
        f"'version', r.version, 'outcome', CAST(%s AS TEXT), 'manual', {false}, 'run', %s), "
        "%s, %s "
        f"FROM {reading_table} r WHERE r.organisation_id = %s AND r.id IN ({marks})"
    )
    params = [
        getattr(actor.user, "pk", None),
        actor.label[:254],
        audit_actions.check("reading.released"),
        audit.object_type(Reading),
        outcome,
        run.pk,
        ops.adapt_ipaddressfield_value(actor.ip),
        ops.adapt_datetimefield_value(now),
        run.organisation_id,
        *ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(ids):  # pragma: no cover - the UPDATE has counted them
            raise RuntimeError("audit entries missing")


def _log_refused(
    run: ReleaseRun,
    refused: list[tuple[_Row, engine.CheckResult, datetime.datetime | None]],
    now: datetime.datetime,
) -> None:
    """One log entry per refused reading, a snapshot of its meter and value."""
    for chunk in batched(refused, CHUNK):
        meters = {
            pk: (object_number, number, code)
            for pk, object_number, number, code in Reading.objects.filter(
                pk__in=[row.pk for row, _result, _since in chunk]
            ).values_list(
                "pk",
                "register__meter__property__object_number",
                "register__meter__number",
                "register__code",
            )
        }
        entries = []
        with translation.override(LOG_LANGUAGE):
            reasons = [_reason(result, since) for _row, result, since in chunk]
        for (row, result, _since), reason in zip(chunk, reasons, strict=True):
            object_number, number, code = meters[row.pk]
            entries.append(
                ReleaseLogEntry(
                    organisation_id=run.organisation_id,
                    run=run,
                    reading_id=row.pk,
                    object_number=object_number,
                    meter_number=number,
                    register_code=code,
                    value=row.value,
                    reading_date=row.reading_date,
                    outcome=result.outcome.key,
                    released=False,
                    reason=reason,
                    created_at=now,
                )
            )
        ReleaseLogEntry.objects.bulk_create(entries)


def do_release_readings(
    campaign: Campaign,
    selection: ReleaseSelection,
    *,
    organisation: Organisation,
    actor: Actor,
    today: datetime.date | None = None,
) -> ReleaseRun:
    """Runs a release over ``selection`` of ``campaign`` (see the module docstring) and
    returns the finished run with its counts; its log holds every reading not released.

    Raises :class:`ReleaseRefused` (nothing changes) for an exported campaign or one in
    the trash, a selection of too many readings, or when the selection covers no
    unreleased reading (e.g. another run released them a moment ago).
    """
    today = today or timezone.localdate()
    if len(selection.reading_ids) > MAX_SELECTION:
        raise ReleaseRefused(
            _("Bitte wählen Sie höchstens %(count)s Zählerstände auf einmal.")
            % {"count": MAX_SELECTION}
        )
    with transaction.atomic(durable=True), organisation_scope(organisation):
        locked = _lock_campaign(campaign.pk)
        if locked.status == CampaignStatus.EXPORTED:
            raise ReleaseRefused(
                _(
                    "Die Ableseaktion ist bereits exportiert; es kann nichts mehr freigegeben werden."
                )
            )
        covered = covered_readings(locked, selection)
        decisions = _decide(covered, locked, _lock_lines(locked, covered), today)
        if not decisions.checked:
            raise ReleaseRefused(
                _("In dieser Auswahl gibt es keine Zählerstände (mehr), die freizugeben sind.")
            )
        now = timezone.now()
        with translation.override(LOG_LANGUAGE):
            scope = selection.describe()[:200]
        run: ReleaseRun = ReleaseRun.objects.create(
            organisation=locked.organisation,
            campaign=locked,
            actor=actor.user,
            actor_label=actor.label[:254],
            scope=scope,
            checked=decisions.checked,
            released=decisions.released_count,
            refused=len(decisions.refused),
            created_at=now,
        )
        for outcome, ids in decisions.released.items():
            for chunk in batched(ids, WRITE_CHUNK):
                _release(list(chunk), outcome, run=run, actor=actor, now=now)
        _log_refused(run, decisions.refused, now)
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
        audit.record(
            "release_run.completed",
            actor=actor,
            organisation=locked.organisation,
            obj=run,
            data={
                "campaign": locked.pk,
                "scope": run.scope,
                "checked": run.checked,
                "released": run.released,
                "refused": run.refused,
            },
        )
        return run


# --- manual release of one reading ---------------------------------------------------------------


def do_release_reading(
    reading_id: int,
    *,
    organisation: Organisation,
    actor: Actor,
    note: str = "",
    today: datetime.date | None = None,
) -> Reading:
    """Releases the effective reading ``reading_id`` for billing.

    The value is checked again against the line as it is now; an implausible value (or
    one with an error) is released only with a note, which is added to the reading's note
    and logged in a release run of its own. After release citizens can no longer change
    it, and nobody can trash it. Releasing a released reading changes nothing. Raises
    :class:`ReadingRefused`.
    """
    if len(note) > MAX_NOTE:
        raise ReadingRefused(_("Der Vermerk darf höchstens 500 Zeichen lang sein."))
    with transaction.atomic(durable=True), organisation_scope(organisation):
        found = Reading.objects.filter(pk=reading_id).values("campaign_id", "register_id").first()
        if found is None:
            raise ReadingRefused(_("Diesen Zählerstand gibt es nicht (mehr)."))
        campaign = _lock_campaign(found["campaign_id"])
        (line,) = locked_lines(
            CampaignMeter.objects.filter(
                campaign_id=found["campaign_id"], register_id=found["register_id"]
            )
        )
        reading: Reading | None = Reading.objects.filter(pk=reading_id, is_effective=True).first()
        if reading is None:
            raise ReadingRefused(
                _("Nur der gültige Zählerstand eines Zählwerks kann freigegeben werden.")
            )
        if reading.state == ReviewState.RELEASED:
            return reading
        if campaign.status == CampaignStatus.EXPORTED:
            raise ReadingRefused(_("Die Ableseaktion ist bereits exportiert."))
        result = check_value(line, reading.value, reading.reading_date, today=today)
        manual = result.outcome >= engine.Outcome.IMPLAUSIBLE
        if manual and not note.strip():
            raise ReadingRefused(
                _("Ein unplausibler Zählerstand wird nur mit einem Vermerk freigegeben.")
            )
        reading.state = ReviewState.RELEASED
        reading.released_at = timezone.now()
        reading.note = with_note(reading.note, note)
        reading.save(update_fields=["state", "released_at", "note"])
        run = _manual_run(campaign, line, reading, result, note, actor) if manual else None
        audit.record(
            "reading.released",
            actor=actor,
            organisation=campaign.organisation,
            obj=reading,
            data={
                "register": reading.register_id,
                "campaign": reading.campaign_id,
                "version": reading.version,
                "outcome": result.outcome.key,
                "manual": True,
                "note": note.strip(),
                "run": run.pk if run is not None else None,
            },
        )
        return reading


def _manual_run(
    campaign: Campaign,
    line: CampaignMeter,
    reading: Reading,
    result: engine.CheckResult,
    note: str,
    actor: Actor,
) -> ReleaseRun:
    """The release run of one manual release despite the check, with its log entry."""
    meter = line.register.meter
    with translation.override(LOG_LANGUAGE):
        scope = _("Manuelle Freigabe: Zähler %(number)s") % {"number": meter.number}
    now = timezone.now()
    run: ReleaseRun = ReleaseRun.objects.create(
        organisation=campaign.organisation,
        campaign=campaign,
        actor=actor.user,
        actor_label=actor.label[:254],
        scope=scope[:200],
        checked=1,
        released=1,
        refused=0,
        finished_at=now,
        created_at=now,
    )
    ReleaseLogEntry.objects.create(
        organisation=campaign.organisation,
        run=run,
        reading=reading,
        object_number=meter.property.object_number,
        meter_number=meter.number,
        register_code=line.register.code,
        value=reading.value,
        reading_date=reading.reading_date,
        outcome=result.outcome.key,
        released=True,
        reason=note.strip(),
        created_at=now,
    )
    return run


# --- reading runs and logs ---------------------------------------------------------------------------


def runs_of(campaign: Campaign) -> "QuerySet[ReleaseRun]":
    """The campaign's release runs, newest first."""
    return ReleaseRun.objects.filter(campaign=campaign).order_by("-created_at", "-id")


LOG_HEADER = (
    "Objektnummer",
    "Zählernummer",
    "Zählwerk",
    "Zählerstand",
    "Ablesedatum",
    "Plausibilität",
    "Freigegeben",
    "Grund",
)


def log_rows(run: ReleaseRun) -> Iterator[tuple[Any, ...]]:
    """The run's log as rows for the CSV download (German numbers and dates). The query is
    built now, in the caller's organisation scope; the rows are read as they are consumed
    (a streaming response reads them after the view has returned)."""
    with translation.override(LOG_LANGUAGE):
        labels = {key: str(label) for key, label in Outcome.choices}
    entries = (
        ReleaseLogEntry.objects.filter(run=run)
        .order_by("meter_number", "register_code", "id")
        .values_list(
            "object_number",
            "meter_number",
            "register_code",
            "value",
            "reading_date",
            "outcome",
            "released",
            "reason",
        )
    )
    return itertools.chain([LOG_HEADER], _log_lines(entries.iterator(chunk_size=CHUNK), labels))


def _log_lines(
    entries: Iterable[tuple[Any, ...]], labels: dict[str, str]
) -> Iterator[tuple[Any, ...]]:
    for object_number, number, code, value, reading_date, outcome, released, reason in entries:
        yield (
            object_number,
            number,
            code,
            engine.format_decimal(value.normalize(), LOG_LANGUAGE, grouped=False),
            format_date(reading_date, LOG_LANGUAGE),
            labels.get(outcome, outcome),
            "ja" if released else "nein",
            reason,
        )
