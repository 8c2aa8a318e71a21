"""Thresholds of the rules: a setting of the organisation, overridable per campaign.

Percentages are percent (``40`` is 40 %). Override per campaign with
``dataclasses.replace(organisation_thresholds, **campaign_overrides)``.
"""

from dataclasses import dataclass, field, fields
from decimal import Decimal

from ablesung.plausibility.german_numbers import format_decimal

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)

Limits = tuple[Decimal, Decimal, Decimal, Decimal | None]

FIELD_LABELS: dict[str, str] = {
    "band_lower_pct": "Hinweis unter (−%)",
    "band_upper_pct": "Hinweis über (+%)",
    "min_deviation": "Mindestabweichung",
    "narrow_from": "Enges Band ab Verbrauch",
    "narrow_lower_pct": "Enges Band unter (−%)",
    "narrow_upper_pct": "Enges Band über (+%)",
    "implausible_factor": "Unplausibel ab Vielfachem",
    "implausible_add": "Unplausibel ab Vielfachem plus",
    "implausible_low_pct": "Unplausibel unter (% des Erwarteten)",
    "implausible_low_from": "Unplausibel niedrig ab erwartetem Verbrauch",
    "overflow_high_pct": "Überlauf: Vorwert ab (%)",
    "overflow_low_pct": "Überlauf: neuer Wert bis (%)",
    "key_date_days": "Höchster Abstand zum Stichtag (Tage)",
    "estimate_widening": "Aufweitung nach Schätzung (Faktor)",
}


