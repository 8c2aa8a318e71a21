"""Writing an export run's files: the return file(s) and the Excel report, in one pass.

One ORM query reads the campaign's live lines in the billing file's order (import, then
row) with each line's effective reading joined (``FilteredRelation``), as plain values in
chunks: memory does not grow with the campaign. For every line the pass

* decides what the return file carries (:func:`exported`): the released readings and the
  estimates, or every effective reading, as the run was asked;
* re-checks the value with the campaign's plausibility settings (consumption, expected
  consumption, messages for the report) and carries it to the key date;
* writes the line into the return file of its import's layout (a new file whenever the
  import changes; several files are zipped into one) and yields its report line, which the
  report writer puts on the sheet "Zählerstände" while the statistics are counted.

Lines without an import (entered by hand) are written in the default layout
"FINANZ+ (Standard)".
"""

from __future__ import annotations

import datetime
import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import F, FilteredRelation, Q
from django.utils import timezone, translation
from django.utils.text import slugify

from ablesung.core.models import (
    ESTIMATE_SOURCES,
    Campaign,
    ConfirmationReason,
    ImportBatch,
    MeterKind,
    Outcome,
    ReadingSource,
    ReleaseLogEntry,
    ReviewState,
)
from ablesung.core.services.campaign_stats import live_lines
from ablesung.core.services.readings import unit_for
from ablesung.core.services.release import CampaignChecker
from ablesung.exports.lines import MISSING, ReleaseLogLine, ReportLine, TakeoverStatistics
from ablesung.exports.models import ExportRun, ExportSelection
from ablesung.exports.report import write_report
from ablesung.formats import FIELDS, FINANZ_PLUS_STANDARD, FileLayout, FormatError, Profile
from ablesung.formats.return_file import ExportValue, ReturnFile, ReturnFileWriter

#: the billing system's source code of each reading source (PLAUSIBILITY.md); a citizen
#: who tells the value at the counter is captured like a reading card, an imported reading
#: (a staff member's handheld file) counts as read on site
SOURCE_CODES: dict[str, str] = {
    ReadingSource.ONLINE: "S",
    ReadingSource.LETTER: "K",
    ReadingSource.IN_PERSON: "K",
    ReadingSource.PHONE: "T",
    ReadingSource.STAFF: "V",
    ReadingSource.IMPORT: "V",
    ReadingSource.ESTIMATE: "A",
    ReadingSource.MANUAL_ESTIMATE: "M",
}
#: a reading confirmed with "Zähler getauscht" is reported as a meter exchange
EXCHANGE_CODE = "W"
CHUNK = 2000
REPORT_LANGUAGE = "de"

_FIELDS = (
    "import_batch_id",
    "raw_row",
    "previous_value",
    "previous_date",
    "previous_was_estimate",
    "previous_year_consumption",
    "control_requested_at",
    "register__code",
    "register__meter__number",
    "register__meter__kind",
    "register__meter__digits",
    "register__meter__decimals",
    "register__meter__property__object_number",
    "register__meter__property__customer_number",
    "register__meter__property__owner_last_name",
    "register__meter__property__owner_first_name",
    "register__meter__property__street",
    "register__meter__property__house_number",
    "register__meter__property__postal_code",
    "register__meter__property__city",
    "current__value",
    "current__reading_date",
    "current__source",
    "current__comment",
    "current__reason",
    "current__confirmation_reason",
    "current__photo",
    "current__outcome",
    "current__state",
)


@dataclass(slots=True)
class Line:
    """One line of the campaign with its effective reading (``value`` ``None``: none)."""

    batch_id: int | None
    raw_row: list[Any]
    previous_value: Decimal | None
    previous_date: datetime.date | None
    previous_was_estimate: bool
    previous_year_consumption: Decimal | None
    control_requested_at: datetime.datetime | None
    register_code: str
    meter_number: str
    kind: str
    digits: int
    decimals: int
    object_number: str
    customer_number: str
    owner_last_name: str
    owner_first_name: str
    street: str
    house_number: str
    postal_code: str
    city: str
    value: Decimal | None
    reading_date: datetime.date | None
    source: str | None
    comment: str | None
    reason: str | None
    confirmation_reason: str | None
    photo: str | None
    outcome: str | None
    state: str | None


