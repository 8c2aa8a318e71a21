from datetime import date
from decimal import Decimal

from ablesung.plausibility import (
    HEATING,
    UNIFORM,
    Estimate,
    EstimateBasis,
    PreviousReading,
    PreviousYearConsumption,
    Register,
    estimate,
    expected_consumption,
    extrapolate,
    median_consumption,
    monthly_weights,
    reference_period,
)

D = Decimal
LAST = date(2025, 12, 31)
KEY = date(2026, 12, 31)


def test_expected_consumption_uniform_is_q_times_days_over_365() -> None:
    ref = reference_period(PreviousYearConsumption(D(73)), LAST)
    assert ref == (date(2024, 12, 31), LAST)
    assert expected_consumption(D(73), LAST, date(2026, 1, 5), reference=ref) == D(1)
    assert expected_consumption(D(73), date(2026, 1, 5), LAST, reference=ref) == D(-1)
    explicit = PreviousYearConsumption(D(73), (date(2025, 1, 1), date(2025, 7, 1)))
    assert reference_period(explicit, LAST) == explicit.period


def test_expected_consumption_none_without_weight() -> None:
    winter_only = monthly_weights([D(1)] * 3 + [D(0)] * 9)
    ref = (date(2025, 5, 1), date(2025, 6, 1))
    assert expected_consumption(D(10), LAST, KEY, reference=ref, weights=winter_only) is None


def test_extrapolate_forward_backward_and_wrap() -> None:
    register = Register(5)
    q = PreviousYearConsumption(D(73))
    assert extrapolate(D(1000), date(2026, 12, 1), KEY, register=register, previous_year=q) == D(
        1006
    )
    assert extrapolate(D(1000), date(2027, 1, 30), KEY, register=register, previous_year=q) == D(
        994
    )
    assert extrapolate(D(3), date(2027, 1, 30), KEY, register=register, previous_year=q) == D(99997)
    assert extrapolate(D(99998), date(2026, 12, 1), KEY, register=register, previous_year=q) == D(4)
    gas = Register(5, 3)
    value = extrapolate(
        D("12000.000"),
        date(2026, 12, 1),
        date(2027, 1, 1),
        register=gas,
        previous_year=PreviousYearConsumption(D(1000)),
        weights=HEATING,
        previous_date=LAST,
    )
    assert value == D("12160.000")


def test_extrapolate_without_reference_weight() -> None:
    q = PreviousYearConsumption(D(10), (date(2025, 5, 1), date(2025, 6, 1)))
    winter_only = monthly_weights([D(1)] * 3 + [D(0)] * 9)
    assert (
        extrapolate(D(5), LAST, KEY, register=Register(5), previous_year=q, weights=winter_only)
        is None
    )


def test_estimate_from_previous_year() -> None:
    previous = PreviousReading(D(1150), LAST)
    result = estimate(
        previous, KEY, register=Register(5), previous_year=PreviousYearConsumption(D(80))
    )
    assert result == Estimate(D(1230), D(80), EstimateBasis.PREVIOUS_YEAR)


def test_estimate_wraps() -> None:
    previous = PreviousReading(D(9990), LAST)
    result = estimate(
        previous, KEY, register=Register(4), previous_year=PreviousYearConsumption(D(80))
    )
    assert (result.value, result.consumption) == (D(70), D(80))


def test_estimate_gas_in_winter() -> None:
    previous = PreviousReading(D("500.5"), date(2026, 1, 1))
    result = estimate(
        previous,
        date(2026, 2, 1),
        register=Register(5, 1),
        previous_year=PreviousYearConsumption(D(1000)),
        weights=HEATING,
    )
    assert result.value == D("670.5")


def test_estimate_falls_back_to_the_median() -> None:
    previous = PreviousReading(D(100), LAST)
    kinds = [D(60), None, D(100), D(-5), D(80), D(90)]
    result = estimate(previous, KEY, register=Register(5), kind_consumptions=kinds)
    assert result == Estimate(D(185), D(85), EstimateBasis.MEDIAN)
    negative_q = PreviousYearConsumption(D(-1))
    result = estimate(
        previous, KEY, register=Register(5), previous_year=negative_q, kind_consumptions=[D(50)]
    )
    assert result.basis is EstimateBasis.MEDIAN
    assert result.value == D(150)


def test_estimate_without_anything_keeps_the_previous_value() -> None:
    previous = PreviousReading(D("100.4"), LAST)
    result = estimate(previous, KEY, register=Register(5))
    assert result == Estimate(D(100), D(0), EstimateBasis.NONE)


def test_estimate_key_date_before_previous_reading() -> None:
    previous = PreviousReading(D(100), KEY)
    result = estimate(
        previous, LAST, register=Register(5), previous_year=PreviousYearConsumption(D(80))
    )
    assert result.consumption == 0
    assert result.value == D(100)


def test_estimate_reference_without_weight() -> None:
    previous = PreviousReading(D(100), LAST)
    winter_only = monthly_weights([D(1)] * 3 + [D(0)] * 9)
    q = PreviousYearConsumption(D(10), (date(2025, 5, 1), date(2025, 6, 1)))
    result = estimate(previous, KEY, register=Register(5), previous_year=q, weights=winter_only)
    assert result.consumption == 0


def test_median() -> None:
    assert median_consumption([]) is None
    assert median_consumption([D(3), D(1), D(2)]) == D(2)
    assert median_consumption([D(4), D(1), D(2), D(3)]) == D("2.5")


def test_uniform_is_default() -> None:
    previous = PreviousReading(D(0), LAST)
    q = PreviousYearConsumption(D(365))
    assert estimate(
        previous, KEY, register=Register(5), previous_year=q, weights=UNIFORM
    ).value == D(365)
