"""Rule 5's edges: outside the percentage band **and** a deviation of at least 5 units warns.

PLAUSIBILITY.md: "consumption outside ``[E × (1 − 40 %), E × (1 + 70 %)]`` and the
absolute deviation ≥ 5 units; for ``E`` ≥ 1,000 the band narrows to −20 %/+50 %".
A deviation of exactly ``min_deviation`` is a warning; the percentage edges themselves
are inside the band.
"""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ablesung.plausibility import (
    DEFAULT_THRESHOLDS,
    CheckResult,
    Outcome,
    PreviousReading,
    PreviousYearConsumption,
    Register,
    Thresholds,
    check_property,
    check_reading,
)
from ablesung.plausibility.readings import ReadingInput
from ablesung.plausibility.rules import Context

D = Decimal
LAST = date(2025, 12, 31)
KEY = date(2026, 12, 31)  # 365 days after LAST: with uniform weights E = Q
TODAY = date(2027, 1, 15)
PREVIOUS = D(1000)
OK, WARNING = Outcome.OK, Outcome.WARNING
# the narrow band (E ≥ 1000) made so tight that the 5 units decide: 999 … 1002 for E 1000
TIGHT_NARROW = Thresholds(narrow_lower_pct=D("0.1"), narrow_upper_pct=D("0.2"))


def _check(
    consumption: Decimal, q: Decimal, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> CheckResult:
    return check_reading(
        PREVIOUS + consumption,
        KEY,
        register=Register(6, 2),
        previous=PreviousReading(PREVIOUS, LAST),
        previous_year=PreviousYearConsumption(q),
        today=TODAY,
        thresholds=thresholds,
    )


@pytest.mark.parametrize(
    ("q", "consumption", "outcome"),
    [
        # E 6: the percentage band is 3.6 … 10.2, the 5 units decide on both sides
        (D(6), D("10.99"), OK),
        (D(6), D("11"), WARNING),
        (D(6), D("11.01"), WARNING),
        (D(6), D("1.01"), OK),
        (D(6), D("1"), WARNING),
        (D(6), D("0.99"), WARNING),
        # E 10: upper edge 17 (percentages), lower edge 5 (the 5 units: 6 is inside 40 %)
        (D(10), D("17"), OK),
        (D(10), D("17.01"), WARNING),
        (D(10), D("5.01"), OK),
        (D(10), D("5"), WARNING),
    ],
)
def test_normal_band_edges(q: Decimal, consumption: Decimal, outcome: Outcome) -> None:
    result = _check(consumption, q)
    assert result.outcome == outcome
    assert result.codes == (() if outcome == OK else ("consumption.outside_band",))
    assert result.expected == q


@pytest.mark.parametrize(
    ("consumption", "outcome"),
    [
        (D("1004.99"), OK),
        (D("1005"), WARNING),
        (D("1005.01"), WARNING),
        (D("995.01"), OK),
        (D("995"), WARNING),
        (D("994.99"), WARNING),
    ],
)
def test_narrow_band_five_units(consumption: Decimal, outcome: Outcome) -> None:
    result = _check(consumption, D(1000), TIGHT_NARROW)
    assert result.outcome == outcome
    assert result.codes == (() if outcome == OK else ("consumption.outside_band",))
    assert result.band == (D("999.000"), D("1002.000"))


@pytest.mark.parametrize(
    ("consumption", "outcome"),
    [
        (D("1500"), OK),
        (D("1500.01"), WARNING),
        (D("800"), OK),
        (D("799.99"), WARNING),
    ],
)
def test_narrow_band_percentage_edges_are_inside(consumption: Decimal, outcome: Outcome) -> None:
    result = _check(consumption, D(1000))
    assert result.outcome == outcome
    assert result.codes == (() if outcome == OK else ("consumption.outside_band",))


def test_band_of_the_result_is_the_percentage_band() -> None:
    result = _check(D(11), D(6))
    assert result.band == (D("3.6"), D("10.2"))
    assert DEFAULT_THRESHOLDS.band(D(6)) == (D(1), D(11))


def test_swapped_meters_see_the_five_unit_edge() -> None:
    """Rule 8 uses the same edge: a value exactly 5 units off does not "pass when swapped"."""

    def meter(value: Decimal, previous: Decimal, number: str) -> ReadingInput:
        return ReadingInput(
            value=value,
            reading_date=KEY,
            register=Register(6, 2),
            previous=PreviousReading(previous, LAST),
            previous_year=PreviousYearConsumption(D(6)),
            meter=number,
        )

    # A used 20 (E 6: warning), B ran backwards; swapped, B would use 6 and A 11 or 10.99
    for b_value, swapped in ((D(1011), False), (D("1010.99"), True)):
        first, second = check_property(
            [meter(D(1020), D(1000), "A"), meter(b_value, D(1014), "B")], today=TODAY
        )
        assert first.codes[0] == "consumption.outside_band"
        assert second.codes[0] == "consumption.backwards"
        assert ("hint.swapped_meters" in first.codes) is swapped
        assert ("hint.swapped_meters" in second.codes) is swapped


quantities = st.decimals(min_value=0, max_value=3000, places=2)
consumptions = st.decimals(min_value=0, max_value=12000, places=2)


@given(
    q=quantities,
    consumption=consumptions,
    estimate_before=st.booleans(),
    thresholds=st.sampled_from([DEFAULT_THRESHOLDS, TIGHT_NARROW]),
)
def test_rule_five_is_the_table(
    q: Decimal, consumption: Decimal, estimate_before: bool, thresholds: Thresholds
) -> None:
    """Outside the band and ≥ min_deviation away ⇔ the warning (where rules 4 and 6 are silent)."""
    result = check_reading(
        PREVIOUS + consumption,
        KEY,
        register=Register(6, 2),
        previous=PreviousReading(PREVIOUS, LAST, estimate_before),
        previous_year=PreviousYearConsumption(q),
        today=TODAY,
        thresholds=thresholds,
    )
    assert result.band is not None
    low, high = result.band
    table = (consumption < low or consumption > high) and abs(
        consumption - q
    ) >= thresholds.min_deviation
    if "consumption.far_too_high" in result.codes or "consumption.far_too_low" in result.codes:
        return
    if consumption == 0:
        return
    assert ("consumption.outside_band" in result.codes) == table


@given(
    q=quantities,
    consumption=consumptions,
    estimate_before=st.booleans(),
    thresholds=st.sampled_from([DEFAULT_THRESHOLDS, TIGHT_NARROW]),
)
def test_fits_agrees_with_judge(
    q: Decimal, consumption: Decimal, estimate_before: bool, thresholds: Thresholds
) -> None:
    """The shortcut used by rules 7 and 8 decides exactly like the full check."""
    expected = q
    limits = thresholds.limits(expected, estimate_before)
    context = Context(
        Register(6, 2),
        PreviousReading(PREVIOUS, LAST, estimate_before),
        expected,
        limits,
        thresholds,
    )
    number = PREVIOUS + consumption
    assert context.fits(number) == (not context.judge(number)[1])
