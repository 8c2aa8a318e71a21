"""Validate meter-list rows: per-row rules and checks across rows, German messages."""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from itertools import repeat

from ablesung.formats.errors import FormatError, de_int, shorten
from ablesung.formats.fields import (
    DEFAULT_DIGITS,
    FIELDS_BY_NAME,
    MAX_DECIMALS,
    MAX_DIGITS,
    METER_KIND_LABELS,
    MIN_DIGITS,
    normalise,
    parse_meter_kind,
    parse_register_code,
)
from ablesung.formats.profile import Profile

DEFAULT_MAX_CELL_CHARS = 10_000
PROPERTY_FIELDS: tuple[str, ...] = (
    "customer_number",
    "owner_last_name",
    "owner_first_name",
    "street",
    "house_number",
    "postal_code",
    "city",
    "email",
)
_TEXT_FIELDS: tuple[str, ...] = (
    "object_number",
    "customer_number",
    "owner_last_name",
    "owner_first_name",
    "street",
    "house_number",
    "postal_code",
    "city",
    "meter_number",
    "location_hint",
    "email",
)
_EMAIL = _TEXT_FIELDS.index("email")
_CACHE_SIZE = 50_000
_DIGITS = {str(n): n for n in range(MIN_DIGITS, MAX_DIGITS + 1)} | {
    f"0{n}": n for n in range(MIN_DIGITS, 10)
}
_LEADING_ZERO = re.compile("\x1f0[0-9]")
_POW10 = [10**n for n in range(MAX_DIGITS + 1)]
_KINDS_TEXT = ", ".join(METER_KIND_LABELS.values())


@dataclass(slots=True)
class RowError:
    """One problem of one row: ``column`` is the header text ("" for the whole row)."""

    line: int
    column: str
    value: str
    message: str

    @property
    def text(self) -> str:
        """The sentence for the clerk, e.g. ``Zeile 5012, Spalte „Ablesedatum alt“: …``."""
        if self.line and self.column:
            return f"Zeile {self.line}, Spalte „{self.column}“: {self.message}"
        if self.line:
            return f"Zeile {self.line}: {self.message}"
        return self.message


@dataclass(slots=True)
class MeterRow:
    """One valid row: a property, a meter (register) and its previous reading."""

    line: int
    object_number: str
    customer_number: str
    owner_last_name: str
    owner_first_name: str
    street: str
    house_number: str
    postal_code: str
    city: str
    meter_number: str
    meter_kind: str
    digits: int
    register_code: str
    previous_date: datetime.date
    previous_value: Decimal
    previous_year_consumption: Decimal
    raw: list[str]
    decimals: int = 0
    location_hint: str = ""
    email: str = ""


_ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(MeterRow))


