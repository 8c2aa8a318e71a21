"""Hypothesis invariants of the rules, extrapolation, estimates and messages."""

from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from ablesung.plausibility import (
    DEFAULT_THRESHOLDS,
    HEATING,
    UNIFORM,
    DayWeights,
    Outcome,
    PreviousReading,
    PreviousYearConsumption,
    ReadingInput,
    Register,
    Thresholds,
    check_property,
    check_reading,
    estimate,
    extrapolate,
)

D = Decimal
LAST = date(2025, 12, 31)
KEY = date(2026, 12, 31)
TODAY = date(2027, 6, 30)
MILLI = D("0.001")

weights_strategy = st.sampled_from([UNIFORM, HEATING])
quantities = st.decimals(min_value=0, max_value=20000, places=1)
deviations = st.decimals(min_value=0, max_value=100000, places=3)
thresholds_strategy = st.builds(
    Thresholds,
    band_lower_pct=st.decimals(min_value=0, max_value=60, places=0),
    band_upper_pct=st.decimals(min_value=1, max_value=150, places=0),
    min_deviation=st.decimals(min_value=0, max_value=50, places=1),
    narrow_from=st.decimals(min_value=0, max_value=5000, places=0),
    narrow_lower_pct=st.decimals(min_value=0, max_value=20, places=0),
    narrow_upper_pct=st.decimals(min_value=1, max_value=50, places=0),
    implausible_factor=st.decimals(min_value=3, max_value=6, places=1),
    implausible_add=st.decimals(min_value=0, max_value=50, places=0),
    implausible_low_pct=st.decimals(min_value=0, max_value=30, places=0),
    implausible_low_from=st.decimals(min_value=0, max_value=200, places=0),
    estimate_widening=st.decimals(min_value=1, max_value=3, places=1),
)


def _outcome(
    consumption: Decimal, q: Decimal, estimate_before: bool, thresholds: Thresholds
) -> Outcome:
    previous = D(1_000_000)
    return check_reading(
        previous + consumption,
        KEY,
        register=Register(9, 3),
        previous=PreviousReading(previous, LAST, estimate_before),
        previous_year=PreviousYearConsumption(q),
        key_date=KEY,
        today=TODAY,
        thresholds=thresholds,
    ).outcome


@settings(max_examples=200)
@given(
    q=quantities,
    first=deviations,
    second=deviations,
    estimate_before=st.booleans(),
    upwards=st.booleans(),
    thresholds=st.one_of(st.just(DEFAULT_THRESHOLDS), thresholds_strategy),
)
def test_outcome_never_improves_as_the_deviation_grows(
    q: Decimal,
    first: Decimal,
    second: Decimal,
    estimate_before: bool,
    upwards: bool,
    thresholds: Thresholds,
) -> None:
    small, large = sorted((first, second))
    expected = q  # one full year of uniform weights: E = Q
    if upwards:
        consumptions = expected + small, expected + large
    else:
        consumptions = max(D(0), expected - small), max(D(0), expected - large)
    near, far = (_outcome(c, q, estimate_before, thresholds) for c in consumptions)
    assert far >= near


digits_strategy = st.integers(min_value=1, max_value=9)


