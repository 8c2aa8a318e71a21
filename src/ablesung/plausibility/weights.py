"""Day weights: how a year's consumption spreads over its days.

``W(a, b)`` is the sum of the day weights over ``[a, b)``, negative when
``b < a``. Weights are exact integers in a unit of each profile's own (only
ratios such as ``W(a, b) / W(reference)`` carry meaning):

* ``UNIFORM`` (water, electricity): one unit per day, so ``W(a, b)`` is the
  number of days.
* monthly profiles (``HEATING`` for gas and heat, or an organisation's own
  profile from :func:`parse_profile`): each month's share is spread evenly over
  its days. Shares may span several months (the default heating profile's
  June–August share of 40 ‰ is spread over those 92 days). A leap year's
  February spreads the same share over 29 days, so every calendar year weighs
  the same.

``W`` costs two cumulative look-ups (``C(b) − C(a)``); a monthly profile keeps
a 12-entry table per leap/common year, precomputed once.
"""

import calendar
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ablesung.plausibility.german_numbers import parse_decimal

MONTH_NAMES = (
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
_MONTH_LOOKUP: Mapping[str, int] = {
    **{name.casefold(): number for number, name in enumerate(MONTH_NAMES, start=1)},
    "maerz": 3,
    "marz": 3,
    "jänner": 1,
    "jaenner": 1,
}
MAX_PROFILE_DECIMALS = 6
# every segment's day count divides this: 28, 29, 30, 31 and 92 (June–August)
_SCALE = 8_684_340
_DAYS_COMMON = tuple(calendar.monthrange(2025, month)[1] for month in range(1, 13))
_DAYS_LEAP = tuple(calendar.monthrange(2024, month)[1] for month in range(1, 13))

Segment = tuple[tuple[int, ...], Decimal]


class DayWeights(ABC):
    """A day-weight profile. ``weight(a, b)`` is ``W(a, b)``."""

    name: str

    @abstractmethod
    def cumulative(self, day: date) -> int:
        """Sum of the weights of all days before ``day`` (from 1 January of year 1)."""

    def weight(self, start: date, end: date) -> int:
        """``W(start, end)``: the weights of the days in ``[start, end)``; negative if reversed."""
        return self.cumulative(end) - self.cumulative(start)


@dataclass(frozen=True, eq=False)
class UniformWeights(DayWeights):
    """Every day weighs the same (water, electricity): ``W(a, b)`` is the number of days."""

    name: str = "uniform"

    def cumulative(self, day: date) -> int:
        return day.toordinal()


@dataclass(frozen=True, eq=False)
class MonthlyWeights(DayWeights):
    """Monthly shares, each spread evenly over the days of its month(s).

    ``segments`` pairs a tuple of months with their common share; together the
    segments cover every month exactly once. Shares are non-negative decimals
    with at most six places and a positive sum; their unit does not matter
    (per mille, kWh, an index around 100).
    """

    name: str
    segments: tuple[Segment, ...]
    year: int | None = None
    _month_start: tuple[tuple[int, ...], tuple[int, ...]] = field(
        init=False, repr=False, default=((), ())
    )
    _per_day: tuple[tuple[int, ...], tuple[int, ...]] = field(
        init=False, repr=False, default=((), ())
    )
    _year_total: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        months = sorted(month for months, _ in self.segments for month in months)
        if months != list(range(1, 13)):
            raise ValueError("segments must cover every month exactly once")
        shares = [share for _, share in self.segments]
        if any(not share.is_finite() or share < 0 for share in shares):
            raise ValueError("shares must be finite and non-negative")
        places = max(_places(share) for share in shares)
        if places > MAX_PROFILE_DECIMALS:
            raise ValueError(f"shares may have at most {MAX_PROFILE_DECIMALS} decimal places")
        if sum(shares) <= 0:
            raise ValueError("the shares must add up to more than zero")
        tables = []
        for days_in_month in (_DAYS_COMMON, _DAYS_LEAP):
            per_day = [0] * 12
            for segment_months, share in self.segments:
                units = int(share.scaleb(places)) * _SCALE
                days = sum(days_in_month[month - 1] for month in segment_months)
                for month in segment_months:
                    per_day[month - 1] = units // days
            starts = [0] * 12
            for month in range(1, 12):
                starts[month] = starts[month - 1] + per_day[month - 1] * days_in_month[month - 1]
            tables.append((tuple(starts), tuple(per_day)))
        (common_start, common_day), (leap_start, leap_day) = tables
        object.__setattr__(self, "_month_start", (common_start, leap_start))
        object.__setattr__(self, "_per_day", (common_day, leap_day))
        object.__setattr__(self, "_year_total", common_start[11] + common_day[11] * 31)

    def cumulative(self, day: date) -> int:
        year, month = day.year, day.month
        leap = 1 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 0
        return (
            (year - 1) * self._year_total
            + self._month_start[leap][month - 1]
            + (day.day - 1) * self._per_day[leap][month - 1]
        )

    def monthly_shares(self) -> dict[int, Decimal]:
        """Month number → the share of the segment that month belongs to."""
        return {month: share for months, share in self.segments for month in months}


def _places(share: Decimal) -> int:
    exponent = share.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def monthly_weights(
    shares: Sequence[Decimal], *, name: str = "profile", year: int | None = None
) -> MonthlyWeights:
    """A profile with one share per month, January first."""
    if len(shares) != 12:
        raise ValueError("a monthly profile needs twelve shares")
    return MonthlyWeights(
        name=name,
        segments=tuple(((month,), share) for month, share in enumerate(shares, start=1)),
        year=year,
    )


UNIFORM = UniformWeights()
HEATING = MonthlyWeights(
    name="heating",
    segments=(
        ((1,), Decimal(170)),
        ((2,), Decimal(150)),
        ((3,), Decimal(130)),
        ((4,), Decimal(80)),
        ((5,), Decimal(40)),
        ((6, 7, 8), Decimal(40)),
        ((9,), Decimal(30)),
        ((10,), Decimal(80)),
        ((11,), Decimal(120)),
        ((12,), Decimal(160)),
    ),
)
_HEATING_KINDS = frozenset({"gas", "heat"})


def weights_for_kind(kind: str) -> DayWeights:
    """The default weights of a meter kind (``MeterKind`` values): heating profile for gas and heat."""
    return HEATING if kind in _HEATING_KINDS else UNIFORM


class ProfileError(ValueError):
    """A monthly profile file that cannot be used; ``messages`` are German, one per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def parse_profile(text: str, *, name: str = "Eigenes Profil") -> MonthlyWeights:
    """Parse an organisation's monthly profile.

    Format (semicolon-separated, decimal comma, optional ``Jahr`` line, blank
    lines ignored, month names case-insensitive)::

        Jahr;2026
        Januar;103,24
        …
        Dezember;99,84

    Raises :class:`ProfileError` listing every problem with its line number.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ProfileError(
            ["Die Datei ist leer. Erwartet werden zwölf Zeilen wie „Januar;103,24“."]
        )
    errors: list[str] = []
    year: int | None = None
    year_line: int | None = None
    seen: dict[int, int] = {}
    shares: dict[int, Decimal] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        cells = [cell.strip() for cell in line.split(";")]
        while len(cells) > 2 and not cells[-1]:
            cells.pop()
        if len(cells) != 2:
            errors.append(f"Zeile {number}: Erwartet „Monat;Wert“, gefunden „{line}“.")
            continue
        label, value = cells
        key = label.casefold()
        if key == "jahr":
            if year_line is not None:
                errors.append(
                    f"Zeile {number}: Das Jahr steht doppelt in der Datei (zuerst in Zeile {year_line})."
                )
                continue
            year_line = number
            if len(value) != 4 or not _is_year(value):
                errors.append(f"Zeile {number}: „{value}“ ist keine gültige Jahreszahl.")
                continue
            year = int(value)
            continue
        month = _MONTH_LOOKUP.get(key)
        if month is None:
            errors.append(
                f"Zeile {number}: „{label}“ ist kein Monat. Erlaubt sind Januar bis Dezember."
            )
            continue
        month_name = MONTH_NAMES[month - 1]
        if month in seen:
            errors.append(
                f"Zeile {number}: {month_name} steht doppelt in der Datei (zuerst in Zeile {seen[month]})."
            )
            continue
        seen[month] = number
        try:
            share = parse_decimal(value)
        except ValueError:
            errors.append(
                f"Zeile {number}: „{value}“ ist keine gültige Zahl für {month_name} (Beispiel: 103,24)."
            )
            continue
        if share < 0:
            errors.append(f"Zeile {number}: Der Wert für {month_name} darf nicht negativ sein.")
            continue
        if _places(share) > MAX_PROFILE_DECIMALS:
            errors.append(
                f"Zeile {number}: Der Wert für {month_name} hat mehr als "
                f"{MAX_PROFILE_DECIMALS} Nachkommastellen."
            )
            continue
        shares[month] = share
    missing = [MONTH_NAMES[month - 1] for month in range(1, 13) if month not in seen]
    if missing:
        errors.append(f"Es fehlen Monate: {', '.join(missing)}.")
    if not errors and sum(shares.values()) <= 0:
        errors.append("Die Summe der Monatswerte muss größer als 0 sein.")
    if errors:
        raise ProfileError(errors)
    return monthly_weights([shares[month] for month in range(1, 13)], name=name, year=year)


def _is_year(text: str) -> bool:
    return text.isascii() and text.isdigit() and text[0] != "0"
