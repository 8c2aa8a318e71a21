"""What a check returns: an outcome, the numbers behind it and the findings."""

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import IntEnum
from typing import Any

from ablesung.plausibility.messages import ParamValue, render


class Outcome(IntEnum):
    """Ordered: ``OK < WARNING < IMPLAUSIBLE < ERROR``; a result's outcome is its worst finding."""

    OK = 0
    WARNING = 1  # "Hinweis": can be sent after confirming with a reason
    IMPLAUSIBLE = 2  # can be sent after confirming; lands in the review queue
    ERROR = 3  # cannot be stored; must be corrected

    @property
    def key(self) -> str:
        """``"ok"``, ``"warning"``, ``"implausible"`` or ``"error"`` (for storage and CSS)."""
        return self.name.lower()


@dataclass(frozen=True, slots=True, init=False)
class Finding:
    """One rule that fired: a stable ``code``, its ``outcome`` and the numbers for its message.

    Hints (``hint.*``) carry ``Outcome.WARNING`` and only ever accompany a
    finding that is at least a warning, so they never change a result's outcome.
    """

    code: str
    outcome: Outcome
    params: dict[str, ParamValue] = field(hash=False)

    def __init__(
        self, code: str, outcome: Outcome, params: dict[str, ParamValue] | None = None
    ) -> None:
        _init_finding(self, code, outcome, {} if params is None else params)

    @property
    def is_hint(self) -> bool:
        return self.code.startswith("hint.")

    def message(self, lang: str = "de", unit: str = "m³") -> str:
        return render(self.code, self.params, lang, unit)


@dataclass(frozen=True, slots=True, init=False)
class CheckResult:
    """The result of checking one reading.

    ``value``: the parsed value (``None`` if it could not be read).
    ``consumption``: since the previous reading, overflow-aware (negative when
    the meter ran backwards); ``None`` without previous reading or valid value.
    ``expected``: ``E`` over the same period; ``None`` without ``Q``.
    ``band``: ``(low, high)``, rule 5's percentage band (edges inclusive); a consumption
    outside it warns when it is also at least ``min_deviation`` (5) units away from ``E``.
    ``key_date_value``: when the reading date is too far from the key date
    (rule 9) and ``Q`` is known, the value carried to the key date.
    """

    outcome: Outcome
    value: Decimal | None
    consumption: Decimal | None
    expected: Decimal | None
    band: tuple[Decimal, Decimal] | None
    findings: tuple[Finding, ...]
    key_date_value: Decimal | None
    unit: str

    def __init__(
        self,
        outcome: Outcome,
        value: Decimal | None = None,
        consumption: Decimal | None = None,
        expected: Decimal | None = None,
        band: tuple[Decimal, Decimal] | None = None,
        findings: tuple[Finding, ...] = (),
        key_date_value: Decimal | None = None,
        unit: str = "m³",
    ) -> None:
        _init_result(
            self, outcome, value, consumption, expected, band, findings, key_date_value, unit
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(finding.code for finding in self.findings)

    @property
    def is_ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def needs_confirmation(self) -> bool:
        """A warning or an implausible value: can be sent after confirming it with a reason."""
        return self.outcome is Outcome.WARNING or self.outcome is Outcome.IMPLAUSIBLE

    @property
    def needs_review(self) -> bool:
        """Implausible: lands in the clerk's review queue, never released automatically."""
        return self.outcome is Outcome.IMPLAUSIBLE

    def messages(self, lang: str = "de") -> list[str]:
        return [finding.message(lang, self.unit) for finding in self.findings]


# A frozen dataclass's generated __init__ calls object.__setattr__ once per field,
# which costs more than the whole rule set of an ordinary reading. The slot
# descriptors set the same (still read-only) attributes directly.


def _result_init() -> Callable[..., None]:
    s0, s1, s2, s3, s4, s5, s6, s7 = (
        CheckResult.__dict__[item.name].__set__ for item in fields(CheckResult)
    )

    def init(
        instance: CheckResult,
        v0: Any,
        v1: Any,
        v2: Any,
        v3: Any,
        v4: Any,
        v5: Any,
        v6: Any,
        v7: Any,
    ) -> None:
        s0(instance, v0)
        s1(instance, v1)
        s2(instance, v2)
        s3(instance, v3)
        s4(instance, v4)
        s5(instance, v5)
        s6(instance, v6)
        s7(instance, v7)

    return init


def _finding_init() -> Callable[..., None]:
    s0, s1, s2 = (Finding.__dict__[item.name].__set__ for item in fields(Finding))

    def init(instance: Finding, v0: Any, v1: Any, v2: Any) -> None:
        s0(instance, v0)
        s1(instance, v1)
        s2(instance, v2)

    return init


_init_result = _result_init()
_init_finding = _finding_init()