@st.composite
def counter_pairs(draw: st.DrawFn) -> tuple[int, int, int]:
    digits = draw(digits_strategy)
    modulus = 10**digits
    if draw(st.booleans()):
        previous = draw(st.integers(min_value=modulus * 9 // 10, max_value=modulus - 1))
        new = draw(st.integers(min_value=0, max_value=modulus // 10))
    else:
        previous = draw(st.integers(min_value=0, max_value=modulus - 1))
        new = draw(st.integers(min_value=0, max_value=modulus - 1))
    return digits, previous, new


@given(counter_pairs(), st.one_of(st.none(), quantities))
def test_overflow_consumption_is_within_the_counter(
    pair: tuple[int, int, int], q: Decimal | None
) -> None:
    digits, previous, new = pair
    modulus = 10**digits
    result = check_reading(
        D(new),
        KEY,
        register=Register(digits),
        previous=PreviousReading(D(previous), LAST),
        previous_year=None if q is None else PreviousYearConsumption(q),
        today=TODAY,
    )
    assert result.consumption is not None
    if "consumption.overflow" in result.codes:
        assert 0 <= result.consumption < modulus
        assert result.consumption == (new - previous) % modulus
    elif "consumption.backwards" in result.codes:
        assert result.consumption == new - previous < 0
    else:
        assert result.consumption == new - previous >= 0


days = st.integers(min_value=-400, max_value=400)


@given(
    digits=st.integers(min_value=3, max_value=9),
    decimals=st.integers(min_value=0, max_value=3),
    fraction=st.fractions(min_value=0, max_value=1),
    reading_offset=days,
    key_offset=days,
    previous_offset=days,
    q=quantities,
    weights=weights_strategy,
)
def test_extrapolating_there_and_back_returns_the_value(
    digits: int,
    decimals: int,
    fraction: Fraction,
    reading_offset: int,
    key_offset: int,
    previous_offset: int,
    q: Decimal,
    weights: DayWeights,
) -> None:
    register = Register(digits, decimals)
    modulus = register.modulus
    value = (modulus * fraction.numerator / fraction.denominator).quantize(register.step) % modulus
    reading_date = KEY + timedelta(days=reading_offset)
    key_date = KEY + timedelta(days=key_offset)
    common = {
        "register": register,
        "previous_year": PreviousYearConsumption(q),
        "weights": weights,
        "previous_date": KEY + timedelta(days=previous_offset),
    }
    there = extrapolate(value, reading_date, key_date, **common)  # type: ignore[arg-type]
    assert there is not None
    assert 0 <= there < modulus
    back = extrapolate(there, key_date, reading_date, **common)  # type: ignore[arg-type]
    assert back is not None
    difference = (back - value) % modulus
    assert min(difference, modulus - difference) <= register.step


@given(
    digits=st.integers(min_value=3, max_value=9),
    decimals=st.integers(min_value=0, max_value=3),
    previous_value=st.decimals(min_value=0, max_value=999, places=4),
    previous_offset=days,
    q=st.one_of(st.none(), st.decimals(min_value=-10, max_value=20000, places=2)),
    kinds=st.lists(st.one_of(st.none(), quantities), max_size=5),
    weights=weights_strategy,
)
def test_estimates_never_fall_below_the_previous_reading(
    digits: int,
    decimals: int,
    previous_value: Decimal,
    previous_offset: int,
    q: Decimal | None,
    kinds: list[Decimal | None],
    weights: DayWeights,
) -> None:
    register = Register(digits, decimals)
    previous = PreviousReading(previous_value, KEY + timedelta(days=previous_offset))
    result = estimate(
        previous,
        KEY,
        register=register,
        previous_year=None if q is None else PreviousYearConsumption(q),
        kind_consumptions=kinds,
        weights=weights,
    )
    start = previous_value.quantize(register.step, rounding=ROUND_HALF_UP)
    assert start >= previous_value.quantize(register.step, rounding=ROUND_DOWN)
    assert result.consumption >= 0
    assert 0 <= result.value < register.modulus
    assert (result.value - start - result.consumption) % register.modulus == 0


texts = st.text(
    alphabet=st.characters(exclude_characters="{}", exclude_categories=["Cs"]),
    max_size=12,
)
values = st.one_of(
    texts,
    st.decimals(min_value=-10, max_value=10**7, places=3),
    st.sampled_from([D("NaN"), D("Infinity")]),
)


@st.composite
def readings(draw: st.DrawFn) -> ReadingInput:
    digits = draw(st.integers(min_value=1, max_value=7))
    previous = draw(
        st.one_of(
            st.none(),
            st.builds(
                PreviousReading,
                st.decimals(min_value=0, max_value=10**digits - 1, places=0),
                st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 1, 31)),
                st.booleans(),
            ),
        )
    )
    return ReadingInput(
        value=draw(values),
        reading_date=draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))),
        register=Register(digits, draw(st.integers(min_value=0, max_value=3))),
        previous=previous,
        previous_year=draw(st.one_of(st.none(), st.builds(PreviousYearConsumption, quantities))),
        weights=draw(weights_strategy),
        unit=draw(st.sampled_from(["m³", "kWh"])),
        meter=draw(st.sampled_from(["H-1", "G-2"])),
    )


@settings(max_examples=200)
@given(st.lists(readings(), min_size=1, max_size=3), st.one_of(st.none(), st.dates()))
def test_every_message_renders_in_both_languages(
    inputs: list[ReadingInput], key_date: date | None
) -> None:
    for result in check_property(inputs, today=TODAY, key_date=key_date):
        assert result.outcome == max((f.outcome for f in result.findings), default=Outcome.OK)
        for lang in ("de", "en"):
            for message in result.messages(lang):
                assert message.strip()
                assert "{" not in message
                assert "}" not in message
