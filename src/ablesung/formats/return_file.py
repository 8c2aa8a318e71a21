"""The billing return file: the imported rows with the campaign's readings filled in.

Pure functions over rows (no Django). :class:`ReturnFile` knows one file layout (the
import's :class:`FileLayout` and :class:`Profile`) and turns each line's raw import cells
plus its :class:`ExportValue` into the row the billing software re-imports:

* every column keeps its place and its imported cell, except the reading columns
  (``EXPORT_FIELDS``): reading date, value, source code (``S K T V W A M``), the comment on
  one line and, where the file has such columns, the value carried to the key date and the
  key date itself; a file without the four reading columns gets them appended;
* a line without a value keeps its imported cells: a campaign without readings gives the
  imported file back, byte for byte where the file was written the way :func:`write_csv`
  writes (minimal quoting, last line ended);
* the free-text columns (names, street, city, location, e-mail, comment) are neutralised so
  that no spreadsheet runs them as a formula; identifiers (object, customer and meter
  numbers) and columns the profile does not know are never changed, because the billing
  software matches its rows by them;
* characters the file's encoding cannot hold (a citizen's emoji in a Windows-1252 file) are
  replaced predictably: a letter with an accent the encoding lacks by its base letter
  ("ő" → "o"), anything else by "?"; :attr:`ReturnFile.replaced_characters` counts them.

CSV files are written with :func:`write_csv` (the import's encoding, BOM, separator, quote
character and line end); XLSX files with XlsxWriter in constant-memory mode (the imported
sheet name, preamble and header; reading date and value as a real date and number).
"""

from __future__ import annotations

import dataclasses
import datetime
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

from ablesung.formats.fields import EXPORT_FIELDS, FIELDS_BY_NAME, normalise
from ablesung.formats.layout import CsvRowWriter, FileLayout
from ablesung.formats.profile import Profile
from ablesung.formats.xlsx_cells import write_text
from ablesung.lib.safe_csv import neutralise

#: import fields holding free text a person typed: neutralised in the return file
TEXT_FIELDS: tuple[str, ...] = (
    "owner_last_name",
    "owner_first_name",
    "street",
    "house_number",
    "city",
    "location_hint",
    "email",
)
SOURCE_CODES: frozenset[str] = frozenset("SKTVWAM")


@dataclass(frozen=True, slots=True)
class ExportValue:
    """What the return file says about one line: the value as read (or estimated)."""

    reading_date: datetime.date
    value: Decimal
    source_code: str
    comment: str = ""
    decimals: int = 0
    key_date_value: Decimal | None = None
    key_date: datetime.date | None = None

    def __post_init__(self) -> None:
        if self.source_code not in SOURCE_CODES:
            raise ValueError(f"unknown source code {self.source_code!r}")


def format_date(day: datetime.date, date_format: str) -> str:
    """``day`` in one of the profile's date formats (``DD.MM.YYYY``, ``YYYY-MM-DD``, …)."""
    return (
        date_format.replace("DD", f"{day.day:02d}")
        .replace("MM", f"{day.month:02d}")
        .replace("YYYY", f"{day.year:04d}")
    )


def format_value(value: Decimal, decimals: int, *, decimal_comma: bool) -> str:
    """The value with the register's decimals, no thousands separator ("76432", "12,345")."""
    text = f"{value.quantize(Decimal(1).scaleb(-decimals)):f}"
    return text.replace(".", ",") if decimal_comma else text


def one_line(text: str) -> str:
    """Line breaks and runs of blanks become one space."""
    return " ".join(text.split())


def export_columns(header: list[str], profile: Profile) -> dict[str, int]:
    """Field name → column index of the reading columns found in ``header``.

    The profile's own column name wins, then the label, then the synonyms (compared like
    the import compares: case, blanks, punctuation and umlaut spelling ignored). A column
    the import reads (``profile.columns``) is never taken.
    """
    keys = [normalise(h) for h in header]
    taken = {
        keys.index(normalise(column))
        for name, column in profile.columns.items()
        if name in FIELDS_BY_NAME and normalise(column) in keys
    }
    found: dict[str, int] = {}
    for spec in EXPORT_FIELDS:
        wanted = [profile.columns[spec.name]] if spec.name in profile.columns else []
        for candidate in (*wanted, spec.label, *spec.synonyms):
            key = normalise(candidate)
            index = next(
                (i for i, k in enumerate(keys) if k == key and i not in taken),
                None,
            )
            if index is not None:
                found[spec.name] = index
                taken.add(index)
                break
    return found


