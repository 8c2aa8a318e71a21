"""Carrying a reading to the key date, and estimating readings nobody reported.

* ``extrapolate``: ``R(k) = R(d) + Q × W(d, k) / W(reference)`` (``W``
  negative when ``d`` is after ``k``), rounded half up to the register's
  precision and wrapped at ``10^digits``.
* ``estimate``: ``R_est = R_prev + Q × W(prev date, key date) / W(reference)``,
  wrapped; without ``Q`` (new connection) ``Q`` is the median of the
  previous-year consumptions of the organisation's meters of the same kind.
  The estimated consumption is never negative, so an estimate is never below
  the previous reading (modulo the wrap).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from ablesung.plausibility.readings import PreviousReading, PreviousYearConsumption, Register
from ablesung.plausibility.rules import carry, ratio_for, wrap
from ablesung.plausibility.weights import UNIFORM, DayWeights

_ZERO = Decimal(0)
_TWO = Decimal(2)


class EstimateBasis(StrEnum):
    PREVIOUS_YEAR = "previous_year"  # the meter's own previous-year consumption
    MEDIAN = "median"  # median of the organisation's meters of the same kind
    NONE = "none"  # nothing to go on: the previous reading is carried unchanged


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimated reading at the key date (store it with source ``A``)."""

    value: Decimal
    consumption: Decimal
    basis: EstimateBasis


def extrapolate(
    value: Decimal,
    reading_date: date,
    key_date: date,
    *,
    register: Register,
    previous_year: PreviousYearConsumption,
    weights: DayWeights = UNIFORM,
    previous_date: date | None = None,
) -> Decimal | None:
    """The reading carried to the key date; ``None`` if the reference period weighs nothing.

    The reference period is ``previous_year.period`` or the 365 days ending at
    ``previous_date`` (the previous reading's date), else at ``reading_date``.
    """
    ratio = ratio_for(weights, reading_date, key_date, previous_year, previous_date or reading_date)
    if ratio is None:
        return None
    return carry(value, previous_year.value, ratio, register)


def median_consumption(consumptions: Iterable[Decimal | None]) -> Decimal | None:
    """The median of the known, non-negative consumptions; ``None`` if there are none."""
    values = sorted(value for value in consumptions if value is not None and value >= _ZERO)
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / _TWO


def estimate(
    previous: PreviousReading,
    key_date: date,
    *,
    register: Register,
    previous_year: PreviousYearConsumption | None = None,
    kind_consumptions: Iterable[Decimal | None] = (),
    weights: DayWeights = UNIFORM,
) -> Estimate:
    """Estimate the reading at ``key_date`` for a meter nobody reported.

    ``kind_consumptions``: previous-year consumptions (one year each) of the
    organisation's meters of the same kind, used when ``previous_year`` is
    missing or negative. A key date on or before the previous reading date
    gives zero consumption.
    """
    basis = EstimateBasis.PREVIOUS_YEAR
    quantity = previous_year.value if previous_year is not None else None
    reference_source = previous_year
    if quantity is None or quantity < _ZERO:
        quantity = median_consumption(kind_consumptions)
        reference_source = None
        basis = EstimateBasis.MEDIAN
    consumption = _ZERO
    if quantity is None:
        basis = EstimateBasis.NONE
    elif key_date > previous.reading_date:
        ratio = ratio_for(
            weights,
            previous.reading_date,
            key_date,
            reference_source or PreviousYearConsumption(quantity),
            previous.reading_date,
        )
        if ratio is not None:
            consumption = (quantity * ratio).quantize(register.step, rounding=ROUND_HALF_UP)
    start = previous.value.quantize(register.step, rounding=ROUND_HALF_UP)
    return Estimate(wrap(start + consumption, register.modulus), consumption, basis)
