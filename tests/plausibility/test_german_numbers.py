from datetime import date
from decimal import Decimal

import pytest

from ablesung.plausibility import format_date, format_decimal, parse_decimal
from ablesung.plausibility.german_numbers import approximate_places

D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", D(1234)),
        ("1234,5", D("1234.5")),
        ("1.234,5", D("1234.5")),
        ("1.234", D(1234)),
        ("12.345.678", D(12345678)),
        ("1 234,5", D("1234.5")),
        ("1\u00a0234", D(1234)),
        ("1234.5", D("1234.5")),
        ("1234.", D(1234)),
        (",5", D("0.5")),
        ("5,", D(5)),
        ("+7", D(7)),
        ("-7", D(-7)),
        ("\u22127,5", D("-7.5")),
        ("  0042 ", D(42)),
    ],
)
def test_parse_decimal(text: str, expected: Decimal) -> None:
    assert parse_decimal(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "-",
        ",",
        ".",
        "abc",
        "1e5",
        "NaN",
        "Infinity",
        "1.23.4",
        "12,3,4",
        "1,234.5",
        "١٢٣",
        "1.2345,6",
        "1..2",
    ],
)
def test_parse_decimal_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("value", "lang", "places", "expected"),
    [
        (D("1234.5"), "de", None, "1.234,5"),
        (D("1234.5"), "en", None, "1,234.5"),
        (D("1234567.000"), "de", None, "1.234.567"),
        (D("312"), "de", None, "312"),
        (D("-1234.25"), "de", None, "-1.234,25"),
        (D("1E+3"), "de", None, "1.000"),
        (D("80.000"), "de", 0, "80"),
        (D("79.5"), "de", 0, "80"),
        (D("4.8"), "de", 1, "4,8"),
        (D("-0.0001"), "de", 2, "0"),
        (D("0.000"), "en", None, "0"),
    ],
)
def test_format_decimal(value: Decimal, lang: str, places: int | None, expected: str) -> None:
    assert format_decimal(value, lang, places) == expected


def test_approximate_places() -> None:
    assert [approximate_places(D(x)) for x in ("80", "-12", "5.5", "0.25")] == [0, 0, 1, 2]


def test_format_date() -> None:
    assert format_date(date(2026, 12, 1)) == "01.12.2026"
    assert format_date(date(2026, 12, 1), "en") == "1 December 2026"
