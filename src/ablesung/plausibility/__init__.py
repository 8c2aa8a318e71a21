"""Plausibility checks, expected consumption, key-date extrapolation and estimates.

Pure Python over plain data (``Decimal`` values, ``datetime.date`` dates):
no Django import anywhere in this package. See ``PLAUSIBILITY.md``.

Typical use::

    result = check_reading(
        "1.234", date(2026, 12, 30),
        register=Register(digits=5),
        previous=PreviousReading(Decimal(1150), date(2025, 12, 30)),
        previous_year=PreviousYearConsumption(Decimal(80)),
        key_date=date(2026, 12, 31),
        today=date(2027, 1, 5),
    )
    result.outcome, result.messages("de")
"""

from ablesung.plausibility.estimates import (
    Estimate,
    EstimateBasis,
    estimate,
    extrapolate,
    median_consumption,
)
from ablesung.plausibility.expected import REFERENCE_DAYS, expected_consumption, reference_period
from ablesung.plausibility.german_numbers import format_date, format_decimal, parse_decimal
from ablesung.plausibility.messages import LANGUAGES, TEMPLATES, render
from ablesung.plausibility.readings import (
    PreviousReading,
    PreviousYearConsumption,
    ReadingInput,
    Register,
)
from ablesung.plausibility.result import CheckResult, Finding, Outcome
from ablesung.plausibility.rules import check_reading, parse_value
from ablesung.plausibility.swap import check_property
from ablesung.plausibility.thresholds import DEFAULT_THRESHOLDS, ThresholdError, Thresholds
from ablesung.plausibility.weights import (
    HEATING,
    UNIFORM,
    DayWeights,
    MonthlyWeights,
    ProfileError,
    UniformWeights,
    monthly_weights,
    parse_profile,
    weights_for_kind,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "HEATING",
    "LANGUAGES",
    "REFERENCE_DAYS",
    "TEMPLATES",
    "UNIFORM",
    "CheckResult",
    "DayWeights",
    "Estimate",
    "EstimateBasis",
    "Finding",
    "MonthlyWeights",
    "Outcome",
    "PreviousReading",
    "PreviousYearConsumption",
    "ProfileError",
    "ReadingInput",
    "Register",
    "ThresholdError",
    "Thresholds",
    "UniformWeights",
    "check_property",
    "check_reading",
    "estimate",
    "expected_consumption",
    "extrapolate",
    "format_date",
    "format_decimal",
    "median_consumption",
    "monthly_weights",
    "parse_decimal",
    "parse_profile",
    "parse_value",
    "reference_period",
    "render",
    "weights_for_kind",
]
