"""Message templates for every rule code, German first, English second.

A finding carries a code and its parameters; the text is rendered only when
someone reads it. Placeholders name their parameter; how a parameter is
written depends on its name (:data:`PARAM_KINDS`): quantities get the unit,
approximate quantities are rounded ("ca. 80 m³"), dates are written the local
way.
"""

import string
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from ablesung.plausibility.german_numbers import (
    approximate_places,
    format_date,
    format_decimal,
)

ParamValue = Decimal | int | str | date
LANGUAGES = ("de", "en")


class ParamKind(Enum):
    READING = "reading"  # a meter reading, exact, never grouped: "76414 m³"
    QUANTITY = "quantity"  # exact, with unit: "1.234,5 m³"
    APPROX = "approx"  # rounded, with unit: "80 m³"
    COUNT = "count"  # plain integer: "31"
    FACTOR = "factor"  # "dreimal" / "three times"
    DATE = "date"
    TEXT = "text"


PARAM_KINDS: dict[str, ParamKind] = {
    "value": ParamKind.READING,
    "previous": ParamKind.READING,
    "consumption": ParamKind.QUANTITY,
    "suggestion": ParamKind.READING,
    "expected": ParamKind.APPROX,
    "low": ParamKind.APPROX,
    "high": ParamKind.APPROX,
    "digits": ParamKind.COUNT,
    "decimals": ParamKind.COUNT,
    "days": ParamKind.COUNT,
    "factor": ParamKind.FACTOR,
    "reading_date": ParamKind.DATE,
    "previous_date": ParamKind.DATE,
    "key_date": ParamKind.DATE,
    "today": ParamKind.DATE,
    "text": ParamKind.TEXT,
    "meter": ParamKind.TEXT,
}


@dataclass(frozen=True, slots=True)
class Template:
    de: str
    en: str


TEMPLATES: dict[str, Template] = {
    "value.empty": Template(
        de="Bitte geben Sie den Zählerstand ein.",
        en="Please enter the meter reading.",
    ),
    "value.not_a_number": Template(
        de="„{text}“ ist keine Zahl. Bitte geben Sie den Zählerstand nur mit Ziffern ein, z. B. 1234.",
        en="“{text}” is not a number. Please enter the meter reading in digits only, e.g. 1234.",
    ),
    "value.negative": Template(
        de="Ein Zählerstand kann nicht negativ sein. Bitte geben Sie ihn ohne Minuszeichen ein.",
        en="A meter reading cannot be negative. Please enter it without a minus sign.",
    ),
    "value.decimals_not_allowed": Template(
        de="Bitte geben Sie den Zählerstand ohne Nachkommastellen ein "
        "(nur die schwarzen Ziffern, ohne die roten).",
        en="Please enter the meter reading without decimals "
        "(only the black digits, not the red ones).",
    ),
    "value.too_many_decimals": Template(
        de="Dieser Zähler hat höchstens {decimals} Nachkommastellen. "
        "Bitte geben Sie den Zählerstand entsprechend ein.",
        en="This meter has at most {decimals} decimal places. "
        "Please enter the meter reading accordingly.",
    ),
    "value.too_many_digits": Template(
        de="Der Zählerstand hat zu viele Stellen: Dieser Zähler hat {digits} Stellen vor dem Komma.",
        en="The meter reading has too many digits: this meter has {digits} digits "
        "before the decimal point.",
    ),
    "date.in_future": Template(
        de="Das Ablesedatum {reading_date} liegt in der Zukunft. "
        "Bitte geben Sie den Tag an, an dem Sie abgelesen haben.",
        en="The reading date {reading_date} is in the future. "
        "Please enter the day you read the meter.",
    ),
    "date.before_previous": Template(
        de="Das Ablesedatum {reading_date} liegt vor der letzten Ablesung am {previous_date}. "
        "Bitte prüfen Sie das Datum.",
        en="The reading date {reading_date} is before the previous reading on {previous_date}. "
        "Please check the date.",
    ),
    "consumption.overflow": Template(
        de="Ihr Zähler ist offenbar übergelaufen und hat wieder bei 0 begonnen "
        "(von {previous} auf {value}). Ihr Verbrauch beträgt dann {consumption}. "
        "Bitte bestätigen Sie die Ablesung.",
        en="Your meter appears to have rolled over and started again at 0 "
        "(from {previous} to {value}). Your consumption is then {consumption}. "
        "Please confirm the reading.",
    ),
    "consumption.backwards": Template(
        de="Ihr Zählerstand von {value} ist kleiner als der letzte Zählerstand ({previous}). "
        "Bitte prüfen Sie die Ablesung.",
        en="Your meter reading of {value} is lower than the previous reading ({previous}). "
        "Please check the reading.",
    ),
    "consumption.zero": Template(
        de="Ihr Verbrauch seit der letzten Ablesung ist 0, erwartet waren ca. {expected}. "
        "Steht das Objekt leer? Bitte prüfen Sie die Ablesung.",
        en="Your consumption since the previous reading is 0; about {expected} was expected. "
        "Is the property vacant? Please check the reading.",
    ),
    "consumption.outside_band": Template(
        de="Ihr Verbrauch von {consumption} weicht deutlich vom erwarteten Verbrauch "
        "(ca. {expected}) ab. Bitte prüfen Sie die Ablesung.",
        en="Your consumption of {consumption} differs noticeably from the expected consumption "
        "(about {expected}). Please check the reading.",
    ),
    "consumption.far_too_high": Template(
        de="Ihr Verbrauch von {consumption} ist mehr als {factor} so hoch wie erwartet "
        "(ca. {expected}). Bitte prüfen Sie die Ablesung.",
        en="Your consumption of {consumption} is more than {factor} as high as expected "
        "(about {expected}). Please check the reading.",
    ),
    "consumption.far_too_low": Template(
        de="Ihr Verbrauch von {consumption} ist viel niedriger als erwartet (ca. {expected}). "
        "Bitte prüfen Sie die Ablesung.",
        en="Your consumption of {consumption} is much lower than expected (about {expected}). "
        "Please check the reading.",
    ),
    "hint.decimal_places": Template(
        de="Nachkommastellen mit eingegeben? Ein Zählerstand von {suggestion} würde zum "
        "erwarteten Verbrauch passen.",
        en="Did you include decimal places? A meter reading of {suggestion} would match "
        "the expected consumption.",
    ),
    "hint.swapped_meters": Template(
        de="Zähler vertauscht? Ihr Wert würde zum Zähler {meter} passen und dessen Wert zu diesem.",
        en="Meters swapped? Your value would match meter {meter}, and its value this one.",
    ),
    "date.far_from_key_date": Template(
        de="Ihr Ablesedatum ({reading_date}) liegt {days} Tage vom Stichtag ({key_date}) entfernt. "
        "Der Zählerstand wird auf den Stichtag umgerechnet.",
        en="Your reading date ({reading_date}) is {days} days away from the key date "
        "({key_date}). The reading will be converted to the key date.",
    ),
}

