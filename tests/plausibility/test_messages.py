from datetime import date
from decimal import Decimal

import pytest

from ablesung.plausibility import TEMPLATES, Finding, Outcome, render
from ablesung.plausibility.messages import PARAM_KINDS, format_param, placeholders
from ablesung.plausibility.result import CheckResult

D = Decimal

SAMPLE: dict[str, object] = {
    "value": D("1234.5"),
    "previous": D(99950),
    "consumption": D(312),
    "suggestion": D(1230),
    "expected": D("80.000"),
    "low": D(48),
    "high": D(136),
    "digits": 5,
    "decimals": 3,
    "days": 46,
    "factor": D(3),
    "reading_date": date(2026, 11, 15),
    "previous_date": date(2025, 12, 31),
    "key_date": date(2026, 12, 31),
    "today": date(2027, 1, 5),
    "text": "abc",
    "meter": "G-200",
}


@pytest.mark.parametrize("code", sorted(TEMPLATES))
def test_both_languages_use_the_same_known_placeholders(code: str) -> None:
    assert placeholders(code, "de") == placeholders(code, "en")
    assert placeholders(code) <= set(PARAM_KINDS)


@pytest.mark.parametrize("code", sorted(TEMPLATES))
@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_template_renders(code: str, lang: str) -> None:
    params = {name: SAMPLE[name] for name in placeholders(code)}
    text = render(code, params, lang)  # type: ignore[arg-type]
    assert text
    assert "{" not in text
    assert "}" not in text


def test_example_from_the_specification() -> None:
    finding = Finding(
        "consumption.far_too_high",
        Outcome.IMPLAUSIBLE,
        {"consumption": D(312), "expected": D("80.000"), "factor": D(3)},
    )
    assert finding.message() == (
        "Ihr Verbrauch von 312 m³ ist mehr als dreimal so hoch wie erwartet (ca. 80 m³). "
        "Bitte prüfen Sie die Ablesung."
    )
    assert finding.message("en-GB", "kWh") == (
        "Your consumption of 312 kWh is more than three times as high as expected "
        "(about 80 kWh). Please check the reading."
    )
    assert finding.message("fr") == finding.message("de")
    assert not finding.is_hint


def test_missing_parameter_raises() -> None:
    with pytest.raises(KeyError):
        render("consumption.zero", {})


@pytest.mark.parametrize(
    ("name", "value", "lang", "expected"),
    [
        ("consumption", D("1234.5"), "de", "1.234,5 m³"),
        ("consumption", D("1234.5"), "en", "1,234.5 m³"),
        # meter readings as the meter shows them: "99.999" would read as a decimal
        ("value", D("99999"), "de", "99999 m³"),
        ("previous", D("1234.5"), "de", "1234,5 m³"),
        ("suggestion", D("1234.5"), "en", "1234.5 m³"),
        ("expected", D("79.6"), "de", "80 m³"),
        ("expected", D("0.254"), "de", "0,25 m³"),
        ("days", 46, "de", "46"),
        ("factor", D(3), "de", "dreimal"),
        ("factor", D(2), "en", "twice"),
        ("factor", D("2.5"), "de", "2,5-mal"),
        ("factor", D("2.5"), "en", "2.5 times"),
        ("factor", 7, "de", "7-mal"),
        ("key_date", date(2026, 12, 31), "de", "31.12.2026"),
        ("meter", "G-200", "en", "G-200"),
        ("unknown", D(5), "de", "5"),
    ],
)
def test_format_param(
    name: str, value: Decimal | int | str | date, lang: str, expected: str
) -> None:
    assert format_param(name, value, lang) == expected


def test_result_helpers() -> None:
    hint = Finding("hint.decimal_places", Outcome.WARNING, {"suggestion": D(1230)})
    result = CheckResult(Outcome.WARNING, findings=(hint,), unit="kWh")
    assert hint.is_hint
    assert result.codes == ("hint.decimal_places",)
    assert result.messages("de") == [
        "Nachkommastellen mit eingegeben? Ein Zählerstand von 1230 kWh würde zum "
        "erwarteten Verbrauch passen."
    ]
    assert result.needs_confirmation
    assert not result.needs_review
    assert not result.is_ok
    assert CheckResult(Outcome.IMPLAUSIBLE).needs_review
    assert CheckResult(Outcome.IMPLAUSIBLE).needs_confirmation
    assert CheckResult(Outcome.OK).is_ok
    assert not CheckResult(Outcome.ERROR).needs_confirmation
    assert [o.key for o in Outcome] == ["ok", "warning", "implausible", "error"]
    assert Outcome.OK < Outcome.WARNING < Outcome.IMPLAUSIBLE < Outcome.ERROR


def test_results_are_frozen() -> None:
    import dataclasses

    result = CheckResult(Outcome.OK, D(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcome = Outcome.ERROR  # type: ignore[misc]
    assert dataclasses.replace(result, value=D(2)) == CheckResult(Outcome.OK, D(2))
    assert hash(result) == hash(CheckResult(Outcome.OK, D(1)))
