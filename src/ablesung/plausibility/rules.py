"""The nine rules of PLAUSIBILITY.md for one reading.

Rules 1–2 (value and date errors) stop the check: nothing else is judged on
a value that cannot be stored. Rules 3–6 judge the consumption, rule 7 adds
the decimal-places hint to a too-high consumption or a too-long value, rule 9
judges the reading date against the key date. Rule 8 (swapped meters) needs
all meters of a property: see :mod:`ablesung.plausibility.swap`.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache

from ablesung.plausibility.expected import REFERENCE_DAYS
from ablesung.plausibility.german_numbers import parse_decimal
from ablesung.plausibility.messages import ParamValue
from ablesung.plausibility.readings import PreviousReading, PreviousYearConsumption, Register
from ablesung.plausibility.result import CheckResult, Finding, Outcome
from ablesung.plausibility.thresholds import DEFAULT_THRESHOLDS, Limits, Thresholds
from ablesung.plausibility.weights import UNIFORM, DayWeights

VALUE_EMPTY = "value.empty"
VALUE_NOT_A_NUMBER = "value.not_a_number"
VALUE_NEGATIVE = "value.negative"
VALUE_DECIMALS_NOT_ALLOWED = "value.decimals_not_allowed"
VALUE_TOO_MANY_DECIMALS = "value.too_many_decimals"
VALUE_TOO_MANY_DIGITS = "value.too_many_digits"
DATE_IN_FUTURE = "date.in_future"
DATE_BEFORE_PREVIOUS = "date.before_previous"
CONSUMPTION_OVERFLOW = "consumption.overflow"
CONSUMPTION_BACKWARDS = "consumption.backwards"
CONSUMPTION_ZERO = "consumption.zero"
CONSUMPTION_OUTSIDE_BAND = "consumption.outside_band"
CONSUMPTION_FAR_TOO_HIGH = "consumption.far_too_high"
CONSUMPTION_FAR_TOO_LOW = "consumption.far_too_low"
HINT_DECIMAL_PLACES = "hint.decimal_places"
HINT_SWAPPED_METERS = "hint.swapped_meters"
DATE_FAR_FROM_KEY_DATE = "date.far_from_key_date"

# codes about the value itself (used by the swapped-meters check)
VALUE_CODES = frozenset(
    {
        VALUE_TOO_MANY_DIGITS,
        CONSUMPTION_OVERFLOW,
        CONSUMPTION_BACKWARDS,
        CONSUMPTION_ZERO,
        CONSUMPTION_OUTSIDE_BAND,
        CONSUMPTION_FAR_TOO_HIGH,
        CONSUMPTION_FAR_TOO_LOW,
    }
)
_ZERO = Decimal(0)
_MILLI = Decimal("0.001")
_HINT_POWERS = (1, 2, 3)
# "consumption / E ≈ 10^k": within ±10 % of 10^k
_NEAR_LOW = Decimal("0.9")
_NEAR_HIGH = Decimal("1.1")
_TEXT_LIMIT = 40
_REFERENCE = timedelta(days=REFERENCE_DAYS)


def _decimals_finding(number: Decimal, decimals: int) -> Finding | None:
    """Rule 1: more decimal places than the register has (trailing zeros do not count).

    Exact for any finite number: read from its digits, not rounded to the context.
    """
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    if exponent < -decimals:
        kept = len(digits) - (-decimals - exponent)  # the digits left of the last place allowed
        if any(digits[max(kept, 0) :]):
            if decimals == 0:
                return Finding(VALUE_DECIMALS_NOT_ALLOWED, Outcome.ERROR)
            return Finding(VALUE_TOO_MANY_DECIMALS, Outcome.ERROR, {"decimals": decimals})
    return None


def parse_value(text: str, decimals: int = 0) -> Decimal | Finding:
    """A value typed into a form (``1.234,5``, ``1234,5``, ``1234``) or an error finding.

    Checks rule 1 as far as the text goes (number, sign, decimal places); the
    register's digits are checked by :func:`check_reading`. Trailing zeros
    after the comma are accepted (``1234,0`` on a register without decimals).
    """
    stripped = text.strip()
    if not stripped:
        return Finding(VALUE_EMPTY, Outcome.ERROR)
    try:
        number = parse_decimal(stripped)
    except ValueError:
        return Finding(VALUE_NOT_A_NUMBER, Outcome.ERROR, {"text": stripped[:_TEXT_LIMIT]})
    if number < 0:
        return Finding(VALUE_NEGATIVE, Outcome.ERROR)
    problem = _decimals_finding(number, decimals)
    return number if problem is None else problem


def _validate_number(number: Decimal, decimals: int) -> Finding | None:
    if not number.is_finite():
        return Finding(VALUE_NOT_A_NUMBER, Outcome.ERROR, {"text": str(number)})
    if number < _ZERO:
        return Finding(VALUE_NEGATIVE, Outcome.ERROR)
    return _decimals_finding(number, decimals)


@dataclass(slots=True)
class Context:
    """What the value rules of one meter need, computed once per reading."""

    register: Register
    previous: PreviousReading | None
    expected: Decimal | None
    limits: Limits | None
    thresholds: Thresholds

    def judge(self, number: Decimal) -> tuple[Decimal | None, list[Finding]]:
        """Rules 1 (digits) and 3–6 for a valid number: ``(consumption, findings)``."""
        return judge(
            number, self.register, self.previous, self.expected, self.limits, self.thresholds
        )

    def passes(self, number: Decimal) -> bool:
        """Would ``number`` pass rules 1 and 3–6 on this register?"""
        if _validate_number(number, self.register.decimals) is not None:
            return False
        return self.fits(number)

    def fits(self, number: Decimal) -> bool:
        """``judge(number)`` finds nothing (without building the findings)."""
        if number >= self.register.modulus:
            return False
        previous, expected, limits = self.previous, self.expected, self.limits
        if previous is None:
            return True
        consumption = number - previous.value
        if consumption < _ZERO:
            return False
        if expected is None or limits is None:
            return True
        low, high, far_high, far_low = limits
        if consumption == _ZERO:
            return expected <= _ZERO and far_low is None
        thresholds = self.thresholds
        return (
            consumption < far_high
            and (far_low is None or consumption > far_low)
            and not thresholds.below_band(consumption, expected, low)
            and not thresholds.above_band(consumption, expected, high)
        )

    def decimal_places_hint(self, number: Decimal, consumption: Decimal | None) -> Finding | None:
        """Rule 7: ``value / 10^k`` would pass, or ``consumption / E ≈ 10^k`` (within ±10 %).

        ``k`` is 1, 2 or 3, tried in that order. The suggestion is the value
        that would pass, cut to the register's decimals.
        """
        previous, limits = self.previous, self.limits
        if previous is None or limits is None:
            return None
        step = self.register.step
        for power in _HINT_POWERS:
            candidate = number.scaleb(-power)
            if self.fits(candidate):
                return _decimal_hint(candidate.quantize(step, rounding=ROUND_DOWN))
        expected = self.expected
        if consumption is None or expected is None:
            return None
        near_low, near_high = expected * _NEAR_LOW, expected * _NEAR_HIGH
        for power in _HINT_POWERS:
            scaled = consumption.scaleb(-power)
            if expected > _ZERO and near_low <= scaled <= near_high:
                suggestion = wrap(previous.value + scaled, self.register.modulus)
                return _decimal_hint(suggestion.quantize(step, rounding=ROUND_DOWN))
        return None


def judge(
    number: Decimal,
    register: Register,
    previous: PreviousReading | None,
    expected: Decimal | None,
    limits: Limits | None,
    thresholds: Thresholds,
) -> tuple[Decimal | None, list[Finding]]:
    """Rules 1 (digits) and 3–6 for a valid number: ``(consumption, findings)``.

    ``consumption`` is ``None`` when the value has too many digits or there is
    no previous reading; negative when the meter ran backwards.
    """
    modulus = register.modulus
    if number >= modulus:
        return None, [Finding(VALUE_TOO_MANY_DIGITS, Outcome.ERROR, {"digits": register.digits})]
    if previous is None:
        return None, []
    consumption = number - previous.value
    findings: list[Finding] = []
    if consumption < _ZERO:
        at_least, at_most = thresholds.overflow_zone(modulus)
        if previous.is_estimate or previous.value < at_least or number > at_most:
            params: dict[str, ParamValue] = {"value": number, "previous": previous.value}
            return consumption, [Finding(CONSUMPTION_BACKWARDS, Outcome.IMPLAUSIBLE, params)]
        consumption += modulus
        params = {"value": number, "previous": previous.value, "consumption": consumption}
        findings.append(Finding(CONSUMPTION_OVERFLOW, Outcome.WARNING, params))
    if expected is None or limits is None:
        return consumption, findings
    low, high, far_high, far_low = limits
    if consumption == _ZERO:
        if expected > _ZERO:
            findings.append(Finding(CONSUMPTION_ZERO, Outcome.WARNING, {"expected": expected}))
        if far_low is not None:
            findings.append(_far_too_low(consumption, expected))
    elif consumption >= far_high:
        params = {
            "consumption": consumption,
            "expected": expected,
            "factor": thresholds.implausible_factor,
        }
        findings.append(Finding(CONSUMPTION_FAR_TOO_HIGH, Outcome.IMPLAUSIBLE, params))
    elif far_low is not None and consumption <= far_low:
        findings.append(_far_too_low(consumption, expected))
    elif thresholds.below_band(consumption, expected, low) or thresholds.above_band(
        consumption, expected, high
    ):
        params = {"consumption": consumption, "expected": expected, "low": low, "high": high}
        findings.append(Finding(CONSUMPTION_OUTSIDE_BAND, Outcome.WARNING, params))
    return consumption, findings


def _far_too_low(consumption: Decimal, expected: Decimal) -> Finding:
    return Finding(
        CONSUMPTION_FAR_TOO_LOW,
        Outcome.IMPLAUSIBLE,
        {"consumption": consumption, "expected": expected},
    )


def _decimal_hint(suggestion: Decimal) -> Finding:
    return Finding(HINT_DECIMAL_PLACES, Outcome.WARNING, {"suggestion": suggestion})


def wrap(value: Decimal, modulus: Decimal) -> Decimal:
    """``value`` modulo ``modulus``, always in ``[0, modulus)``."""
    wrapped = value % modulus
    return wrapped + modulus if wrapped < _ZERO else wrapped


@lru_cache(maxsize=1 << 16)
def weight_ratio(
    weights: DayWeights,
    start: date,
    end: date,
    reference_start: date | None,
    reference_end: date,
) -> Decimal | None:
    """``W(start, end) / W(reference)``, cached: readings of a campaign share few dates.

    ``reference_start`` ``None`` means the default reference period, the 365
    days ending at ``reference_end``. ``None`` when the reference weighs nothing.
    """
    if reference_start is None:
        reference_start = reference_end - _REFERENCE
    reference_weight = weights.weight(reference_start, reference_end)
    if reference_weight <= 0:
        return None
    return Decimal(weights.weight(start, end)) / reference_weight


def ratio_for(
    weights: DayWeights,
    start: date,
    end: date,
    previous_year: PreviousYearConsumption,
    default_end: date,
) -> Decimal | None:
    """:func:`weight_ratio` over the reference period of ``previous_year``."""
    period = previous_year.period
    if period is None:
        return weight_ratio(weights, start, end, None, default_end)
    return weight_ratio(weights, start, end, period[0], period[1])


def carry(value: Decimal, quantity: Decimal, ratio: Decimal, register: Register) -> Decimal:
    """``R(end) = R(start) + Q × W(start, end) / W(reference)``, rounded to the register, wrapped."""
    carried = (value + quantity * ratio).quantize(register.step, rounding=ROUND_HALF_UP)
    modulus = register.modulus
    if _ZERO <= carried < modulus:
        return carried
    return wrap(carried, modulus)


def evaluate(
    value: Decimal | str,
    reading_date: date,
    register: Register,
    previous: PreviousReading | None,
    previous_year: PreviousYearConsumption | None,
    key_date: date | None,
    today: date,
    weights: DayWeights,
    thresholds: Thresholds,
    unit: str,
) -> tuple[CheckResult, Context | None, Decimal | None]:
    """The check of one reading; also returns its context and number for rule 8.

    The context is set only when rules 1 (digits) or 3–6 found something:
    those are the readings rule 8 compares.
    """
    number: Decimal | None
    problem: Finding | None = None
    if isinstance(value, str):
        parsed = parse_value(value, register.decimals)
        number, problem = (None, parsed) if isinstance(parsed, Finding) else (parsed, None)
    else:  # a Decimal is judged like the same value typed as text ("-0" is 0 there too)
        problem = _validate_number(value, register.decimals)
        number = None if problem is not None else value.copy_abs() if value.is_zero() else value
    if (
        problem is not None
        or reading_date > today
        or (previous is not None and reading_date < previous.reading_date)
    ):
        return _error_result(problem, number, reading_date, previous, today, unit), None, number
    assert number is not None

    expected: Decimal | None = None
    limits: Limits | None = None
    quantity: Decimal | None = None
    if previous_year is not None and previous_year.value >= _ZERO:
        quantity = previous_year.value
    default_end = reading_date
    if previous is not None:
        default_end = previous.reading_date
        if quantity is not None:
            assert previous_year is not None
            ratio = ratio_for(weights, default_end, reading_date, previous_year, default_end)
            if ratio is not None:
                expected = (quantity * ratio).quantize(_MILLI, rounding=ROUND_HALF_UP)
                limits = thresholds.limits(expected, previous.is_estimate)
    consumption, findings = judge(number, register, previous, expected, limits, thresholds)
    outcome = Outcome.OK
    context: Context | None = None
    if findings:
        context = Context(register, previous, expected, limits, thresholds)
        outcome = findings[0].outcome
        for finding in findings:
            if finding.outcome > outcome:
                outcome = finding.outcome
        too_long = consumption is None
        if too_long or (
            limits is not None
            and consumption is not None
            and expected is not None
            and thresholds.above_band(consumption, expected, limits[1])
        ):
            hint = context.decimal_places_hint(number, consumption)
            if hint is not None:
                findings.append(hint)
        if too_long:
            band = None if limits is None else (limits[0], limits[1])
            result = CheckResult(outcome, number, None, expected, band, tuple(findings), None, unit)
            return result, context, number

    key_date_value: Decimal | None = None
    if key_date is not None:
        distance = (key_date - reading_date).days
        if distance > thresholds.key_date_days or -distance > thresholds.key_date_days:
            params: dict[str, ParamValue] = {
                "reading_date": reading_date,
                "key_date": key_date,
                "days": abs(distance),
            }
            findings.append(Finding(DATE_FAR_FROM_KEY_DATE, Outcome.WARNING, params))
            if outcome < Outcome.WARNING:
                outcome = Outcome.WARNING
            if quantity is not None:
                assert previous_year is not None
                ratio = ratio_for(weights, reading_date, key_date, previous_year, default_end)
                if ratio is not None:
                    key_date_value = carry(number, quantity, ratio, register)
    result = CheckResult(
        outcome,
        number,
        consumption,
        expected,
        None if limits is None else (limits[0], limits[1]),
        tuple(findings) if findings else (),
        key_date_value,
        unit,
    )
    return result, context, number


def _error_result(
    problem: Finding | None,
    number: Decimal | None,
    reading_date: date,
    previous: PreviousReading | None,
    today: date,
    unit: str,
) -> CheckResult:
    """Rules 1 and 2: every error at once, so that one correction fixes them all."""
    findings = [] if problem is None else [problem]
    if reading_date > today:
        findings.append(
            Finding(DATE_IN_FUTURE, Outcome.ERROR, {"reading_date": reading_date, "today": today})
        )
    if previous is not None and reading_date < previous.reading_date:
        findings.append(
            Finding(
                DATE_BEFORE_PREVIOUS,
                Outcome.ERROR,
                {"reading_date": reading_date, "previous_date": previous.reading_date},
            )
        )
    return CheckResult(Outcome.ERROR, number, findings=tuple(findings), unit=unit)


def check_reading(
    value: Decimal | str,
    reading_date: date,
    *,
    register: Register,
    today: date,
    previous: PreviousReading | None = None,
    previous_year: PreviousYearConsumption | None = None,
    key_date: date | None = None,
    weights: DayWeights = UNIFORM,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    unit: str = "m³",
) -> CheckResult:
    """Check one reading against rules 1–7 and 9 (rule 8 needs :func:`check_property`).

    ``value`` is a ``Decimal`` (from the database) or the text typed into a
    form. ``today`` is passed in so that the function stays pure.
    """
    return evaluate(
        value,
        reading_date,
        register,
        previous,
        previous_year,
        key_date,
        today,
        weights,
        thresholds,
        unit,
    )[0]
