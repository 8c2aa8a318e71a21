"""Expected consumption: ``E(a, b) = Q × W(a, b) / W(reference period)``."""

from datetime import date, timedelta
from decimal import Decimal

from ablesung.plausibility.readings import PreviousYearConsumption
from ablesung.plausibility.weights import UNIFORM, DayWeights

REFERENCE_DAYS = 365
_REFERENCE = timedelta(days=REFERENCE_DAYS)


def reference_period(
    previous_year: PreviousYearConsumption, default_end: date
) -> tuple[date, date]:
    """The explicit reference period, or the 365 days ending at ``default_end``."""
    if previous_year.period is not None:
        return previous_year.period
    return default_end - _REFERENCE, default_end


def expected_consumption(
    quantity: Decimal,
    start: date,
    end: date,
    *,
    reference: tuple[date, date],
    weights: DayWeights = UNIFORM,
) -> Decimal | None:
    """``Q × W(start, end) / W(reference)``; ``None`` when the reference period weighs nothing.

    With uniform weights this is ``Q × days / 365`` for the default reference.
    Negative when ``end`` is before ``start``.
    """
    reference_weight = weights.weight(reference[0], reference[1])
    if reference_weight <= 0:
        return None
    return quantity * weights.weight(start, end) / reference_weight