def campaign_lines(campaign: Campaign) -> Iterator[Line]:
    """The campaign's live lines in the billing file's order, with their effective reading
    (in the caller's organisation scope)."""
    rows = (
        live_lines([campaign.pk])
        .annotate(
            current=FilteredRelation(
                "register__readings",
                condition=Q(
                    register__readings__is_effective=True,
                    register__readings__campaign=F("campaign"),
                ),
            )
        )
        .order_by("import_batch_id", "row_number", "pk")
        .values_list(*_FIELDS)
    )
    for row in rows.iterator(chunk_size=CHUNK):
        yield Line(*row)


def exported(line: Line, selection: str) -> bool:
    """Whether the line's effective reading goes into the return file."""
    if line.value is None:
        return False
    if selection == ExportSelection.ALL_CURRENT:
        return True
    return line.state == ReviewState.RELEASED or line.source in ESTIMATE_SOURCES


def source_code(line: Line) -> str:
    if line.reason == ConfirmationReason.METER_EXCHANGED and line.source not in ESTIMATE_SOURCES:
        return EXCHANGE_CODE
    return SOURCE_CODES.get(line.source or "", "V")


def default_raw(line: Line) -> list[str]:
    """The cells of a line without an import, in the "FINANZ+ (Standard)" columns."""
    values = {
        "object_number": line.object_number,
        "customer_number": line.customer_number,
        "owner_last_name": line.owner_last_name,
        "owner_first_name": line.owner_first_name,
        "street": line.street,
        "house_number": line.house_number,
        "postal_code": line.postal_code,
        "city": line.city,
        "meter_number": line.meter_number,
        "meter_kind": str(MeterKind(line.kind).label) if line.kind in MeterKind else line.kind,
        "digits": str(line.digits),
        "previous_date": line.previous_date.strftime("%d.%m.%Y") if line.previous_date else "",
        "previous_value": _plain(line.previous_value),
        "previous_year_consumption": _plain(line.previous_year_consumption),
        "register_code": line.register_code,
        "decimals": str(line.decimals),
    }
    return [values.get(spec.name, "") for spec in DEFAULT_FIELDS]


def _plain(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}".replace(".", ",")


#: the default layout's import columns (those of meter-list.md) and its file conventions
DEFAULT_FIELDS = tuple(spec for spec in FIELDS if spec.name not in ("location_hint", "email"))
DEFAULT_LAYOUT = FileLayout(
    kind="csv",
    encoding="cp1252",
    separator=";",
    quotechar='"',
    line_end="\r\n",
    bom=False,
    header=[spec.label for spec in DEFAULT_FIELDS],
)


@dataclass
class BuiltFiles:
    """The files of a run in a working directory, before they are stored."""

    return_path: Path
    return_name: str
    report_path: Path
    report_name: str
    layouts: list[dict[str, Any]] = field(default_factory=list)
    statistics: TakeoverStatistics = field(default_factory=TakeoverStatistics)


def file_stem(campaign: Campaign, run: ExportRun) -> str:
    return f"{slugify(campaign.name) or 'ableseaktion'}-lauf-{run.number}"