class ReturnFile:
    """Rows of one layout: call :meth:`row` per line, then :meth:`write` (or both at once
    through :meth:`write` with an iterable of ``(raw, value)`` pairs)."""

    def __init__(self, layout: FileLayout, profile: Profile) -> None:
        self.layout = layout
        self.profile = profile
        self.columns = export_columns(layout.header, profile)
        appended = [spec for spec in EXPORT_FIELDS if spec.always and spec.name not in self.columns]
        self.header = [*layout.header, *(spec.label for spec in appended)]
        for offset, spec in enumerate(appended):
            self.columns[spec.name] = len(layout.header) + offset
        keys = [normalise(h) for h in layout.header]
        self.text_columns = sorted(
            {
                keys.index(normalise(profile.columns[name]))
                for name in TEXT_FIELDS
                if name in profile.columns and normalise(profile.columns[name]) in keys
            }
        )
        self.encoding = (layout.encoding or "cp1252") if layout.kind == "csv" else "utf-8"
        self.replaced_characters = 0
        self.neutralised_cells = 0

    @property
    def width(self) -> int:
        return len(self.header)

    def row(self, raw: list[Any], value: ExportValue | None, *, typed: bool = False) -> list[Any]:
        """The line's cells: the raw import cells (padded to the header) with the reading
        columns filled. ``typed``: date and value as ``date`` and ``Decimal`` (for XLSX),
        else as text in the profile's formats."""
        cells: list[Any] = ["" if cell is None else str(cell) for cell in raw[: self.width]]
        if len(cells) < self.width:
            cells.extend([""] * (self.width - len(cells)))
        for index in self.text_columns:
            cells[index] = self._neutral(cells[index])
        if value is None:
            return cells
        columns = self.columns
        profile = self.profile
        cells[columns["new_date"]] = (
            value.reading_date if typed else format_date(value.reading_date, profile.date_format)
        )
        cells[columns["new_value"]] = (
            value.value
            if typed
            else format_value(value.value, value.decimals, decimal_comma=profile.decimal_comma)
        )
        cells[columns["source_code"]] = value.source_code
        cells[columns["comment"]] = self._neutral(self._encodable(one_line(value.comment)))
        if "key_date_value" in columns:
            carried = value.key_date_value
            if carried is None:
                cells[columns["key_date_value"]] = ""
            elif typed:
                cells[columns["key_date_value"]] = carried
            else:
                cells[columns["key_date_value"]] = format_value(
                    carried, value.decimals, decimal_comma=profile.decimal_comma
                )
        if "key_date" in columns and value.key_date is not None:
            cells[columns["key_date"]] = (
                value.key_date if typed else format_date(value.key_date, profile.date_format)
            )
        return cells

    def _neutral(self, text: str) -> str:
        safe = neutralise(text)
        if safe != text:
            self.neutralised_cells += 1
        return safe

    def _encodable(self, text: str) -> str:
        """``text`` with every character the file's encoding lacks replaced (and counted)."""
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError:
            pass
        else:
            return text
        out = []
        for char in text:
            try:
                char.encode(self.encoding)
            except UnicodeEncodeError:
                self.replaced_characters += 1
                base = "".join(
                    c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
                )
                try:
                    base.encode(self.encoding)
                except UnicodeEncodeError:
                    base = ""
                out.append(base if base.isalnum() else "?")
            else:
                out.append(char)
        return "".join(out)

    def open(self, path: Path) -> ReturnFileWriter:
        """A writer of this layout's rows into the new file ``path``."""
        return ReturnFileWriter(self, path)

    def write(self, lines: Iterable[tuple[list[Any], ExportValue | None]], path: Path) -> int:
        """Writes the header and one row per ``(raw cells, value)`` to the file ``path``;
        returns the row count."""
        with self.open(path) as writer:
            for raw, value in lines:
                writer.add(raw, value)
        return writer.rows

    @property
    def extension(self) -> str:
        return "xlsx" if self.layout.kind == "xlsx" else "csv"


class ReturnFileWriter:
    """Writes the rows of one :class:`ReturnFile` one at a time (a context manager)."""

    def __init__(self, return_file: ReturnFile, path: Path) -> None:
        self.return_file = return_file
        self.path = path
        self.rows = 0
        self._layout = dataclasses.replace(return_file.layout, header=return_file.header)
        self._file: BinaryIO | None = None
        self._csv: CsvRowWriter | None = None
        self._xlsx: XlsxRowWriter | None = None

    def __enter__(self) -> ReturnFileWriter:
        if self._layout.kind == "xlsx":
            self._xlsx = XlsxRowWriter(self._layout, self.path)
        else:
            self._file = self.path.open("wb")
            self._csv = CsvRowWriter(self._layout, self._file).__enter__()
        return self

    def add(self, raw: list[Any], value: ExportValue | None) -> None:
        self.rows += 1
        if self._csv is not None:
            self._csv.writerow(self.return_file.row(raw, value))
        elif self._xlsx is not None:
            self._xlsx.writerow(self.return_file.row(raw, value, typed=True))

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._csv is not None:
                self._csv.__exit__(*exc_info)
            if self._xlsx is not None:
                self._xlsx.close()
        finally:
            if self._file is not None:
                self._file.close()


class XlsxRowWriter:
    """Rows as an XLSX file in ``layout`` (sheet name, preamble, header): text as text (never
    a formula), dates and numbers as real dates and numbers; constant memory."""

    def __init__(self, layout: FileLayout, path: Path) -> None:
        self.workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.sheet = self.workbook.add_worksheet((layout.sheet or "Tabelle1")[:31])
        self.date_format = self.workbook.add_format({"num_format": "DD.MM.YYYY"})
        self.row = 0
        for cells in (*layout.preamble, layout.header):
            self.writerow(list(cells))

    def writerow(self, cells: list[Any]) -> None:
        sheet, row = self.sheet, self.row
        for column, cell in enumerate(cells):
            if isinstance(cell, datetime.date):
                sheet.write_datetime(row, column, cell, self.date_format)
            elif isinstance(cell, Decimal):
                sheet.write_number(row, column, float(cell))
            elif cell not in ("", None):
                write_text(sheet, row, column, str(cell))
        self.row += 1

    def close(self) -> None:
        self.workbook.close()
