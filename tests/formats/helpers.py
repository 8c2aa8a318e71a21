"""Shared helpers for the formats tests: run the pure import pipeline on a file."""

import datetime
from pathlib import Path

from ablesung.formats import (
    FINANZ_PLUS_STANDARD,
    Detected,
    Limits,
    MeterRow,
    Profile,
    RowError,
    Validator,
    detect,
    iter_rows,
)

SAMPLES = Path("/work/shared/samples")
CLEAN = SAMPLES / "musterstadt-2026.csv"
DIRTY = SAMPLES / "musterstadt-2026-dirty.csv"
TODAY = datetime.date(2026, 2, 1)


def run(
    path: Path,
    profile: Profile = FINANZ_PLUS_STANDARD,
    *,
    detected: Detected | None = None,
    limits: Limits | None = None,
    today: datetime.date = TODAY,
) -> tuple[list[MeterRow], list[RowError], Detected]:
    """Detect, read and validate ``path``; return valid rows, errors and the detection."""
    limits = limits or Limits()
    detected = detected or detect(path, path.name, limits=limits)
    validator = Validator(profile, detected.header, today=today)
    rows: list[MeterRow] = []
    errors: list[RowError] = []
    for line, cells in iter_rows(
        path, detected, limits=limits, decimal_comma=profile.decimal_comma
    ):
        result = validator.feed(line, cells)
        if isinstance(result, MeterRow):
            rows.append(result)
        else:
            errors.extend(result)
    errors.extend(validator.finish())
    return rows, errors, detected
