"""Table-driven: realistic readings with the exact outcome and codes."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from ablesung.plausibility import (
    HEATING,
    UNIFORM,
    CheckResult,
    DayWeights,
    Outcome,
    PreviousReading,
    PreviousYearConsumption,
    ReadingInput,
    Register,
    check_property,
    check_reading,
)

D = Decimal
TODAY = date(2027, 3, 1)
KEY = date(2026, 12, 31)
LAST_YEAR = date(2025, 12, 31)
MAIN_DEFAULT_PREVIOUS = Decimal(1150)
MAIN_DEFAULT_Q = Decimal(80)
OK, WARNING, IMPLAUSIBLE, ERROR = (
    Outcome.OK,
    Outcome.WARNING,
    Outcome.IMPLAUSIBLE,
    Outcome.ERROR,
)


@dataclass(frozen=True)
class Meter:
    """One meter of a case; defaults: 5-digit water meter, 1150 a year ago, 80 m³ a year."""

    value: Decimal | str
    reading_date: date = KEY
    digits: int = 5
    decimals: int = 0
    previous: Decimal | None = MAIN_DEFAULT_PREVIOUS
    previous_date: date = LAST_YEAR
    previous_is_estimate: bool = False
    q: Decimal | None = MAIN_DEFAULT_Q
    weights: DayWeights = UNIFORM
    number: str = "W-1"
    unit: str = "m³"

    def reading(self) -> ReadingInput:
        return ReadingInput(
            value=self.value,
            reading_date=self.reading_date,
            register=Register(self.digits, self.decimals),
            previous=None
            if self.previous is None
            else PreviousReading(self.previous, self.previous_date, self.previous_is_estimate),
            previous_year=None if self.q is None else PreviousYearConsumption(self.q),
            weights=self.weights,
            unit=self.unit,
            meter=self.number,
        )


@dataclass(frozen=True)
class Case:
    name: str
    meters: tuple[Meter, ...]
    expected: tuple[tuple[Outcome, tuple[str, ...]], ...]
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def key_date(self) -> date:
        key = self.extra.get("key", KEY)
        assert isinstance(key, date)
        return key


def one(name: str, meter: Meter, outcome: Outcome, *codes: str, **extra: object) -> Case:
    return Case(name, (meter,), ((outcome, codes),), extra)


GARDEN_PREV, MAIN_PREV = D(310), D(4520)
CASES = [
    # --- water, 5 digits, E = 80 m³ over one year ---------------------------------
    one("normal year", Meter(D(1230)), OK, consumption=D(80), expected=D(80)),
    one("normal, a bit more", Meter(D(1270)), OK),
    one("upper band edge passes", Meter(D(1286)), OK),
    one("just above the band", Meter(D(1287)), WARNING, "consumption.outside_band"),
    one("leak below three times", Meter(D(1380)), WARNING, "consumption.outside_band"),
    one("leak: three times E + 10", Meter(D(1400)), IMPLAUSIBLE, "consumption.far_too_high"),
    one("lower band edge passes", Meter(D(1198)), OK),
    one("much less", Meter(D(1190)), WARNING, "consumption.outside_band"),
    one("ten percent of E", Meter(D(1158)), IMPLAUSIBLE, "consumption.far_too_low"),
    one(
        "vacancy: zero with E 80",
        Meter(D(1150)),
        IMPLAUSIBLE,
        "consumption.zero",
        "consumption.far_too_low",
        consumption=D(0),
    ),
    one("vacancy: zero with E 20", Meter(D(1150), q=D(20)), WARNING, "consumption.zero"),
    one("zero with E 0 (no previous-year use)", Meter(D(1150), q=D(0)), OK),
    one("typed as form text", Meter("1.230"), OK, value=D(1230)),
    one("leading zeros", Meter("01230"), OK),
    one("database decimal with zero places", Meter(D("1230.0000")), OK),
    one("decimals typed on water meter", Meter("1230,5"), ERROR, "value.decimals_not_allowed"),
    one("trailing zero decimals accepted", Meter("1230,0"), OK),
    one("letters", Meter("12a4"), ERROR, "value.not_a_number"),
    one("empty field", Meter("  "), ERROR, "value.empty"),
    one("negative", Meter("-5"), ERROR, "value.negative"),
    one("NaN from elsewhere", Meter(D("NaN")), ERROR, "value.not_a_number"),
    one(
        "red digits typed without comma",
        Meter("12304"),
        IMPLAUSIBLE,
        "consumption.far_too_high",
        "hint.decimal_places",
        suggestion=D(1230),
    ),
    one(
        "red digits make the value too long",
        Meter("123045"),
        ERROR,
        "value.too_many_digits",
        "hint.decimal_places",
        suggestion=D(1230),
    ),
    one("too long, nothing fits", Meter("999999"), ERROR, "value.too_many_digits"),
    one(
        "consumption ten times E",
        Meter(D(1800), previous=D(1000)),
        IMPLAUSIBLE,
        "consumption.far_too_high",
        "hint.decimal_places",
        suggestion=D(1080),
    ),
    one(
        "consumption six times E: no hint",
        Meter(D(1500), previous=D(1000)),
        IMPLAUSIBLE,
        "consumption.far_too_high",
    ),
    one("meter running backwards", Meter(D(1100)), IMPLAUSIBLE, "consumption.backwards"),
    one(
        "backwards, previous high but new not low",
        Meter(D(20000), previous=D(95000)),
        IMPLAUSIBLE,
        "consumption.backwards",
    ),
    # --- overflow at 10^digits -----------------------------------------------------
    one(
        "overflow 5 digits",
        Meter(D(30), previous=D(99950)),
        WARNING,
        "consumption.overflow",
        consumption=D(80),
    ),
    one(
        "overflow with a leak",
        Meter(D(5000), previous=D(99950)),
        IMPLAUSIBLE,
        "consumption.overflow",
        "consumption.far_too_high",
        consumption=D(5050),
    ),
    one(
        "4-digit counter overflow",
        Meter(D(50), digits=4, previous=D(9990)),
        WARNING,
        "consumption.overflow",
        consumption=D(60),
    ),
    one(
        "4-digit counter, 5 digits typed",
        Meter("12345", digits=4, previous=D(9990)),
        ERROR,
        "value.too_many_digits",
    ),
    one("6-digit counter normal", Meter(D(123536), digits=6, previous=D(123456)), OK),
    one(
        "6-digit counter overflow",
        Meter(D(70), digits=6, previous=D(999990)),
        WARNING,
        "consumption.overflow",
        consumption=D(80),
    ),
    # --- previous reading was an estimate --------------------------------------------
    one(
        "estimate before: no overflow, backwards",
        Meter(D(30), previous=D(99950), previous_is_estimate=True),
        IMPLAUSIBLE,
        "consumption.backwards",
    ),
    one("estimate before: wider band above", Meter(D(1300), previous_is_estimate=True), OK),
    one("same without estimate warns", Meter(D(1300)), WARNING, "consumption.outside_band"),
    one("estimate before: wider band below", Meter(D(1170), previous_is_estimate=True), OK),
    one(
        "estimate before: beyond the wider band",
        Meter(D(1350), previous_is_estimate=True),
        WARNING,
        "consumption.outside_band",
    ),
    # --- dates -------------------------------------------------------------------
    one(
        "read long before the key date",
        Meter(D(1220), reading_date=date(2026, 11, 15)),
        WARNING,
        "date.far_from_key_date",
        key_date_value=D(1230),
    ),
    one(
        "read long before the key date, with a leak",
        Meter(D(1500), reading_date=date(2026, 11, 15)),
        IMPLAUSIBLE,
        "consumption.far_too_high",
        "date.far_from_key_date",
        key_date_value=D(1510),
    ),
    one(
        "read 31 days before the key date",
        Meter(D(1223), reading_date=date(2026, 11, 30)),
        OK,
        key_date_value=None,
    ),
    one(
        "read long after the key date, no previous-year use",
        Meter(D(1250), reading_date=date(2027, 2, 10), q=None),
        WARNING,
        "date.far_from_key_date",
        key_date_value=None,
    ),
    one(
        "reading date in the future",
        Meter(D(1230), reading_date=date(2027, 3, 2)),
        ERROR,
        "date.in_future",
    ),
    one(
        "reading date before the previous reading",
        Meter(D(1230), reading_date=date(2025, 12, 1)),
        ERROR,
        "date.before_previous",
    ),
    one(
        "value and date wrong at once",
        Meter("x", reading_date=date(2027, 3, 2)),
        ERROR,
        "value.not_a_number",
        "date.in_future",
    ),
    # --- missing facts -------------------------------------------------------------
    one("new meter without previous reading", Meter(D(17), previous=None), OK, consumption=None),
    one("no previous-year consumption", Meter(D(2500), q=None), OK, expected=None),
    one(
        "no previous-year consumption, backwards",
        Meter(D(1000), q=None),
        IMPLAUSIBLE,
        "consumption.backwards",
    ),
    one("negative previous-year consumption is ignored", Meter(D(2500), q=D(-3)), OK),
    # --- small and large E ------------------------------------------------------------
    one("E 6: deviation below 5 units passes", Meter(D(1160), q=D(6)), OK),
    one(
        "E 6: deviation above 5 units", Meter(D(1162), q=D(6)), WARNING, "consumption.outside_band"
    ),
    one("E 1200: narrow band, 1500 passes", Meter(D(2650), q=D(1200)), OK),
    one(
        "E 1200: narrow band, 1850 warns",
        Meter(D(3000), q=D(1200)),
        WARNING,
        "consumption.outside_band",
    ),
    one(
        "E 1200: narrow band, 900 warns",
        Meter(D(2050), q=D(1200)),
        WARNING,
        "consumption.outside_band",
    ),
    # --- gas: heating profile, winter vs summer ---------------------------------------
    one(
        "gas in January: 250 m³ expected-ish",
        Meter(
            D("12600.500"),
            reading_date=date(2026, 2, 1),
            decimals=3,
            previous=D("12350.500"),
            previous_date=date(2026, 1, 1),
            q=D(1500),
            weights=HEATING,
        ),
        OK,
        expected=D("255.000"),
        key=date(2026, 2, 1),
    ),
    one(
        "gas in June: the same 250 m³ is far too much",
        Meter(
            D("12600.500"),
            reading_date=date(2026, 7, 1),
            decimals=3,
            previous=D("12350.500"),
            previous_date=date(2026, 6, 1),
            q=D(1500),
            weights=HEATING,
        ),
        IMPLAUSIBLE,
        "consumption.far_too_high",
        expected=D("19.565"),
        key=date(2026, 7, 1),
    ),
    one(
        "gas in June, uniform weights would pass 125",
        Meter(
            D("12475.500"),
            reading_date=date(2026, 7, 1),
            decimals=3,
            previous=D("12350.500"),
            previous_date=date(2026, 6, 1),
            q=D(1500),
            weights=UNIFORM,
        ),
        OK,
        key=date(2026, 7, 1),
    ),
    one(
        "gas with three decimals typed",
        Meter("12.400,125", decimals=3, previous=D("12350.500"), q=D(60)),
        OK,
        value=D("12400.125"),
    ),
    one(
        "gas with four decimals typed",
        Meter("12400,1255", decimals=3, previous=D("12350.500"), q=D(60)),
        ERROR,
        "value.too_many_decimals",
    ),
    # --- property level -------------------------------------------------------------
    Case(
        "garden and main meter swapped",
        (
            Meter(D(340), previous=MAIN_PREV, q=D(90), number="H-100"),
            Meter(D(4610), previous=GARDEN_PREV, q=D(30), number="G-200"),
        ),
        (
            (IMPLAUSIBLE, ("consumption.backwards", "hint.swapped_meters")),
            (IMPLAUSIBLE, ("consumption.far_too_high", "hint.swapped_meters")),
        ),
    ),
    Case(
        "garden and main meter both fine",
        (
            Meter(D(4610), previous=MAIN_PREV, q=D(90), number="H-100"),
            Meter(D(340), previous=GARDEN_PREV, q=D(30), number="G-200"),
        ),
        ((OK, ()), (OK, ())),
    ),
    Case(
        "two meters fail but swapping does not help",
        (
            Meter(D(4400), previous=MAIN_PREV, q=D(90), number="H-100"),
            Meter(D(100), previous=GARDEN_PREV, q=D(30), number="G-200"),
        ),
        (
            (IMPLAUSIBLE, ("consumption.backwards",)),
            (IMPLAUSIBLE, ("consumption.backwards",)),
        ),
    ),
]


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case) -> None:
    results = check_property(
        [meter.reading() for meter in case.meters], today=TODAY, key_date=case.key_date
    )
    assert [(result.outcome, result.codes) for result in results] == list(case.expected)
    for result in results:
        assert result.outcome == max((f.outcome for f in result.findings), default=OK)
        for lang in ("de", "en"):
            for message in result.messages(lang):
                assert "{" not in message
    if len(case.meters) == 1:
        _check_single(case, results[0])


def _check_single(case: Case, result: CheckResult) -> None:
    meter = case.meters[0]
    reading = meter.reading()
    direct = check_reading(
        reading.value,
        reading.reading_date,
        register=reading.register,
        previous=reading.previous,
        previous_year=reading.previous_year,
        key_date=case.key_date,
        today=TODAY,
        weights=reading.weights,
    )
    assert direct == result
    for name, value in case.extra.items():
        if name == "key":
            continue
        if name == "suggestion":
            hints = [f for f in result.findings if f.code == "hint.decimal_places"]
            assert hints[0].params["suggestion"] == value
        else:
            assert getattr(result, name) == value, name