@dataclass(frozen=True, slots=True)
class ThresholdError:
    """A German message for the settings form, bound to a field."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The defaults of PLAUSIBILITY.md.

    * band (rule 5): warning outside ``[E × (1 − 40 %), E × (1 + 70 %)]`` when
      the deviation also reaches ``min_deviation`` units (exactly 5 is a warning);
      from ``E ≥ 1000`` ``−20 %/+50 %``;
    * implausible (rule 6): consumption ``≥ 3 × E + 10`` or ``≤ 10 % of E`` for
      ``E ≥ 50``;
    * overflow (rule 3): previous ``≥ 90 %`` of ``10^digits`` and new ``≤ 10 %``;
    * key date (rule 9): more than 31 days away;
    * previous reading was an estimate: the band's percentages are multiplied
      by ``estimate_widening`` (2: −80 %/+140 %, narrow −40 %/+100 %).
    """

    band_lower_pct: Decimal = Decimal(40)
    band_upper_pct: Decimal = Decimal(70)
    min_deviation: Decimal = Decimal(5)
    narrow_from: Decimal = Decimal(1000)
    narrow_lower_pct: Decimal = Decimal(20)
    narrow_upper_pct: Decimal = Decimal(50)
    implausible_factor: Decimal = Decimal(3)
    implausible_add: Decimal = Decimal(10)
    implausible_low_pct: Decimal = Decimal(10)
    implausible_low_from: Decimal = Decimal(50)
    overflow_high_pct: Decimal = Decimal(90)
    overflow_low_pct: Decimal = Decimal(10)
    key_date_days: int = 31
    estimate_widening: Decimal = Decimal(2)
    # (narrow, previous was estimate) → (low factor, high factor), precomputed
    _factors: tuple[tuple[tuple[Decimal, Decimal], ...], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    _low_fraction: Decimal = field(init=False, repr=False, compare=False, default=_ZERO)
    _overflow: tuple[Decimal, Decimal] = field(
        init=False, repr=False, compare=False, default=(_ZERO, _ZERO)
    )

    def __post_init__(self) -> None:
        def factors(lower: Decimal, upper: Decimal) -> tuple[tuple[Decimal, Decimal], ...]:
            widened_lower = lower * self.estimate_widening
            widened_upper = upper * self.estimate_widening
            return (
                (max(_ZERO, _ONE - lower / _HUNDRED), _ONE + upper / _HUNDRED),
                (max(_ZERO, _ONE - widened_lower / _HUNDRED), _ONE + widened_upper / _HUNDRED),
            )

        object.__setattr__(
            self,
            "_factors",
            (
                factors(self.band_lower_pct, self.band_upper_pct),
                factors(self.narrow_lower_pct, self.narrow_upper_pct),
            ),
        )
        object.__setattr__(self, "_low_fraction", self.implausible_low_pct / _HUNDRED)
        object.__setattr__(
            self,
            "_overflow",
            (self.overflow_high_pct / _HUNDRED, self.overflow_low_pct / _HUNDRED),
        )

    # -- used by the rules -------------------------------------------------

    def band(
        self, expected: Decimal, previous_is_estimate: bool = False
    ) -> tuple[Decimal, Decimal]:
        """``(low, high)`` where rule 5's warnings begin, for the settings page's example.

        ``low = max(0, min(E × (1 − lower), E − min_deviation))`` and
        ``high = max(E × (1 + upper), E + min_deviation)``: below ``low`` and above
        ``high`` warns. An edge set by ``min_deviation`` warns itself (a deviation of
        exactly ``min_deviation`` counts); an edge set by the percentages does not.
        """
        low, high, _, _ = self.limits(expected, previous_is_estimate)
        other = expected - self.min_deviation
        if other < low:
            low = other if other > _ZERO else _ZERO
        other = expected + self.min_deviation
        if other > high:
            high = other
        return low, high

    def limits(self, expected: Decimal, previous_is_estimate: bool = False) -> Limits:
        """``(low, high, far too high from, far too low up to)`` for rules 5 and 6.

        ``low`` and ``high`` are the percentage band of rule 5 (its edges belong to the
        band); :meth:`below_band` and :meth:`above_band` add the minimum deviation. The
        last is ``None`` where rule 6's lower limit does not apply (``E < 50``).
        """
        low_factor, high_factor = self._factors[expected >= self.narrow_from][previous_is_estimate]
        low = expected * low_factor
        high = expected * high_factor
        far_high = expected * self.implausible_factor + self.implausible_add
        if expected <= _ZERO or expected < self.implausible_low_from:
            return low, high, far_high, None
        return low, high, far_high, expected * self._low_fraction

    def below_band(self, consumption: Decimal, expected: Decimal, low: Decimal) -> bool:
        """Rule 5, lower side: under the band and at least ``min_deviation`` below ``E``."""
        return consumption < low and expected - consumption >= self.min_deviation

    def above_band(self, consumption: Decimal, expected: Decimal, high: Decimal) -> bool:
        """Rule 5, upper side: over the band and at least ``min_deviation`` above ``E``."""
        return consumption > high and consumption - expected >= self.min_deviation

    def overflow_zone(self, modulus: Decimal) -> tuple[Decimal, Decimal]:
        """Rule 3: ``(previous at least, new at most)`` for an overflow."""
        high, low = self._overflow
        return modulus * high, modulus * low

    # -- settings page -----------------------------------------------------

    def validate(self) -> list[ThresholdError]:
        """German messages for every inconsistent setting; empty when all is well."""
        errors: list[ThresholdError] = []

        def error(name: str, message: str) -> None:
            errors.append(ThresholdError(name, message))

        for item in fields(self):
            value = getattr(self, item.name)
            if item.init and value < 0:
                error(item.name, f"„{FIELD_LABELS[item.name]}“ darf nicht negativ sein.")
        for lower, name in (
            (self.band_lower_pct, "band_lower_pct"),
            (self.narrow_lower_pct, "narrow_lower_pct"),
        ):
            if lower >= _HUNDRED:
                error(name, "Die untere Grenze muss über 0 liegen (Abweichung unter 100 %).")
        if self.band_lower_pct <= 0 and self.band_upper_pct <= 0:
            error("band_upper_pct", "Die untere Grenze muss unter der oberen Grenze liegen.")
        if self.narrow_lower_pct <= 0 and self.narrow_upper_pct <= 0:
            error("narrow_upper_pct", "Die untere Grenze muss unter der oberen Grenze liegen.")
        if self.narrow_lower_pct > self.band_lower_pct:
            error(
                "narrow_lower_pct",
                "Das enge Band darf nach unten nicht weiter sein als das normale.",
            )
        if self.narrow_upper_pct > self.band_upper_pct:
            error(
                "narrow_upper_pct",
                "Das enge Band darf nach oben nicht weiter sein als das normale.",
            )
        if self.implausible_factor <= _ONE + self.band_upper_pct / _HUNDRED:
            error(
                "implausible_factor",
                "Die Grenze für unplausibel hohe Werte muss über der oberen Hinweisgrenze liegen.",
            )
        if self.implausible_low_pct >= _HUNDRED - self.band_lower_pct:
            error(
                "implausible_low_pct",
                "Die Grenze für unplausibel niedrige Werte muss unter der unteren Hinweisgrenze liegen.",
            )
        if not _ZERO < self.overflow_low_pct < self.overflow_high_pct < _HUNDRED:
            error(
                "overflow_low_pct",
                "Für den Zählerüberlauf muss die untere Grenze unter der oberen liegen "
                "(beide zwischen 0 und 100 %).",
            )
        if self.estimate_widening < _ONE:
            error(
                "estimate_widening", "Die Aufweitung nach einer Schätzung muss mindestens 1 sein."
            )
        return errors

    def describe_band(self, previous_year: Decimal, unit: str = "m³") -> str:
        """The live example of the settings page.

        ``"bei 80 m³ Vorjahresverbrauch: Hinweis unter 48 oder über 136 m³"``
        (for a full year, so ``E = Q``).
        """
        low, high = self.band(previous_year)
        q = format_decimal(previous_year, "de", 1)
        return (
            f"bei {q} {unit} Vorjahresverbrauch: Hinweis unter "
            f"{format_decimal(low, 'de', 1)} oder über {format_decimal(high, 'de', 1)} {unit}"
        )


DEFAULT_THRESHOLDS = Thresholds()
