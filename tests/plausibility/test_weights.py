from datetime import date, timedelta
from decimal import Decimal

import pytest

from ablesung.plausibility import (
    HEATING,
    UNIFORM,
    MonthlyWeights,
    ProfileError,
    monthly_weights,
    parse_profile,
    weights_for_kind,
)

D = Decimal
PROFILE = """Jahr;2026
Januar;103,24
Februar;101,5
März;100
April;99
Mai;98
Juni;97
Juli;96
August;97
September;99
Oktober;101
November;102
Dezember;99,84
"""


def test_uniform_counts_days() -> None:
    assert UNIFORM.weight(date(2026, 1, 1), date(2027, 1, 1)) == 365
    assert UNIFORM.weight(date(2024, 1, 1), date(2025, 1, 1)) == 366
    assert UNIFORM.weight(date(2026, 3, 1), date(2026, 2, 1)) == -28


def test_heating_shares_per_mille() -> None:
    year = HEATING.weight(date(2026, 1, 1), date(2027, 1, 1))
    january = HEATING.weight(date(2026, 1, 1), date(2026, 2, 1))
    summer = HEATING.weight(date(2026, 6, 1), date(2026, 9, 1))
    july = HEATING.weight(date(2026, 7, 1), date(2026, 8, 1))
    assert january * 1000 == year * 170
    assert summer * 1000 == year * 40
    assert july * 92 * 1000 == year * 40 * 31
    assert HEATING.weight(date(2026, 1, 10), date(2026, 1, 1)) == -HEATING.weight(
        date(2026, 1, 1), date(2026, 1, 10)
    )


@pytest.mark.parametrize("year", [2023, 2024, 1900, 2000])
def test_every_calendar_year_weighs_the_same(year: int) -> None:
    reference = HEATING.weight(date(2026, 1, 1), date(2027, 1, 1))
    assert HEATING.weight(date(year, 1, 1), date(year + 1, 1, 1)) == reference
    leap_feb = HEATING.weight(date(year, 2, 1), date(year, 3, 1))
    assert leap_feb * 1000 == reference * 150


def test_weight_is_additive() -> None:
    a, b, c = date(2025, 11, 17), date(2026, 2, 28), date(2026, 8, 3)
    for weights in (UNIFORM, HEATING):
        assert weights.weight(a, b) + weights.weight(b, c) == weights.weight(a, c)
        day = a
        total = 0
        while day < b:
            total += weights.weight(day, day + timedelta(days=1))
            day += timedelta(days=1)
        assert total == weights.weight(a, b)


def test_weights_for_kind() -> None:
    assert weights_for_kind("gas") is HEATING
    assert weights_for_kind("heat") is HEATING
    assert weights_for_kind("water_main") is UNIFORM
    assert weights_for_kind("electricity") is UNIFORM


def test_monthly_shares() -> None:
    shares = HEATING.monthly_shares()
    assert shares[7] == D(40)
    assert sum(shares[m] for m in (1, 2, 3, 4, 5, 9, 10, 11, 12)) + shares[6] == 1000


def test_parse_profile() -> None:
    profile = parse_profile(PROFILE)
    assert profile.year == 2026
    assert profile.monthly_shares()[1] == D("103.24")
    assert profile.monthly_shares()[12] == D("99.84")
    year = profile.weight(date(2026, 1, 1), date(2027, 1, 1))
    january = profile.weight(date(2026, 1, 1), date(2026, 2, 1))
    total = sum(profile.monthly_shares().values())
    assert january * total == year * D("103.24")


def test_parse_profile_tolerates_bom_blank_lines_case_and_trailing_cells() -> None:
    text = "\ufeff" + PROFILE.replace("Januar;103,24", "\nJANUAR ; 103,24;;").replace(
        "März", "Maerz"
    )
    profile = parse_profile(text, name="Gemeindewerke")
    assert profile.name == "Gemeindewerke"
    assert profile.monthly_shares()[3] == D(100)


def test_parse_profile_without_year() -> None:
    assert parse_profile(PROFILE.replace("Jahr;2026\n", "")).year is None


def _errors(text: str) -> list[str]:
    with pytest.raises(ProfileError) as info:
        parse_profile(text)
    assert str(info.value) == "\n".join(info.value.messages)
    return info.value.messages


@pytest.mark.parametrize("text", ["", "  \n\n", "\ufeff"])
def test_empty_file(text: str) -> None:
    assert _errors(text) == [
        "Die Datei ist leer. Erwartet werden zwölf Zeilen wie „Januar;103,24“."
    ]


def test_every_problem_with_its_line() -> None:
    text = PROFILE.replace("Februar;101,5", "Februar;abc")
    text = text.replace("April;99", "April;-4")
    text = text.replace("Mai;98", "Mai")
    text = text.replace("Juni;97", "Juno;97")
    text = text.replace("Juli;96", "Juli;96\nJuli;95")
    text = text.replace("September;99", "September;1,1234567")
    text += "Jahr;2027\n"
    assert _errors(text) == [
        "Zeile 3: „abc“ ist keine gültige Zahl für Februar (Beispiel: 103,24).",
        "Zeile 5: Der Wert für April darf nicht negativ sein.",
        "Zeile 6: Erwartet „Monat;Wert“, gefunden „Mai“.",
        "Zeile 7: „Juno“ ist kein Monat. Erlaubt sind Januar bis Dezember.",
        "Zeile 9: Juli steht doppelt in der Datei (zuerst in Zeile 8).",
        "Zeile 11: Der Wert für September hat mehr als 6 Nachkommastellen.",
        "Zeile 15: Das Jahr steht doppelt in der Datei (zuerst in Zeile 1).",
        "Es fehlen Monate: Mai, Juni.",
    ]


@pytest.mark.parametrize("year", ["20x6", "0999", "26"])
def test_bad_year(year: str) -> None:
    assert _errors(PROFILE.replace("Jahr;2026", f"Jahr;{year}")) == [
        f"Zeile 1: „{year}“ ist keine gültige Jahreszahl."
    ]


def test_all_zero() -> None:
    text = "\n".join(
        f"{month};0"
        for month in (
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        )
    )
    assert _errors(text) == ["Die Summe der Monatswerte muss größer als 0 sein."]


def test_only_months_missing() -> None:
    assert _errors("Jahr;2026\nJänner;1") == [
        "Es fehlen Monate: Februar, März, April, Mai, Juni, Juli, August, September, "
        "Oktober, November, Dezember."
    ]


def test_monthly_weights_validation() -> None:
    twelve = [D(1)] * 12
    assert monthly_weights(twelve).weight(date(2026, 1, 1), date(2027, 1, 1)) > 0
    with pytest.raises(ValueError, match="twelve"):
        monthly_weights(twelve[:11])
    with pytest.raises(ValueError, match="every month"):
        MonthlyWeights("x", (((1, 2), D(1)),))
    with pytest.raises(ValueError, match="non-negative"):
        monthly_weights([D(-1), *twelve[1:]])
    with pytest.raises(ValueError, match="non-negative"):
        monthly_weights([D("NaN"), *twelve[1:]])
    with pytest.raises(ValueError, match="decimal places"):
        monthly_weights([D("0.1234567"), *twelve[1:]])
    with pytest.raises(ValueError, match="more than zero"):
        monthly_weights([D(0)] * 12)
