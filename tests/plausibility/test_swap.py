from datetime import date
from decimal import Decimal

from ablesung.plausibility import (
    PreviousReading,
    PreviousYearConsumption,
    ReadingInput,
    Register,
    check_property,
)

D = Decimal
TODAY = date(2027, 1, 10)
DAY = date(2026, 12, 31)
LAST = date(2025, 12, 31)


def meter(value: Decimal | str, previous: int, q: int, number: str, **kw: object) -> ReadingInput:
    return ReadingInput(
        value=value,
        reading_date=DAY,
        register=kw.pop("register", Register(5)),  # type: ignore[arg-type]
        previous=PreviousReading(D(previous), LAST),
        previous_year=PreviousYearConsumption(D(q)),
        meter=number,
        **kw,  # type: ignore[arg-type]
    )


def test_swapped_garden_and_main_meter_name_each_other() -> None:
    main, garden = meter(D(340), 4520, 90, "H-100"), meter(D(4610), 310, 30, "G-200")
    results = check_property([main, garden], today=TODAY)
    assert results[0].findings[-1].params == {"meter": "G-200"}
    assert results[1].findings[-1].params == {"meter": "H-100"}
    assert results[0].findings[-1].message() == (
        "Zähler vertauscht? Ihr Wert würde zum Zähler G-200 passen und dessen Wert zu diesem."
    )


def test_swap_across_digit_counts() -> None:
    # the main meter's 5-digit value typed into the 4-digit garden meter
    main = meter(D(340), 14520, 90, "H-100")
    garden = meter(D(14610), 310, 30, "G-200", register=Register(4))
    results = check_property([main, garden], today=TODAY)
    assert results[0].codes == ("consumption.backwards", "hint.swapped_meters")
    assert results[1].codes == ("value.too_many_digits", "hint.swapped_meters")


def test_no_swap_between_units() -> None:
    water = meter(D(340), 4520, 90, "H-100")
    gas = meter(D(4610), 310, 30, "G-1", unit="kWh")
    results = check_property([water, gas], today=TODAY)
    assert "hint.swapped_meters" not in results[0].codes + results[1].codes


def test_only_one_direction_passes() -> None:
    main, garden = meter(D(340), 4520, 90, "H-100"), meter(D(4610), 310, 5000, "G-200")
    results = check_property([main, garden], today=TODAY)
    assert results[1].is_ok
    main, garden = meter(D(340), 4520, 90, "H-100"), meter(D(9000), 310, 30, "G-200")
    results = check_property([main, garden], today=TODAY)
    assert "hint.swapped_meters" not in results[0].codes


def test_swapped_value_with_decimals_does_not_fit_a_register_without() -> None:
    main = meter(D("340.5"), 4520, 90, "H-100", register=Register(5, 1))
    garden = meter(D(4610), 310, 30, "G-200")
    results = check_property([main, garden], today=TODAY)
    assert results[0].codes == ("consumption.backwards",)


def test_errors_and_dates_are_not_swap_candidates() -> None:
    main, garden = meter("abc", 4520, 90, "H-100"), meter(D(4610), 310, 30, "G-200")
    results = check_property([main, garden], today=TODAY)
    assert results[0].codes == ("value.not_a_number",)
    assert results[1].codes == ("consumption.far_too_high",)


def test_three_meters_and_empty_property() -> None:
    main, garden = meter(D(340), 4520, 90, "H-100"), meter(D(4610), 310, 30, "G-200")
    sub = meter(D(900), 1000, 10, "S-300")
    results = check_property([main, sub, garden], today=TODAY, key_date=DAY)
    assert results[1].codes == ("consumption.backwards",)
    assert results[0].codes[-1] == results[2].codes[-1] == "hint.swapped_meters"
    assert check_property([], today=TODAY) == []


def test_context_fits_and_passes() -> None:
    from ablesung.plausibility import DEFAULT_THRESHOLDS
    from ablesung.plausibility.rules import Context

    register = Register(5)
    previous = PreviousReading(D(100), LAST)
    limits = DEFAULT_THRESHOLDS.limits(D(80))
    bare = Context(register, None, None, None, DEFAULT_THRESHOLDS)
    assert bare.fits(D(5))
    assert not bare.fits(D(100000))
    no_q = Context(register, previous, None, None, DEFAULT_THRESHOLDS)
    assert no_q.fits(D(5000))
    assert not no_q.fits(D(99))
    full = Context(register, previous, D(80), limits, DEFAULT_THRESHOLDS)
    assert full.fits(D(180))
    assert not full.fits(D(100))
    assert not full.fits(D(400))
    assert not full.passes(D("180.5"))
    assert not full.passes(D(-1))
    assert full.passes(D(180))
    nothing_expected = Context(
        register, previous, D(0), DEFAULT_THRESHOLDS.limits(D(0)), DEFAULT_THRESHOLDS
    )
    assert nothing_expected.fits(D(100))
    for number in (D(100), D(104), D(106), D(180), D(400), D(50000), D(99), D(100000)):
        assert full.fits(number) == (not full.judge(number)[1])
