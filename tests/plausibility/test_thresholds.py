import dataclasses
from decimal import Decimal

import pytest

from ablesung.plausibility import DEFAULT_THRESHOLDS, ThresholdError, Thresholds

D = Decimal


def test_defaults_are_valid() -> None:
    assert DEFAULT_THRESHOLDS.validate() == []
    assert DEFAULT_THRESHOLDS.key_date_days == 31


def test_band_and_limits() -> None:
    t = DEFAULT_THRESHOLDS
    assert t.band(D(80)) == (D(48), D(136))
    assert t.band(D(80), previous_is_estimate=True) == (D(16), D(192))
    assert t.band(D(1000)) == (D(800), D(1500))
    assert t.band(D(1000), True) == (D(600), D(2000))
    assert t.band(D(6)) == (D(1), D(11))
    assert t.band(D(3)) == (D(0), D(8))
    assert t.limits(D(80)) == (D(48), D(136), D(250), D(8))
    assert t.limits(D(49))[3] is None
    assert t.limits(D(0))[3] is None
    assert t.overflow_zone(D(100000)) == (D(90000), D(10000))


def test_widening_never_goes_below_zero() -> None:
    t = Thresholds(band_lower_pct=D(60), implausible_low_pct=D(5))
    assert t.band(D(100), True)[0] == 0


@pytest.mark.parametrize(
    ("q", "text"),
    [
        (D(80), "bei 80 m³ Vorjahresverbrauch: Hinweis unter 48 oder über 136 m³"),
        (D(1200), "bei 1.200 m³ Vorjahresverbrauch: Hinweis unter 960 oder über 1.800 m³"),
        (D(8), "bei 8 m³ Vorjahresverbrauch: Hinweis unter 3 oder über 13,6 m³"),
    ],
)
def test_describe_band(q: Decimal, text: str) -> None:
    assert DEFAULT_THRESHOLDS.describe_band(q) == text


def test_describe_band_unit() -> None:
    assert DEFAULT_THRESHOLDS.describe_band(D(5000), "kWh").endswith("über 7.500 kWh")


def _fields(t: Thresholds) -> list[str]:
    return [error.field for error in t.validate()]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"min_deviation": D(-1)}, ["min_deviation"]),
        ({"key_date_days": -1}, ["key_date_days"]),
        ({"band_lower_pct": D(100)}, ["band_lower_pct", "implausible_low_pct"]),
        (
            {"narrow_lower_pct": D(100), "band_lower_pct": D(100)},
            ["band_lower_pct", "narrow_lower_pct", "implausible_low_pct"],
        ),
        (
            {
                "band_lower_pct": D(0),
                "band_upper_pct": D(0),
                "narrow_lower_pct": D(0),
                "narrow_upper_pct": D(0),
            },
            ["band_upper_pct", "narrow_upper_pct"],
        ),
        ({"narrow_lower_pct": D(45)}, ["narrow_lower_pct"]),
        ({"narrow_upper_pct": D(80)}, ["narrow_upper_pct"]),
        ({"implausible_factor": D("1.7")}, ["implausible_factor"]),
        ({"implausible_low_pct": D(60)}, ["implausible_low_pct"]),
        ({"overflow_low_pct": D(95)}, ["overflow_low_pct"]),
        ({"overflow_high_pct": D(100)}, ["overflow_low_pct"]),
        ({"overflow_low_pct": D(0)}, ["overflow_low_pct"]),
        ({"estimate_widening": D("0.5")}, ["estimate_widening"]),
    ],
)
def test_validate(changes: dict[str, object], fields: list[str]) -> None:
    t = dataclasses.replace(DEFAULT_THRESHOLDS, **changes)  # type: ignore[arg-type]
    assert _fields(t) == fields


def test_validate_messages_are_german() -> None:
    t = Thresholds(
        band_lower_pct=D(0), band_upper_pct=D(0), narrow_lower_pct=D(0), narrow_upper_pct=D(0)
    )
    errors = t.validate()
    assert str(errors[0]) == "Die untere Grenze muss unter der oberen Grenze liegen."
    assert errors[0] == ThresholdError(
        "band_upper_pct", "Die untere Grenze muss unter der oberen Grenze liegen."
    )
    negative = Thresholds(min_deviation=D(-1)).validate()
    assert negative[0].message == "„Mindestabweichung“ darf nicht negativ sein."


def test_campaign_override_keeps_precomputed_factors() -> None:
    t = dataclasses.replace(DEFAULT_THRESHOLDS, band_upper_pct=D(100))
    assert t.band(D(80)) == (D(48), D(160))
    assert t == Thresholds(band_upper_pct=D(100))
