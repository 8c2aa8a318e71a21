"""The plain facts a check works on: register, previous reading, previous-year consumption."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ablesung.plausibility.weights import UNIFORM, DayWeights

MAX_DIGITS = 18
_POWERS = tuple(Decimal(10) ** n for n in range(MAX_DIGITS + 1))
_STEPS = tuple(Decimal(1).scaleb(-n) for n in range(MAX_DIGITS + 1))


@dataclass(frozen=True, slots=True)
class Register:
    """A counter: ``digits`` before the decimal point (it wraps at ``10^digits``), ``decimals`` allowed."""

    digits: int
    decimals: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.digits <= MAX_DIGITS:
            raise ValueError(f"digits must be between 1 and {MAX_DIGITS}")
        if not 0 <= self.decimals <= MAX_DIGITS:
            raise ValueError(f"decimals must be between 0 and {MAX_DIGITS}")

    @property
    def modulus(self) -> Decimal:
        """``10^digits``: the value at which the counter starts again at zero."""
        return _POWERS[self.digits]

    @property
    def step(self) -> Decimal:
        """The smallest step the register shows (``1`` without decimals, ``0.001`` with three)."""
        return _STEPS[self.decimals]


@dataclass(frozen=True, slots=True)
class PreviousReading:
    """The last known reading. ``is_estimate``: it was estimated, not read."""

    value: Decimal
    reading_date: date
    is_estimate: bool = False


@dataclass(frozen=True, slots=True)
class PreviousYearConsumption:
    """``Q``: consumption over the reference period ``[start, end)``.

    Without ``period`` the reference period is the 365 days ending at the
    previous reading date.
    """

    value: Decimal
    period: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class ReadingInput:
    """One meter's reading for :func:`check_property` (``meter``: the number shown in hints)."""

    value: Decimal | str
    reading_date: date
    register: Register
    previous: PreviousReading | None = None
    previous_year: PreviousYearConsumption | None = None
    weights: DayWeights = UNIFORM
    unit: str = "m³"
    meter: str = ""


ReadingInputs = Sequence[ReadingInput]