@dataclass(slots=True)
class RowBlock:
    """Valid rows of one chunk, column by column (same fields as :class:`MeterRow`).

    The import's fast path: :meth:`Validator.feed_block` checks a whole chunk with a few
    passes per column instead of one Python call per cell.
    """

    line: Sequence[int]
    object_number: Sequence[str]
    customer_number: Sequence[str]
    owner_last_name: Sequence[str]
    owner_first_name: Sequence[str]
    street: Sequence[str]
    house_number: Sequence[str]
    postal_code: Sequence[str]
    city: Sequence[str]
    meter_number: Sequence[str]
    meter_kind: Sequence[str]
    digits: Sequence[int]
    register_code: Sequence[str]
    previous_date: Sequence[datetime.date]
    previous_value: Sequence[Decimal]
    previous_year_consumption: Sequence[Decimal]
    raw: Sequence[list[str]]
    decimals: Sequence[int]
    location_hint: Sequence[str]
    email: Sequence[str]
    # field name → (column of ``raw``, how) when the field's values follow from that raw
    # column in the whole chunk, so that a writer may derive them there instead of passing
    # them again. How: "text" (the cells themselves, nothing was stripped), "int" and
    # "number" (the cells are the canonical decimal text of the values), "dmy" (every cell
    # is DD.MM.YYYY of its date). Set by :meth:`Validator.feed_block`.
    from_raw: dict[str, tuple[int, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.line)

    @classmethod
    def from_rows(cls, rows: Sequence[MeterRow]) -> RowBlock:
        columns = [[getattr(row, name) for row in rows] for name in _ROW_FIELDS]
        return cls(*columns)  # type: ignore[arg-type]  # the MeterRow fields, in order

    def rows(self) -> Iterator[MeterRow]:
        """The rows one by one."""
        for values in zip(*(getattr(self, name) for name in _ROW_FIELDS), strict=True):
            yield MeterRow(*values)


def _q(value: str) -> str:
    return f"„{shorten(value)}“"


def _ascii_digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def parse_date(value: str, date_format: str = "DD.MM.YYYY") -> datetime.date | None:
    """Parse DD.MM.YYYY, D.M.YYYY, ISO YYYY-MM-DD (and DD/MM/YYYY or MM/DD/YYYY when the
    profile says so); a time part " HH:MM[:SS]" is ignored. Returns None when invalid."""
    s = value.strip()
    if len(s) == 10 and s[2] == "." and s[5] == ".":
        d, m, y = s[0:2], s[3:5], s[6:10]
    else:
        if " " in s or "T" in s:
            s, _, time_part = s.replace("T", " ").partition(" ")
            if not _valid_time(time_part.strip()):
                return None
        if "." in s:
            parts = s.split(".")
            if len(parts) != 3:
                return None
            d, m, y = parts
        elif "-" in s:
            parts = s.split("-")
            if len(parts) != 3 or len(parts[0]) != 4:
                return None
            y, m, d = parts
        elif "/" in s and date_format in ("DD/MM/YYYY", "MM/DD/YYYY"):
            parts = s.split("/")
            if len(parts) != 3:
                return None
            d, m, y = parts if date_format == "DD/MM/YYYY" else (parts[1], parts[0], parts[2])
        else:
            return None
        if not (1 <= len(d) <= 2 and 1 <= len(m) <= 2):
            return None
    if len(y) != 4 or not (_ascii_digits(d) and _ascii_digits(m) and _ascii_digits(y)):
        return None
    year = int(y)
    if year < 1900:
        return None
    try:
        return datetime.date(year, int(m), int(d))
    except ValueError:
        return None


def _valid_time(s: str) -> bool:
    parts = s.split(":")
    return 2 <= len(parts) <= 3 and all(len(p) == 2 and _ascii_digits(p) for p in parts)


def parse_number(value: str, decimal_comma: bool = True) -> tuple[Decimal, int] | str:
    """Parse a non-negative number; returns (value, decimals) or an error kind
    ("empty", "negative", "invalid").

    With ``decimal_comma`` the decimal separator is "," and "." may group thousands,
    but only in exact groups of three ("76.414" = 76414; "7.64" is invalid); without it
    the roles swap. Trailing zeros after the separator do not count as decimals.
    """
    s = value.strip()
    if not s:
        return "empty"
    if _ascii_digits(s):
        return Decimal(s), 0
    negative = s[0] == "-"
    if negative or s[0] == "+":
        s = s[1:].lstrip()
    dec, group = (",", ".") if decimal_comma else (".", ",")
    int_part, sep, frac = s.partition(dec)
    if group in int_part:
        groups = int_part.split(group)
        if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
            return "invalid"
        int_part = "".join(groups)
    if not _ascii_digits(int_part) or (sep and not _ascii_digits(frac)):
        return "invalid"
    if negative and (int(int_part) or (frac and int(frac))):
        return "negative"
    frac = frac.rstrip("0")
    return (Decimal(f"{int_part}.{frac}") if frac else Decimal(int_part)), len(frac)


class Validator:
    """Validate rows one by one (:meth:`feed`) and across rows (:meth:`finish`).

    Cross-row rules checked while feeding (first occurrence wins, even if that row has
    other errors): meter number (+ register) unique within the file; all rows of one
    object number agree on customer number, owner and address; a customer number
    belongs to one object number; the rows of one meter agree on object, kind, digits.
    """

    def __init__(
        self,
        profile: Profile,
        header: list[str],
        *,
        today: datetime.date,
        decimals_by_kind: Mapping[str, int] | None = None,
        max_cell_chars: int = DEFAULT_MAX_CELL_CHARS,
    ) -> None:
        self.profile = profile
        self.header = list(header)
        self.today = today
        self.decimal_comma = profile.decimal_comma
        self.date_format = profile.date_format
        self.decimals_by_kind = dict(
            decimals_by_kind if decimals_by_kind is not None else profile.decimals_by_kind
        )
        self.max_cell_chars = max_cell_chars
        self.width = len(header)
        self.index: dict[str, int] = resolve_columns(profile, header)
        self.label: dict[str, str] = {name: header[i] for name, i in self.index.items()}
        self.rows = 0
        self._meters: dict[str, int] = {}
        self._meter_info: dict[str, tuple[int, str]] = {}
        self._objects: dict[str, tuple[int, str]] = {}
        self._customers: dict[str, tuple[int, str]] = {}
        self._kind_cache: dict[str, str | None] = {}
        self._date_cache: dict[str, datetime.date | None] = {}
        # text fields in _TEXT_FIELDS order; -1 (unmapped) picks the "" appended to a row
        self._text_idx = [self.index.get(f, -1) for f in _TEXT_FIELDS]
        self._text_checks = [
            (k, f, FIELDS_BY_NAME[f].max_length, FIELDS_BY_NAME[f].required)
            for k, f in enumerate(_TEXT_FIELDS)
            if f in self.index
        ]
        self._i_kind = self.index.get("meter_kind", -1)
        self._i_register = self.index.get("register_code", -1)
        self._i_digits = self.index.get("digits", -1)
        self._i_decimals = self.index.get("decimals", -1)
        self._i_date = self.index["previous_date"]

    # -- helpers -----------------------------------------------------------------
    def _err(self, errors: list[RowError], line: int, name: str, value: str, message: str) -> None:
        errors.append(
            RowError(line, self.label.get(name, FIELDS_BY_NAME[name].label), value, message)
        )

    def _number(
        self, errors: list[RowError], line: int, name: str, cells: list[str], decimals: int
    ) -> Decimal | None:
        raw = cells[self.index[name]]
        if raw.isdigit() and raw.isascii():
            return Decimal(raw)
        parsed = parse_number(raw, self.decimal_comma)
        if isinstance(parsed, str):
            if parsed == "empty":
                self._err(errors, line, name, raw, "Pflichtangabe fehlt.")
            elif parsed == "negative":
                self._err(errors, line, name, raw, f"{_q(raw)} darf nicht negativ sein.")
            else:
                self._err(errors, line, name, raw, f"{_q(raw)} ist keine gültige Zahl.")
            return None
        value, places = parsed
        if places > decimals:
            if decimals == 0:
                msg = f"{_q(raw)} ist keine ganze Zahl; dieser Zähler hat keine Nachkommastellen."
            else:
                msg = f"{_q(raw)} hat mehr als {decimals} Nachkommastellen."
            self._err(errors, line, name, raw, msg)
            return None
        return value

    # -- public --------------------------------------------------------------------
    def feed(self, line: int, cells: list[str]) -> MeterRow | list[RowError]:
        """Validate one row; returns the :class:`MeterRow` or its errors."""
        self.rows += 1
        errors: list[RowError] = []
        if len(cells) != self.width:
            return [
                RowError(
                    line,
                    "",
                    "",
                    f"Die Zeile hat {de_int(len(cells))} statt {de_int(self.width)} Spalten.",
                )
            ]
        if len("".join(cells)) > self.max_cell_chars and max(map(len, cells)) > self.max_cell_chars:
            for i, cell in enumerate(cells):
                if len(cell) > self.max_cell_chars:
                    errors.append(
                        RowError(
                            line,
                            self.header[i],
                            cell,
                            f"{_q(cell)} ist zu lang ({de_int(len(cell))} Zeichen, höchstens "
                            f"{de_int(self.max_cell_chars)}).",
                        )
                    )
        index = self.index
        padded = [*cells, ""]
        t = [padded[i].strip() for i in self._text_idx]
        for k, name, max_length, required in self._text_checks:
            value = t[k]
            if not value:
                if required:
                    self._err(errors, line, name, cells[index[name]], "Pflichtangabe fehlt.")
            elif len(value) > max_length:
                self._err(
                    errors,
                    line,
                    name,
                    cells[index[name]],
                    f"{_q(value)} ist zu lang ({de_int(len(value))} Zeichen, höchstens "
                    f"{de_int(max_length)}).",
                )
        email = t[_EMAIL]
        if email and ("@" not in email or " " in email or email.count("@") != 1):
            self._err(
                errors, line, "email", email, f"{_q(email)} ist keine gültige E-Mail-Adresse."
            )

        kind: str | None = "water_main"
        if self._i_kind >= 0:
            raw_kind = cells[self._i_kind]
            kind_cache = self._kind_cache
            if raw_kind in kind_cache:
                kind = kind_cache[raw_kind]
            else:
                kind = parse_meter_kind(raw_kind)
                if len(kind_cache) < _CACHE_SIZE:
                    kind_cache[raw_kind] = kind
            if kind is None:
                self._err(
                    errors,
                    line,
                    "meter_kind",
                    raw_kind,
                    f"{_q(raw_kind)} ist keine bekannte Zählerart (erlaubt: {_KINDS_TEXT}).",
                )
        register = ""
        if self._i_register >= 0:
            raw_reg = cells[self._i_register]
            reg = parse_register_code(raw_reg)
            if reg is None:
                self._err(
                    errors,
                    line,
                    "register_code",
                    raw_reg,
                    f"{_q(raw_reg)} ist kein gültiges Zählwerk (erlaubt: HT, NT oder leer).",
                )
            else:
                register = reg
        digits: int | None = DEFAULT_DIGITS
        if self._i_digits >= 0:
            raw_digits = cells[self._i_digits].strip()
            if raw_digits:
                if raw_digits in _DIGITS:
                    digits = _DIGITS[raw_digits]
                else:
                    digits = None
                    self._err(
                        errors,
                        line,
                        "digits",
                        raw_digits,
                        f"{_q(raw_digits)} ist keine gültige Stellenzahl "
                        f"({MIN_DIGITS} bis {MAX_DIGITS}).",
                    )
        decimals = self.decimals_by_kind.get(kind or "", 0)
        if self._i_decimals >= 0:
            raw_dec = cells[self._i_decimals].strip()
            if raw_dec:
                if _ascii_digits(raw_dec) and int(raw_dec) <= MAX_DECIMALS:
                    decimals = int(raw_dec)
                else:
                    self._err(
                        errors,
                        line,
                        "decimals",
                        raw_dec,
                        f"{_q(raw_dec)} ist keine gültige Zahl von Nachkommastellen "
                        f"(0 bis {MAX_DECIMALS}).",
                    )

        raw_date = cells[self._i_date]
        previous_date: datetime.date | None = None
        if not raw_date or raw_date.isspace():
            self._err(errors, line, "previous_date", raw_date, "Pflichtangabe fehlt.")
        else:
            date_cache = self._date_cache
            if raw_date in date_cache:
                previous_date = date_cache[raw_date]
            else:
                previous_date = parse_date(raw_date, self.date_format)
                if len(date_cache) < _CACHE_SIZE:
                    date_cache[raw_date] = previous_date
            if previous_date is None:
                self._err(
                    errors,
                    line,
                    "previous_date",
                    raw_date,
                    f"{_q(raw_date)} ist kein gültiges Datum.",
                )
            elif previous_date > self.today:
                self._err(
                    errors, line, "previous_date", raw_date, f"{_q(raw_date)} liegt in der Zukunft."
                )
                previous_date = None

        previous_value = self._number(errors, line, "previous_value", cells, decimals)
        if previous_value is not None and digits is not None and previous_value >= _POW10[digits]:
            raw_value = cells[index["previous_value"]]
            self._err(
                errors,
                line,
                "previous_value",
                raw_value,
                f"{_q(raw_value)} passt nicht zu einem Zähler mit {digits} Stellen.",
            )
            previous_value = None
        consumption = self._number(errors, line, "previous_year_consumption", cells, decimals)

        self._cross_checks(errors, line, t, kind, digits, register)

        if errors:
            return errors
        assert previous_date is not None
        assert previous_value is not None
        assert consumption is not None
        assert kind is not None
        assert digits is not None
        return MeterRow(
            line,
            t[0],  # object_number
            t[1],  # customer_number
            t[2],  # owner_last_name
            t[3],  # owner_first_name
            t[4],  # street
            t[5],  # house_number
            t[6],  # postal_code
            t[7],  # city
            t[8],  # meter_number
            kind,
            digits,
            register,
            previous_date,
            previous_value,
            consumption,
            cells,
            decimals,
            t[9],  # location_hint
            email,
        )

    def feed_block(self, lines: Sequence[int], rows: Sequence[list[str]]) -> RowBlock | None:
        """Validate a chunk of rows at once, column by column.

        Returns the chunk's :class:`RowBlock` when every row is valid, exactly what
        :meth:`feed` would return row by row. Returns ``None`` — and changes no state —
        as soon as any row might have an error: the caller then feeds that chunk's rows
        one by one, which finds and words every error.
        """
        n = len(rows)
        if n == 0 or len(lines) != n:
            return None
        if set(map(len, rows)) != {self.width}:
            return None
        if max(map(len, map("".join, rows))) > self.max_cell_chars:
            return None  # no cell can be longer than its whole row
        cols = list(zip(*rows, strict=True))
        text: list[Sequence[str]] = []
        from_raw: dict[str, tuple[int, str]] = {}
        for k, name in enumerate(_TEXT_FIELDS):
            i = self._text_idx[k]
            if i < 0:
                text.append([""] * n)
                continue
            values = list(map(str.strip, cols[i]))
            spec = FIELDS_BY_NAME[name]
            if (spec.required and "" in values) or max(map(len, values)) > spec.max_length:
                return None
            text.append(values)
            # str.strip returns the very same object when there was nothing to strip
            if all(map(operator.is_, values, cols[i])):
                from_raw[name] = (i, "text")
        if "email" in self.index:
            for email in set(text[_EMAIL]):
                if email and ("@" not in email or " " in email or email.count("@") != 1):
                    return None
        kinds = self._column_kinds(cols, n)
        registers = self._column_registers(cols, n)
        digits = self._column_digits(cols, n, from_raw)
        if kinds is None or registers is None or digits is None:
            return None
        decimals = self._column_decimals(cols, kinds)
        dates = self._column_dates(cols, from_raw)
        if decimals is None or dates is None:
            return None
        previous = self._column_numbers(cols, "previous_value", decimals, from_raw)
        if previous is None or any(map(operator.ge, previous, map(_POW10.__getitem__, digits))):
            return None
        consumption = self._column_numbers(cols, "previous_year_consumption", decimals, from_raw)
        if consumption is None or not self._block_cross_checks(
            lines, text, kinds, digits, registers
        ):
            return None
        self.rows += n
        return RowBlock(
            lines,
            text[0],  # object_number
            text[1],  # customer_number
            text[2],  # owner_last_name
            text[3],  # owner_first_name
            text[4],  # street
            text[5],  # house_number
            text[6],  # postal_code
            text[7],  # city
            text[8],  # meter_number
            kinds,
            digits,
            registers,
            dates,
            previous,
            consumption,
            rows,
            decimals,
            text[9],  # location_hint
            text[_EMAIL],
            from_raw,
        )

    def _column_kinds(self, cols: list[tuple[str, ...]], n: int) -> list[str] | None:
        if self._i_kind < 0:
            return ["water_main"] * n
        column = cols[self._i_kind]
        cache = self._kind_cache
        known: dict[str, str] = {}
        for raw in set(column):
            kind = cache[raw] if raw in cache else parse_meter_kind(raw)
            if len(cache) < _CACHE_SIZE:
                cache[raw] = kind
            if kind is None:
                return None
            known[raw] = kind
        return list(map(known.__getitem__, column))

    def _column_registers(self, cols: list[tuple[str, ...]], n: int) -> list[str] | None:
        if self._i_register < 0:
            return [""] * n
        column = cols[self._i_register]
        known: dict[str, str] = {}
        for raw in set(column):
            register = parse_register_code(raw)
            if register is None:
                return None
            known[raw] = register
        return list(map(known.__getitem__, column))

    def _column_digits(
        self, cols: list[tuple[str, ...]], n: int, from_raw: dict[str, tuple[int, str]]
    ) -> list[int] | None:
        if self._i_digits < 0:
            return [DEFAULT_DIGITS] * n
        column = cols[self._i_digits]
        known: dict[str, int] = {}
        for raw in set(column):
            value = raw.strip()
            if not value:
                known[raw] = DEFAULT_DIGITS
            elif value in _DIGITS:
                known[raw] = _DIGITS[value]
            else:
                return None
        if all(str(value) == raw for raw, value in known.items()):
            from_raw["digits"] = (self._i_digits, "int")
        return list(map(known.__getitem__, column))

    def _column_decimals(self, cols: list[tuple[str, ...]], kinds: list[str]) -> list[int] | None:
        by_kind = list(map(self.decimals_by_kind.get, kinds, repeat(0)))
        if self._i_decimals < 0:
            return by_kind
        column = cols[self._i_decimals]
        known: dict[str, int | None] = {}
        for raw in set(column):
            value = raw.strip()
            if not value:
                known[raw] = None
            elif _ascii_digits(value) and int(value) <= MAX_DECIMALS:
                known[raw] = int(value)
            else:
                return None
        if all(value is None for value in known.values()):
            return by_kind
        return [
            default if given is None else given
            for given, default in zip(map(known.__getitem__, column), by_kind, strict=True)
        ]

    def _column_dates(
        self, cols: list[tuple[str, ...]], from_raw: dict[str, tuple[int, str]]
    ) -> list[datetime.date] | None:
        column = cols[self._i_date]
        cache = self._date_cache
        known: dict[str, datetime.date] = {}
        for raw in set(column):
            if not raw or raw.isspace():
                return None
            day = cache[raw] if raw in cache else parse_date(raw, self.date_format)
            if len(cache) < _CACHE_SIZE:
                cache[raw] = day
            if day is None or day > self.today:
                return None
            known[raw] = day
        if all(f"{raw[6:]}-{raw[3:5]}-{raw[:2]}" == day.isoformat() for raw, day in known.items()):
            from_raw["previous_date"] = (self._i_date, "dmy")
        return list(map(known.__getitem__, column))

    def _column_numbers(
        self,
        cols: list[tuple[str, ...]],
        name: str,
        decimals: list[int],
        from_raw: dict[str, tuple[int, str]],
    ) -> list[Decimal] | None:
        column = cols[self.index[name]]
        if "".join(column).isascii() and all(map(str.isdigit, column)):
            if not _LEADING_ZERO.search("\x1f" + "\x1f".join(column)):
                from_raw[name] = (self.index[name], "number")  # str(Decimal(cell)) == cell
            return list(map(Decimal, column))  # whole numbers fit any number of decimals
        values: list[Decimal] = []
        for raw, places_allowed in zip(column, decimals, strict=True):
            if raw.isdigit() and raw.isascii():
                values.append(Decimal(raw))
                continue
            parsed = parse_number(raw, self.decimal_comma)
            if isinstance(parsed, str) or parsed[1] > places_allowed:
                return None
            values.append(parsed[0])
        return values

    def _block_cross_checks(
        self,
        lines: Sequence[int],
        text: list[Sequence[str]],
        kinds: list[str],
        digits: list[int],
        registers: list[str],
    ) -> bool:
        """The cross-row rules of :meth:`_cross_checks` for a whole chunk; updates the
        state only when no row breaks them."""
        n = len(lines)
        objects, numbers, customers = text[0], text[8], text[1]
        keys: Sequence[str] = numbers
        if self._i_register >= 0:
            keys = [
                f"{number}\x1f{register}" if register else number
                for number, register in zip(numbers, registers, strict=True)
            ]
        if len(set(keys)) != n or not self._meters.keys().isdisjoint(keys):
            return False
        new_info: dict[str, tuple[int, str]] = {}
        if self._i_register >= 0:
            info = self._meter_info
            for number, obj, kind, count, line in zip(
                numbers, objects, kinds, digits, lines, strict=True
            ):
                signature = f"{obj}\x1f{kind}\x1f{count}"
                first = info.get(number) or new_info.get(number)
                if first is None:
                    new_info[number] = (line, signature)
                elif first[1] != signature:
                    return False
        joined = list(map("\x1f".join, zip(*text[1:8], text[_EMAIL], strict=True)))
        first_index = dict(zip(reversed(objects), range(n - 1, -1, -1), strict=True))
        reference = {obj: joined[i] for obj, i in first_index.items()}
        known = self._objects
        for obj in known.keys() & first_index.keys():
            reference[obj] = known[obj][1]
        if not all(map(operator.eq, joined, map(reference.__getitem__, objects))):
            return False
        new_objects = [obj for obj in first_index if obj not in known]
        new_customers = [customers[first_index[obj]] for obj in new_objects]
        given = [customer for customer in new_customers if customer]
        if len(set(given)) != len(given) or not self._customers.keys().isdisjoint(given):
            return False
        self._meters.update(zip(keys, lines, strict=True))
        self._meter_info.update(new_info)
        for obj, customer in zip(new_objects, new_customers, strict=True):
            i = first_index[obj]
            known[obj] = (lines[i], joined[i])
            if customer:
                self._customers[customer] = (lines[i], obj)
        return True

    def _cross_checks(
        self,
        errors: list[RowError],
        line: int,
        t: list[str],
        kind: str | None,
        digits: int | None,
        register: str,
    ) -> None:
        # Compact keys and joined strings keep ~100,000 entries small in memory.
        number = t[8]
        obj = t[0]
        if number:
            key = f"{number}\x1f{register}" if register else number
            first = self._meters.get(key)
            if first is not None:
                self._err(
                    errors,
                    line,
                    "meter_number",
                    number,
                    f"{_q(number)} kommt mehrfach vor (zuerst in Zeile {first}).",
                )
            else:
                self._meters[key] = line
                if self._i_register >= 0:
                    signature = f"{obj}\x1f{kind}\x1f{digits}"
                    info = self._meter_info.get(number)
                    if info is None:
                        self._meter_info[number] = (line, signature)
                    elif info[1] != signature:
                        self._err(
                            errors,
                            line,
                            "meter_number",
                            number,
                            f"{_q(number)} steht in Zeile {info[0]} mit anderem Objekt, anderer "
                            "Zählerart oder anderen Stellen.",
                        )
        if not obj:
            return
        values = "\x1f".join((t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[10]))
        known = self._objects.get(obj)
        if known is None:
            self._objects[obj] = (line, values)
            customer = t[1]
            if customer:
                other = self._customers.get(customer)
                if other is None:
                    self._customers[customer] = (line, obj)
                elif other[1] != obj:
                    self._err(
                        errors,
                        line,
                        "customer_number",
                        customer,
                        f"{_q(customer)} gehört schon zu Objekt {_q(other[1])} (Zeile {other[0]}).",
                    )
            return
        first_line, first_values = known
        if values != first_values:
            mine_values = values.split("\x1f")
            theirs_values = first_values.split("\x1f")
            if len(mine_values) != len(theirs_values):  # a value contained the separator
                mine_values = [t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[10]]
                theirs_values = [*theirs_values, *[""] * len(mine_values)][: len(mine_values)]
            for name, mine, theirs in zip(PROPERTY_FIELDS, mine_values, theirs_values, strict=True):
                if mine != theirs:
                    self._err(
                        errors,
                        line,
                        name,
                        mine,
                        f"{_q(mine)} weicht von Zeile {first_line} ab (dort {_q(theirs)}); "
                        f"alle Zeilen des Objekts {_q(obj)} müssen gleich sein.",
                    )

    def finish(self) -> list[RowError]:
        """Checks after the last row; currently: the file has at least one data row."""
        if self.rows == 0:
            return [RowError(0, "", "", "Die Datei enthält keine Zählerzeilen.")]
        return []


def resolve_columns(profile: Profile, header: list[str]) -> dict[str, int]:
    """Map field name → column index for ``header``; raises :class:`FormatError` when a
    required field is not mapped or a mapped column is missing from the file."""
    by_text: dict[str, int] = {}
    by_key: dict[str, int] = {}
    for i, h in enumerate(header):
        by_text.setdefault(h, i)
        by_text.setdefault(h.strip(), i)
        by_key.setdefault(normalise(h), i)
    index: dict[str, int] = {}
    missing_columns: list[str] = []
    for name, column in profile.columns.items():
        if name not in FIELDS_BY_NAME or not column:
            continue
        i = by_text.get(column, by_key.get(normalise(column), -1))
        if i < 0:
            if FIELDS_BY_NAME[name].required:
                missing_columns.append(column)
            continue
        index[name] = i
    unmapped = [
        FIELDS_BY_NAME[name].label
        for name in FIELDS_BY_NAME
        if FIELDS_BY_NAME[name].required and name not in profile.columns
    ]
    problems = []
    if missing_columns:
        problems.append(
            "Diese Spalten fehlen in der Datei: " + ", ".join(f"„{c}“" for c in missing_columns)
        )
    if unmapped:
        problems.append(
            "Diese Pflichtfelder sind keiner Spalte zugeordnet: "
            + ", ".join(f"„{c}“" for c in unmapped)
        )
    if problems:
        raise FormatError(". ".join(problems) + ".")
    return index