_FACTOR_WORDS = {
    "de": {2: "doppelt", 3: "dreimal", 4: "viermal", 5: "fünfmal", 10: "zehnmal"},
    "en": {2: "twice", 3: "three times", 4: "four times", 5: "five times", 10: "ten times"},
}


def placeholders(code: str, lang: str = "de") -> frozenset[str]:
    """The parameter names a template uses."""
    text = getattr(TEMPLATES[code], lang)
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def _language(lang: str) -> str:
    short = lang[:2].lower()
    return short if short in LANGUAGES else "de"


def _factor(value: Decimal | int, lang: str) -> str:
    number = Decimal(value)
    if number == number.to_integral_value() and int(number) in _FACTOR_WORDS[lang]:
        return _FACTOR_WORDS[lang][int(number)]
    text = format_decimal(number, lang)
    return f"{text}-mal" if lang == "de" else f"{text} times"


def format_param(name: str, value: ParamValue, lang: str = "de", unit: str = "m³") -> str:
    """One parameter as a citizen reads it."""
    lang = _language(lang)
    kind = PARAM_KINDS.get(name, ParamKind.TEXT)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, str):
        return value
    if kind is ParamKind.FACTOR:
        return _factor(value, lang)
    number = Decimal(value)
    if kind is ParamKind.APPROX:
        return f"{format_decimal(number, lang, approximate_places(number))} {unit}"
    if kind is ParamKind.READING:
        return f"{format_decimal(number, lang, grouped=False)} {unit}"
    if kind is ParamKind.QUANTITY:
        return f"{format_decimal(number, lang)} {unit}"
    return format_decimal(number, lang)


def render(code: str, params: dict[str, ParamValue], lang: str = "de", unit: str = "m³") -> str:
    """The message of a finding; raises ``KeyError`` for unknown codes or missing parameters."""
    lang = _language(lang)
    text: str = getattr(TEMPLATES[code], lang)
    return text.format_map(
        {name: format_param(name, value, lang, unit) for name, value in params.items()}
    )
