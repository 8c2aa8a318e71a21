"""What the Excel report is written from: plain data, no Django.

The export service reads the campaign once and hands the report writer one
:class:`ReportLine` per register line, the :class:`TakeoverStatistics` counted over the
same lines, and the release log as :class:`ReleaseLogLine` rows.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

#: source codes of the return file (PLAUSIBILITY.md, "Source codes in the return file") in
#: the order the statistics show them, with their German labels
SOURCE_LABELS: dict[str, str] = {
    "S": "Online (Bürger:in)",
    "K": "Ablesekarte / persönlich",
    "T": "Telefon",
    "V": "Ablesung vor Ort",
    "W": "Zählerwechsel",
    "A": "Schätzung (automatisch)",
    "M": "Schätzung (manuell)",
}
#: the statistics' key for a line without an exported value
MISSING = "-"
MISSING_LABEL = "fehlt"
ESTIMATE_CODES = frozenset({"A", "M"})


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One register line of the campaign with its exported reading (if any)."""

    object_number: str
    owner: str
    address: str
    meter_number: str
    register_code: str
    kind: str  # German label of the meter kind
    decimals: int  # decimals of the register (0 for water)
    unit: str
    previous_value: Decimal | None
    previous_date: datetime.date | None
    new_value: Decimal | None = None
    new_date: datetime.date | None = None
    key_date_value: Decimal | None = None
    source_code: str = MISSING  # S K T V W A M, or MISSING
    consumption: Decimal | None = None
    expected: Decimal | None = None
    outcome: str = ""  # German label ("plausibel", "unplausibel", …)
    messages: str = ""
    confirmation: str = ""  # the confirmation reason and its text
    state: str = ""  # German label of the review/release state
    comment: str = ""
    has_photo: bool = False
    control_requested: bool = False

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source_code, MISSING_LABEL)


@dataclass(frozen=True, slots=True)
class ReleaseLogLine:
    """One entry of a release run's log."""

    run_at: datetime.datetime  # aware, UTC
    run_by: str
    scope: str
    object_number: str
    meter_number: str
    register_code: str
    value: Decimal
    reading_date: datetime.date
    outcome: str
    released: bool
    reason: str


@dataclass(slots=True)
class TakeoverStatistics:
    """Counts of the exported lines ("Übernahmestatistik").

    ``by_source`` counts lines per source code (``MISSING`` for lines without a value);
    ``by_state`` per German state label; ``by_kind`` per meter kind and source code.
    """

    lines: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_state: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    implausible_released: int = 0  # released although implausible (by a clerk's decision)
    unreleased_left_out: int = 0  # effective readings not exported (not released)
    control_requested: int = 0
    replaced_characters: int = 0  # characters the return file's encoding cannot hold
    neutralised_cells: int = 0  # text cells written so that no spreadsheet runs them

    def add(self, line: ReportLine, *, implausible_released: bool = False) -> None:
        self.lines += 1
        self.by_source[line.source_code] += 1
        self.by_state[line.state or MISSING_LABEL] += 1
        self.by_kind.setdefault(line.kind, Counter())[line.source_code] += 1
        if implausible_released:
            self.implausible_released += 1
        if line.control_requested:
            self.control_requested += 1

    @property
    def missing(self) -> int:
        return self.by_source[MISSING]

    @property
    def estimated(self) -> int:
        return sum(self.by_source[code] for code in ESTIMATE_CODES)

    @property
    def read(self) -> int:
        """Lines with a real reading (not an estimate, not missing)."""
        return self.lines - self.missing - self.estimated

    @property
    def online(self) -> int:
        return self.by_source["S"]

    def share(self, count: int) -> Decimal:
        """``count`` as a share of all lines (0 … 1, four decimals)."""
        if not self.lines:
            return Decimal(0)
        return (Decimal(count) / Decimal(self.lines)).quantize(Decimal("0.0001"))

    def as_dict(self) -> dict[str, object]:
        """JSON-safe, for the export run's stored counts."""
        return {
            "lines": self.lines,
            "read": self.read,
            "online": self.online,
            "estimated": self.estimated,
            "missing": self.missing,
            "implausible_released": self.implausible_released,
            "unreleased_left_out": self.unreleased_left_out,
            "control_requested": self.control_requested,
            "replaced_characters": self.replaced_characters,
            "neutralised_cells": self.neutralised_cells,
            "by_source": dict(self.by_source),
            "by_state": dict(self.by_state),
            "by_kind": {kind: dict(counts) for kind, counts in self.by_kind.items()},
        }
