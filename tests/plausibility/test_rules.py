from datetime import date
from decimal import Decimal

import pytest

from ablesung.plausibility import (
    Finding,
    Outcome,
    PreviousReading,
    PreviousYearConsumption,
    Register,
    check_reading,
    monthly_weights,
    parse_value,
)

D = Decimal
TODAY = date(2027, 1, 10)


@pytest.mark.parametrize(
    ("text", "decimals", "expected"),
    [
        ("1.234,5", 1, D("1234.5")),
        ("1234,5", 3, D("1234.5")),
        ("1234", 0, D(1234)),
        ("1234,000", 0, D(1234)),
        ("1234,5000", 3, D("1234.5")),
        ("-0", 0, D(0)),
    ],
)
def test_parse_value(text: str, decimals: int, expected: Decimal) -> None:
    assert parse_value(text, decimals) == expected


@pytest.mark.parametrize(
    ("text", "decimals", "code"),
    [
        ("", 0, "value.empty"),
        ("12 Kubikmeter", 0, "value.not_a_number"),
        ("-1", 0, "value.negative"),
        ("1234,5", 0, "value.decimals_not_allowed"),
        ("1234,5678", 3, "value.too_many_decimals"),
    ],
)
def test_parse_value_errors(text: str, decimals: int, code: str) -> None:
    finding = parse_value(text, decimals)
    assert isinstance(finding, Finding)
    assert (finding.code, finding.outcome) == (code, Outcome.ERROR)


def test_long_text_is_cut_in_the_message() -> None:
    finding = parse_value("x" * 100)
    assert isinstance(finding, Finding)
    assert finding.params["text"] == "x" * 40


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (D("Infinity"), "value.not_a_number"),
        (D(-3), "value.negative"),
        (D("12.5"), "value.decimals_not_allowed"),
    ],
)
def test_decimal_values_are_validated(value: Decimal, code: str) -> None:
    result = check_reading(value, TODAY, register=Register(5), today=TODAY)
    assert result.codes == (code,)
    assert result.value is None


def test_negative_zero_is_zero() -> None:
    assert check_reading(D("-0"), TODAY, register=Register(5), today=TODAY).is_ok


def test_date_error_keeps_the_parsed_value() -> None:
    result = check_reading("12", date(2027, 2, 1), register=Register(5), today=TODAY)
    assert result.value == D(12)
    assert result.messages() == [
        "Das Ablesedatum 01.02.2027 liegt in der Zukunft. "
        "Bitte geben Sie den Tag an, an dem Sie abgelesen haben."
    ]


def test_too_many_digits_without_previous_reading_has_no_hint() -> None:
    result = check_reading("123456", TODAY, register=Register(5), today=TODAY)
    assert result.codes == ("value.too_many_digits",)


def test_no_expected_consumption_when_the_reference_weighs_nothing() -> None:
    winter_only = monthly_weights([D(1)] * 3 + [D(0)] * 9)
    result = check_reading(
        D(200),
        date(2026, 12, 31),
        register=Register(5),
        previous=PreviousReading(D(100), date(2025, 12, 31)),
        previous_year=PreviousYearConsumption(D(10), (date(2025, 5, 1), date(2025, 6, 1))),
        key_date=date(2026, 10, 1),
        weights=winter_only,
        today=TODAY,
    )
    assert result.expected is None
    assert result.band is None
    assert result.codes == ("date.far_from_key_date",)
    assert result.key_date_value is None


def test_key_date_value_for_a_new_meter_uses_the_reading_date_as_reference_end() -> None:
    result = check_reading(
        D(100),
        date(2026, 12, 1),
        register=Register(5),
        previous_year=PreviousYearConsumption(D(365)),
        key_date=date(2027, 1, 5),
        today=TODAY,
    )
    assert result.key_date_value == D(135)


def test_overflow_consumption_and_message() -> None:
    result = check_reading(
        D(30),
        date(2026, 12, 31),
        register=Register(5),
        previous=PreviousReading(D(99950), date(2025, 12, 31)),
        previous_year=PreviousYearConsumption(D(80)),
        today=TODAY,
    )
    assert result.consumption == D(80)
    assert result.messages()[0] == (
        "Ihr Zähler ist offenbar übergelaufen und hat wieder bei 0 begonnen "
        "(von 99950 m³ auf 30 m³). Ihr Verbrauch beträgt dann 80 m³. "
        "Bitte bestätigen Sie die Ablesung."
    )


def test_register_validation() -> None:
    assert Register(5).modulus == D(100000)
    assert Register(5, 3).step == D("0.001")
    with pytest.raises(ValueError, match="digits"):
        Register(0)
    with pytest.raises(ValueError, match="decimals"):
        Register(5, -1)
