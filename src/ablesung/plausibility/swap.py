"""Rule 8: swapped meters, a property-level check over all its meters.

Two meters of one property whose values both fail (any value finding: too
many digits, overflow, backwards, zero, outside the band, far too high or low)
and both pass when their values are exchanged get the hint
``hint.swapped_meters`` naming the other meter. Only meters with the same unit
are compared. The hint never changes an outcome.
"""

import dataclasses
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from ablesung.plausibility.readings import ReadingInput
from ablesung.plausibility.result import CheckResult, Finding, Outcome
from ablesung.plausibility.rules import HINT_SWAPPED_METERS, Context, evaluate
from ablesung.plausibility.thresholds import DEFAULT_THRESHOLDS, Thresholds


def check_property(
    readings: Sequence[ReadingInput],
    *,
    today: date,
    key_date: date | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[CheckResult]:
    """Check every reading of one property (rules 1–9); results in the order of ``readings``."""
    results: list[CheckResult] = []
    failing: list[tuple[int, Context, Decimal]] = []
    for index, reading in enumerate(readings):
        result, context, number = evaluate(
            reading.value,
            reading.reading_date,
            register=reading.register,
            previous=reading.previous,
            previous_year=reading.previous_year,
            key_date=key_date,
            today=today,
            weights=reading.weights,
            thresholds=thresholds,
            unit=reading.unit,
        )
        results.append(result)
        if context is not None and number is not None:
            failing.append((index, context, number))
    if len(failing) < 2:
        return results
    hints: dict[int, list[Finding]] = {}
    for position, (first, first_context, first_number) in enumerate(failing):
        for second, second_context, second_number in failing[position + 1 :]:
            if readings[first].unit != readings[second].unit:
                continue
            if first_context.passes(second_number) and second_context.passes(first_number):
                hints.setdefault(first, []).append(_hint(readings[second].meter))
                hints.setdefault(second, []).append(_hint(readings[first].meter))
    for index, extra in hints.items():
        result = results[index]
        results[index] = dataclasses.replace(result, findings=result.findings + tuple(extra))
    return results


def _hint(meter: str) -> Finding:
    return Finding(HINT_SWAPPED_METERS, Outcome.WARNING, {"meter": meter})