def build_files(
    run: ExportRun, campaign: Campaign, workdir: Path, *, today: datetime.date | None = None
) -> BuiltFiles:
    """Writes the run's return file(s) and report into ``workdir`` (in the organisation's
    scope); raises :class:`FormatError` when a stored layout cannot be written."""
    today = today or timezone.localdate()
    stem = file_stem(campaign, run)
    checker = CampaignChecker(campaign, today)
    with translation.override(REPORT_LANGUAGE):
        labels = _Labels()
    batches = {
        batch.pk: batch
        for batch in ImportBatch.objects.filter(campaign=campaign).only(
            "pk", "layout", "profile", "original_name"
        )
    }
    statistics = TakeoverStatistics()
    written: list[Path] = []
    layouts: list[dict[str, Any]] = []
    files: list[ReturnFile] = []
    selection = run.selection

    def report_lines() -> Iterator[ReportLine]:
        """Writes the return files while it yields the report's lines (one pass)."""
        current: object = object()
        writer: ReturnFileWriter | None = None
        try:
            for line in campaign_lines(campaign):
                if writer is None or line.batch_id != current:
                    if writer is not None:
                        writer.__exit__(None, None, None)
                    current = line.batch_id
                    batch = batches.get(line.batch_id) if line.batch_id else None
                    return_file, description = return_file_of(batch)
                    path = workdir / f"{stem}-rueckgabe-{len(written) + 1}.{return_file.extension}"
                    files.append(return_file)
                    written.append(path)
                    layouts.append(description)
                    writer = return_file.open(path).__enter__()
                value, report_line, released_implausible = convert(line, selection, checker, labels)
                writer.add(line.raw_row if batch is not None else default_raw(line), value)
                if line.value is not None and value is None:
                    statistics.unreleased_left_out += 1
                statistics.add(report_line, implausible_released=released_implausible)
                yield report_line
        finally:
            if writer is not None:
                writer.__exit__(None, None, None)
        for return_file, description in zip(files, layouts, strict=True):
            description["replaced_characters"] = return_file.replaced_characters
            description["neutralised_cells"] = return_file.neutralised_cells
        statistics.replaced_characters = sum(f.replaced_characters for f in files)
        statistics.neutralised_cells = sum(f.neutralised_cells for f in files)

    report_path = workdir / f"{stem}-ergebnisse.xlsx"
    write_report(
        report_path,
        organisation=campaign.organisation.name,
        campaign=campaign.name,
        key_date=campaign.key_date,
        created_at=run.created_at,
        lines=report_lines(),
        statistics=statistics,
        release_log=release_log_lines(campaign),
    )
    if not written:  # a campaign without lines: the default layout's header alone
        return_file, description = return_file_of(None)
        written.append(workdir / f"{stem}-rueckgabe-1.csv")
        return_file.write([], written[0])
        layouts.append(description)
    if len(written) == 1:
        return_path = written[0]
        return_name = f"{stem}-rueckgabe{return_path.suffix}"
    else:  # one file per layout, in one archive
        return_path = workdir / f"{stem}-rueckgabe.zip"
        with zipfile.ZipFile(return_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, arcname=path.name)
        return_name = return_path.name
    return BuiltFiles(
        return_path=return_path,
        return_name=return_name,
        report_path=report_path,
        report_name=report_path.name,
        layouts=layouts,
        statistics=statistics,
    )


def return_file_of(batch: ImportBatch | None) -> tuple[ReturnFile, dict[str, Any]]:
    """The return file in the layout of ``batch`` (``None``: the default layout) and what
    the run records about it."""
    if batch is None:
        layout, profile, source = DEFAULT_LAYOUT, FINANZ_PLUS_STANDARD, ""
    else:
        try:
            layout = FileLayout.from_dict(batch.layout)
            profile = Profile.from_dict(batch.profile)
        except FormatError as exc:
            raise FormatError(
                f"Der Dateiaufbau des Imports „{batch.original_name}“ ist unlesbar: {exc}"
            ) from exc
        source = batch.original_name
    return ReturnFile(layout, profile), {
        "source": source,
        "profile": profile.name,
        "kind": layout.kind,
        "encoding": layout.encoding,
        "import": batch.pk if batch is not None else None,
    }


