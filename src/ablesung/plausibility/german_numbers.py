"""Numbers and dates as citizens type and read them: German first, English second.

Parsing accepts what people type into a form field: ``1234``, ``1234,5``,
``1.234,5``, ``1 234,5`` and, leniently, an English decimal point (``1234.5``).
A lone dot followed by groups of exactly three digits is a German thousands
separator (``1.234`` is 1234). No regular expressions: this runs once per form
field and once per imported row.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

_SPACES = (" ", "\u00a0", "\u202f", "\u2009", "'")
_MINUS = ("-", "\u2212", "\u2013")
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_grouped(text: str) -> bool:
    """``1.234`` or ``12.345.678``: thousands groups separated by dots."""
    first, *rest = text.split(".")
    return (
        1 <= len(first) <= 3
        and _is_digits(first)
        and all(len(group) == 3 and _is_digits(group) for group in rest)
    )


def parse_decimal(text: str) -> Decimal:
    """Parse a number typed in German (or with an English decimal point).

    Raises ``ValueError`` for anything that is not a plain number: empty text,
    letters, exponents, ``NaN``, misplaced separators.
    """
    compact = text.strip()
    for space in _SPACES:
        compact = compact.replace(space, "")
    negative = False
    if compact[:1] in _MINUS:
        negative = True
        compact = compact[1:]
    elif compact[:1] == "+":
        compact = compact[1:]
    if "," in compact:
        whole, _, fraction = compact.partition(",")
    elif compact.count(".") == 1 and not _is_grouped(compact):
        whole, _, fraction = compact.partition(".")
    else:
        whole, fraction = compact, ""
    if "." in whole:
        if not _is_grouped(whole):
            raise ValueError(f"not a number: {text!r}")
        whole = whole.replace(".", "")
    if not whole and not fraction:
        raise ValueError(f"not a number: {text!r}")
    if (whole and not _is_digits(whole)) or (fraction and not _is_digits(fraction)):
        raise ValueError(f"not a number: {text!r}")
    number = Decimal(f"{whole or '0'}.{fraction}" if fraction else whole)
    return -number if negative else number


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]]
    parts.extend(digits[i : i + 3] for i in range(head, len(digits), 3))
    return separator.join(parts)


def format_decimal(
    value: Decimal, lang: str = "de", places: int | None = None, *, grouped: bool = True
) -> str:
    """``Decimal("1234.5")`` → ``1.234,5`` (de) or ``1,234.5`` (en).

    Without ``places`` the exact value is shown without trailing zeros; with
    ``places`` it is rounded half up to that many decimals first (and trailing
    zeros are dropped as well). ``grouped=False`` leaves out the thousands separator
    (``1234,5``): a meter reading is written as the meter shows it, since "99.999"
    reads as a decimal in German.
    """
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if value == 0:
        value = Decimal(0)
    text = format(value.normalize(), "f")
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    whole, _, fraction = text.partition(".")
    thousands, point = (",", ".") if lang == "en" else (".", ",")
    if grouped:
        whole = _group(whole, thousands)
    return f"{sign}{whole}{point}{fraction}" if fraction else f"{sign}{whole}"


def approximate_places(value: Decimal) -> int:
    """Decimals worth showing for an approximate quantity ("ca. 80 m³")."""
    magnitude = abs(value)
    if magnitude >= 10:
        return 0
    if magnitude >= 1:
        return 1
    return 2


def format_date(value: date, lang: str = "de") -> str:
    """``31.12.2026`` (de) or ``31 December 2026`` (en)."""
    if lang == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day:02d}.{value.month:02d}.{value.year}"
