"""Rule 1 for ``Decimal`` values: judged exactly like the same value typed as text.

Trailing zeros do not count as decimal places, for text (``"12,0"``) and ``Decimal``
(``Decimal("12.0")``, ``Decimal("12.50")``) alike: a register without decimals
accepts ``12,0``, a register with one decimal accepts ``12,50``.
"""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ablesung.plausibility import (
    Outcome,
    PreviousReading,
    PreviousYearConsumption,
    Register,
    check_reading,
    format_decimal,
)

D = Decimal
LAST = date(2025, 12, 31)
KEY = date(2026, 12, 31)
TODAY = date(2027, 1, 15)


def _check(value: Decimal | str, decimals: int, digits: int = 5) -> tuple[Outcome, tuple[str, ...]]:
    result = check_reading(value, KEY, register=Register(digits, decimals), today=TODAY)
    return result.outcome, result.codes


@pytest.mark.parametrize(
    ("decimals", "text", "number", "codes"),
    [
        (0, "12,5", D("12.5"), ("value.decimals_not_allowed",)),
        (1, "12,55", D("12.55"), ("value.too_many_decimals",)),
        (2, "12,555", D("12.555"), ("value.too_many_decimals",)),
        (3, "0,0001", D("0.0001"), ("value.too_many_decimals",)),
        (1, "12,550", D("12.550"), ("value.too_many_decimals",)),
        (3, "12,5551", D("1.25551E+1"), ("value.too_many_decimals",)),
    ],
)
def test_too_many_decimals_is_an_error_for_text_and_decimal(
    decimals: int, text: str, number: Decimal, codes: tuple[str, ...]
) -> None:
    assert _check(text, decimals) == (Outcome.ERROR, codes)
    assert _check(number, decimals) == (Outcome.ERROR, codes)


@pytest.mark.parametrize(
    ("decimals", "text", "number"),
    [
        (0, "12,0", D("12.0")),
        (0, "12,000", D("12.000")),
        (1, "12,50", D("12.50")),
        (1, "12,5", D("12.5")),
        (2, "12", D("1.2E+1")),
        (3, "12,345", D("12.345")),
        (0, "0", D("0E-3")),
    ],
)
def test_trailing_zeros_are_not_decimal_places(decimals: int, text: str, number: Decimal) -> None:
    assert _check(text, decimals) == (Outcome.OK, ())
    assert _check(number, decimals) == (Outcome.OK, ())


def test_a_value_with_more_digits_than_the_context_is_still_judged_exactly() -> None:
    """35 significant digits: rounding to the default 28 must not hide the last decimal."""
    value = D("12345678901234567.123456789012345678")  # 18 decimals
    assert _check(value, 17, digits=17)[1] == ("value.too_many_decimals",)
    assert _check(str(value).replace(".", ","), 17, digits=17)[1] == ("value.too_many_decimals",)
    assert _check(value, 18, digits=17) == (Outcome.OK, ())


@st.composite
def decimals_any(draw: st.DrawFn) -> Decimal:
    """Finite decimals with up to 22 digits and 6 places, any sign, any trailing zeros."""
    unscaled = draw(st.integers(min_value=-(10**16), max_value=10**22))
    exponent = draw(st.integers(min_value=-6, max_value=3))
    return Decimal(f"{unscaled}E{exponent}")


def _as_typed(number: Decimal, grouped: bool) -> str:
    """How a person types it: ``1234,50`` (as stored) or ``1.234,5`` (grouped, normalised)."""
    if grouped and number.is_finite():
        return format_decimal(number)
    return format(number, "f").replace(".", ",") if number.is_finite() else str(number)


@given(
    number=st.one_of(
        decimals_any(), st.sampled_from([D("NaN"), D("-Infinity"), D("Infinity"), D("-0")])
    ),
    grouped=st.booleans(),
    digits=st.integers(min_value=1, max_value=9),
    decimals=st.integers(min_value=0, max_value=3),
    previous=st.one_of(st.none(), st.decimals(min_value=0, max_value=10**6, places=2)),
    q=st.one_of(st.none(), st.decimals(min_value=0, max_value=5000, places=1)),
)
@example(D("12.5"), False, 5, 0, None, None)
@example(D("12.55"), False, 5, 1, None, None)
@example(D("12.50"), False, 5, 1, None, None)
@example(D("12.0"), False, 5, 0, None, None)
def test_text_and_decimal_give_the_same_result(
    number: Decimal,
    grouped: bool,
    digits: int,
    decimals: int,
    previous: Decimal | None,
    q: Decimal | None,
) -> None:
    common = {
        "register": Register(digits, decimals),
        "today": TODAY,
        "previous": None if previous is None else PreviousReading(previous, LAST),
        "previous_year": None if q is None else PreviousYearConsumption(q),
        "key_date": KEY,
    }
    as_decimal = check_reading(number, KEY, **common)  # type: ignore[arg-type]
    as_text = check_reading(_as_typed(number, grouped), KEY, **common)  # type: ignore[arg-type]
    assert as_decimal.outcome == as_text.outcome
    assert as_decimal.codes == as_text.codes
    assert as_decimal == as_text
    if as_decimal.value is not None and as_text.value is not None:
        assert as_decimal.value.is_signed() == as_text.value.is_signed()  # never "-0"