class _Labels:
    """German labels, looked up once per run."""

    def __init__(self) -> None:
        self.kinds = {key: str(label) for key, label in MeterKind.choices}
        self.outcomes = {key: str(label) for key, label in Outcome.choices}
        self.states = {key: str(label) for key, label in ReviewState.choices}
        self.reasons = {key: str(label) for key, label in ConfirmationReason.choices}
        self.left_out = "nicht exportiert"


def convert(
    line: Line, selection: str, checker: CampaignChecker, labels: _Labels
) -> tuple[ExportValue | None, ReportLine, bool]:
    """The line's return-file value (``None``: the reading columns stay as imported), its
    report line, and whether it was released although implausible."""
    owner = (
        f"{line.owner_last_name}, {line.owner_first_name}"
        if line.owner_first_name
        else line.owner_last_name
    )
    street = f"{line.street} {line.house_number}".strip()
    town = f"{line.postal_code} {line.city}".strip()
    base: dict[str, Any] = {
        "object_number": line.object_number,
        "owner": owner,
        "address": ", ".join(part for part in (street, town) if part),
        "meter_number": line.meter_number,
        "register_code": line.register_code,
        "kind": labels.kinds.get(line.kind, line.kind),
        "decimals": line.decimals,
        "unit": unit_for(line.kind),
        "previous_value": line.previous_value,
        "previous_date": line.previous_date,
        "control_requested": line.control_requested_at is not None,
    }
    if line.value is None or line.reading_date is None:
        return None, ReportLine(**base), False
    is_estimate = line.source in ESTIMATE_SOURCES
    result = checker.check(line)  # type: ignore[arg-type]  # value and date are set
    carried = line.value if is_estimate else checker.carried(line)  # type: ignore[arg-type]
    state = labels.states.get(line.state or "", line.state or "")
    take = exported(line, selection)
    if not take:
        state = f"{state} – {labels.left_out}"
    reason = labels.reasons.get(line.reason or "", "")
    confirmation = ": ".join(part for part in (reason, line.confirmation_reason or "") if part)
    code = source_code(line) if take else MISSING
    report_line = ReportLine(
        **base,
        new_value=line.value,
        new_date=line.reading_date,
        key_date_value=carried,
        source_code=code,
        consumption=result.consumption,
        expected=result.expected,
        outcome="" if is_estimate else labels.outcomes.get(line.outcome or "", ""),
        messages="" if is_estimate else " ".join(result.messages("de")),
        confirmation=confirmation,
        state=state,
        comment=line.comment or "",
        has_photo=bool(line.photo),
    )
    released_implausible = (
        take
        and line.state == ReviewState.RELEASED
        and line.outcome == Outcome.IMPLAUSIBLE
        and not is_estimate
    )
    if not take:
        return None, report_line, False
    value = ExportValue(
        reading_date=line.reading_date,
        value=line.value,
        source_code=code,
        comment=line.comment or "",
        decimals=line.decimals,
        key_date_value=carried,
        key_date=checker.key_date,
    )
    return value, report_line, released_implausible


def release_log_lines(campaign: Campaign) -> Iterator[ReleaseLogLine]:
    """The campaign's release log: every run's entries, oldest run first."""
    with translation.override(REPORT_LANGUAGE):
        outcomes = {key: str(label) for key, label in Outcome.choices}
    entries = (
        ReleaseLogEntry.objects.filter(run__campaign=campaign)
        .order_by("run__created_at", "run_id", "meter_number", "register_code", "pk")
        .values_list(
            "run__created_at",
            "run__actor_label",
            "run__scope",
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
    for at, by, scope, obj, meter, code, value, day, outcome, released, reason in entries.iterator(
        chunk_size=CHUNK
    ):
        yield ReleaseLogLine(
            run_at=at,
            run_by=by,
            scope=scope,
            object_number=obj,
            meter_number=meter,
            register_code=code,
            value=value,
            reading_date=day,
            outcome=outcomes.get(outcome, outcome),
            released=released,
            reason=reason,
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
