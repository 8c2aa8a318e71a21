"""The Excel report "Ergebnisse der Ableseaktion", written with XlsxWriter.

:func:`write_report` writes three sheets: the register lines ("Zählerstände"), the
takeover statistics ("Übernahmestatistik", with a column chart of the sources) and the
release log ("Freigabeprotokoll"). The choices behind it:

* **Constant memory.** The workbook runs in XlsxWriter's ``constant_memory`` mode: each row
  goes to a temporary file as soon as the next row starts, strings are written inline (no
  shared-string table), and the lines are consumed from the iterable one by one and never
  collected. Memory therefore does not grow with the number of lines. The price: rows of a
  sheet must be written strictly in order, so column widths and the frozen header are set
  before the first row, and the autofilter (which only needs the row count) at the end.
  The temporary files live in a directory of their own that is removed even when the
  caller's generator fails; nothing is written to ``out`` in that case.
* **Statistics after the lines.** The caller's generator fills the
  :class:`~ablesung.exports.lines.TakeoverStatistics` while it yields the lines, so the
  statistics sheet is written only after the lines sheet is complete. The writer reads the
  statistics, it never changes them.
* **Text is text.** The workbook options ``strings_to_formulas``, ``strings_to_numbers`` and
  ``strings_to_urls`` are off and every text goes through ``write_string``: a name like
  ``=HYPERLINK(…)`` or a comment like ``@SUM(1)`` is an inline string cell, never a formula
  (SECURITY.md). Text keeps its exact value; characters XML 1.0 cannot hold (control
  characters other than tab and line feed, lone surrogates, U+FFFE/U+FFFF) are removed, CR
  and CRLF become a line feed, and text is cut to Excel's 32,767 characters per cell
  (counted in UTF-16 like Excel; a cut text ends with "…").
* **Rich-string look-alikes.** In constant memory mode XlsxWriter writes a string that
  starts with ``<r>`` and ends with ``</r>`` *unescaped* into the sheet XML (it takes it
  for a rich string it built itself). Such text could inject cells, formulas included, so
  it is written as a real rich string of plain fragments instead: the XML is escaped and
  the value stays the same.
* **Numbers and dates are real.** Readings, consumption and counts are number cells
  (``#,##0`` or ``#,##0.000`` after the register's decimals; the format codes are
  locale-neutral, Excel shows them with German separators), dates are date cells
  (``DD.MM.YYYY``), shares are fractions formatted as ``0.0%``. Times are shown in
  Europe/Berlin local time. Empty values are blank cells. Formats are created once per
  workbook and cached per number of decimals.
* **Header in row 1.** Organisation, campaign and key date are in the workbook properties
  and in the heading of the statistics sheet, so that each table sheet starts with its
  header row: frozen, filterable and easy to read back.
"""

from __future__ import annotations

import datetime
import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import xlsxwriter

from ablesung.exports.lines import (
    MISSING,
    MISSING_LABEL,
    SOURCE_LABELS,
    ReleaseLogLine,
    ReportLine,
    TakeoverStatistics,
)
from ablesung.formats.xlsx_cells import clean_text, write_text

__all__ = [
    "LINES_SHEET",
    "RELEASE_LOG_HEADERS",
    "RELEASE_LOG_SHEET",
    "REPORT_HEADERS",
    "STATISTICS_SHEET",
    "write_report",
]

BERLIN = ZoneInfo("Europe/Berlin")

LINES_SHEET = "Zählerstände"
STATISTICS_SHEET = "Übernahmestatistik"
RELEASE_LOG_SHEET = "Freigabeprotokoll"

#: Excel's limit of characters in one cell (UTF-16 code units)
#: decimals beyond this are not shown (a register has at most a few)
MAX_DECIMALS = 10

DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"
SHARE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"

YES = "ja"
NO = "nein"
NO_ENTRIES = "Keine Einträge."
UNKNOWN_SOURCE_LABEL = "unbekannte Quelle"
TOTAL_LABEL = "Summe"

#: (header, column width) of the lines sheet, in column order
REPORT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("Objektnummer", 14),
    ("Eigentümer:in", 28),
    ("Anschrift", 32),
    ("Zählernummer", 16),
    ("Zählwerk", 9),
    ("Zählerart", 14),
    ("Zählerstand alt", 15),
    ("Ablesedatum alt", 14),
    ("Zählerstand neu", 15),
    ("Ablesedatum neu", 14),
    ("Zählerstand zum Stichtag", 15),
    ("Ableseart", 10),
    ("Quelle", 24),
    ("Verbrauch", 12),
    ("Erwarteter Verbrauch", 12),
    ("Plausibilität", 14),
    ("Prüfhinweise", 40),
    ("Bestätigungsgrund", 30),
    ("Bearbeitungsstand", 20),
    ("Bemerkung", 40),
    ("Foto", 7),
    ("Kontrollablesung", 9),
)
REPORT_HEADERS: tuple[str, ...] = tuple(header for header, _ in REPORT_COLUMNS)

RELEASE_LOG_COLUMNS: tuple[tuple[str, float], ...] = (
    ("Freigabelauf am", 17),
    ("von", 24),
    ("Umfang", 24),
    ("Objektnummer", 14),
    ("Zählernummer", 16),
    ("Zählwerk", 9),
    ("Zählerstand", 15),
    ("Ablesedatum", 12),
    ("Plausibilität", 14),
    ("Freigegeben", 11),
    ("Grund", 40),
)
RELEASE_LOG_HEADERS: tuple[str, ...] = tuple(header for header, _ in RELEASE_LOG_COLUMNS)

# -- values ------------------------------------------------------------------------------


def _number(value: Decimal | float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _decimals_of(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _berlin(moment: datetime.datetime) -> datetime.datetime:
    """An aware moment as naive Europe/Berlin wall time (Excel has no time zones)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Der Zeitpunkt muss eine Zeitzone haben (aware datetime).")
    return moment.astimezone(BERLIN).replace(tzinfo=None)


def _yes_no(flag: bool) -> str:
    return YES if flag else NO


def _number_format(decimals: int) -> str:
    decimals = max(0, min(decimals, MAX_DECIMALS))
    return COUNT_FORMAT + ("." + "0" * decimals if decimals else "")


# -- the writer --------------------------------------------------------------------------


@dataclass(slots=True)
class _Formats:
    """The workbook's cell formats, created once (XlsxWriter wants them shared)."""

    workbook: Any
    header: Any
    title: Any
    section: Any
    bold: Any
    bold_count: Any
    date: Any
    datetime: Any
    count: Any
    share: Any
    bold_share: Any
    _numbers: dict[int, Any]

    @classmethod
    def create(cls, workbook: Any) -> _Formats:
        add = workbook.add_format
        return cls(
            workbook=workbook,
            header=add({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}),
            title=add({"bold": True, "font_size": 14}),
            section=add({"bold": True, "font_size": 12}),
            bold=add({"bold": True}),
            bold_count=add({"bold": True, "num_format": COUNT_FORMAT}),
            date=add({"num_format": DATE_FORMAT, "align": "left"}),
            datetime=add({"num_format": DATETIME_FORMAT, "align": "left"}),
            count=add({"num_format": COUNT_FORMAT}),
            share=add({"num_format": SHARE_FORMAT}),
            bold_share=add({"bold": True, "num_format": SHARE_FORMAT}),
            _numbers={},
        )

    def number(self, decimals: int) -> Any:
        """The format for a value with ``decimals`` decimals (cached per decimals)."""
        decimals = max(0, min(decimals, MAX_DECIMALS))
        found = self._numbers.get(decimals)
        if found is None:
            found = self.workbook.add_format({"num_format": _number_format(decimals)})
            self._numbers[decimals] = found
        return found


class _Row:
    """Writes the cells of one row; empty values are left blank."""

    __slots__ = ("col", "row", "sheet")

    def __init__(self, sheet: Any, row: int) -> None:
        self.sheet = sheet
        self.row = row
        self.col = 0

    def skip(self, columns: int = 1) -> None:
        self.col += columns

    def text(self, value: str | None, cell_format: Any = None) -> None:
        if value:
            write_text(self.sheet, self.row, self.col, value, cell_format)
        self.col += 1

    def number(self, value: Decimal | float | None, cell_format: Any) -> None:
        number = _number(value)
        if number is not None:
            self.sheet.write_number(self.row, self.col, number, cell_format)
        self.col += 1

    def date(self, value: datetime.date | None, cell_format: Any) -> None:
        if value is not None:
            self.sheet.write_datetime(self.row, self.col, value, cell_format)
        self.col += 1


def _setup_table(sheet: Any, columns: tuple[tuple[str, float], ...], formats: _Formats) -> None:
    """Column widths, header row and frozen header: all before the first data row."""
    for col, (_, width) in enumerate(columns):
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    sheet.set_row(0, 30)
    for col, (header, _) in enumerate(columns):
        sheet.write_string(0, col, header, formats.header)


def _write_line(sheet: Any, row: int, line: ReportLine, formats: _Formats) -> None:
    value_format = formats.number(line.decimals)
    cells = _Row(sheet, row)
    cells.text(line.object_number)
    cells.text(line.owner)
    cells.text(line.address)
    cells.text(line.meter_number)
    cells.text(line.register_code)
    cells.text(line.kind)
    cells.number(line.previous_value, value_format)
    cells.date(line.previous_date, formats.date)
    cells.number(line.new_value, value_format)
    cells.date(line.new_date, formats.date)
    cells.number(line.key_date_value, value_format)
    cells.text("" if line.source_code == MISSING else line.source_code)
    cells.text(line.source_label)
    cells.number(line.consumption, value_format)
    cells.number(line.expected, value_format)
    cells.text(line.outcome)
    cells.text(line.messages)
    cells.text(line.confirmation)
    cells.text(line.state)
    cells.text(line.comment)
    cells.text(_yes_no(line.has_photo))
    cells.text(_yes_no(line.control_requested))


def _write_lines_sheet(sheet: Any, lines: Iterable[ReportLine], formats: _Formats) -> None:
    _setup_table(sheet, REPORT_COLUMNS, formats)
    row = 0
    for line in lines:
        row += 1
        _write_line(sheet, row, line, formats)
    sheet.autofilter(0, 0, row, len(REPORT_COLUMNS) - 1)


def _write_release_log_sheet(
    sheet: Any, release_log: Iterable[ReleaseLogLine], formats: _Formats
) -> None:
    _setup_table(sheet, RELEASE_LOG_COLUMNS, formats)
    row = 0
    for entry in release_log:
        row += 1
        cells = _Row(sheet, row)
        cells.date(_berlin(entry.run_at), formats.datetime)
        cells.text(entry.run_by)
        cells.text(entry.scope)
        cells.text(entry.object_number)
        cells.text(entry.meter_number)
        cells.text(entry.register_code)
        cells.number(entry.value, formats.number(_decimals_of(entry.value)))
        cells.date(entry.reading_date, formats.date)
        cells.text(entry.outcome)
        cells.text(_yes_no(entry.released))
        cells.text(entry.reason)
    if row == 0:
        sheet.write_string(1, 0, NO_ENTRIES)
    sheet.autofilter(0, 0, row, len(RELEASE_LOG_COLUMNS) - 1)


# -- statistics --------------------------------------------------------------------------


def _source_codes(statistics: TakeoverStatistics) -> list[str]:
    """All known codes in their order, "missing", then any unknown code that occurred."""
    known = [*SOURCE_LABELS, MISSING]
    unknown = sorted(code for code in statistics.by_source if code not in known)
    return known + unknown


def _source_label(code: str) -> str:
    if code == MISSING:
        return MISSING_LABEL
    return SOURCE_LABELS.get(code, UNKNOWN_SOURCE_LABEL)


def _share(statistics: TakeoverStatistics, count: int) -> float:
    return float(statistics.share(count))


class _StatisticsWriter:
    """Writes the statistics sheet top to bottom (constant memory: rows in order)."""

    def __init__(self, sheet: Any, formats: _Formats, statistics: TakeoverStatistics) -> None:
        self.sheet = sheet
        self.formats = formats
        self.statistics = statistics
        self.row = 0

    def next_row(self) -> _Row:
        cells = _Row(self.sheet, self.row)
        self.row += 1
        return cells

    def blank(self) -> None:
        self.row += 1

    def section(self, title: str, headers: Iterable[str]) -> None:
        self.blank()
        self.next_row().text(title, self.formats.section)
        cells = self.next_row()
        for header in headers:
            cells.text(header, self.formats.header)

    def count_row(self, label: str, count: int, *, code: str = "", share: bool = True) -> None:
        cells = self.next_row()
        cells.text(label)
        cells.text(code)
        cells.number(count, self.formats.count)
        if share:
            cells.number(_share(self.statistics, count), self.formats.share)

    def total_row(self, count: int) -> None:
        cells = self.next_row()
        cells.text(TOTAL_LABEL, self.formats.bold)
        cells.skip()
        cells.number(count, self.formats.bold_count)
        cells.number(_share(self.statistics, count), self.formats.bold_share)


def _write_statistics_sheet(
    sheet: Any,
    formats: _Formats,
    statistics: TakeoverStatistics,
    *,
    organisation: str,
    campaign: str,
    key_date: datetime.date,
    created_at: datetime.datetime,
    workbook: Any,
) -> None:
    sheet.set_column(0, 0, 44)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 3, 11)
    sheet.set_column(4, 12, 9)
    out = _StatisticsWriter(sheet, formats, statistics)

    out.next_row().text("Übernahmestatistik", formats.title)
    for label, value in (("Organisation", organisation), ("Ableseaktion", campaign)):
        cells = out.next_row()
        cells.text(label, formats.bold)
        cells.text(value)
    cells = out.next_row()
    cells.text("Stichtag", formats.bold)
    cells.date(key_date, formats.date)
    cells = out.next_row()
    cells.text("Erstellt am", formats.bold)
    cells.date(_berlin(created_at), formats.datetime)

    # by source, with the chart beside it
    out.section("Zählerstände nach Quelle", ("Quelle", "Code", "Anzahl", "Anteil"))
    first = out.row
    for code in _source_codes(statistics):
        out.count_row(_source_label(code), statistics.by_source[code], code=code)
    last = out.row - 1
    out.total_row(statistics.lines)
    _insert_source_chart(workbook, sheet, first, last)

    # key figures
    out.section("Kennzahlen", ("Kennzahl", "", "Anzahl", "Anteil"))
    out.count_row("Zeilen insgesamt", statistics.lines)
    out.count_row("Abgelesen (ohne Schätzungen)", statistics.read)
    out.count_row("davon online (Bürger:innen)", statistics.online)
    out.count_row("Geschätzt", statistics.estimated)
    out.count_row("Ohne Zählerstand (fehlt)", statistics.missing)
    out.count_row("Unplausibel, manuell freigegeben", statistics.implausible_released)
    out.count_row(
        "Nicht freigegeben, nicht übernommen", statistics.unreleased_left_out, share=False
    )
    out.count_row("Kontrollablesung angefordert", statistics.control_requested)
    out.count_row(
        "Ersetzte Zeichen (Zeichensatz der Rückgabedatei)",
        statistics.replaced_characters,
        share=False,
    )
    out.count_row(
        "Als Text geschützte Zellen (Formelzeichen)", statistics.neutralised_cells, share=False
    )

    # by state
    out.section("Nach Bearbeitungsstand", ("Bearbeitungsstand", "", "Anzahl", "Anteil"))
    for state, count in sorted(statistics.by_state.items(), key=lambda item: (-item[1], item[0])):
        out.count_row(state, count)
    out.total_row(sum(statistics.by_state.values()))

    # per meter kind and source
    codes = _source_codes(statistics)
    headers = ["Zählerart", *(MISSING_LABEL if code == MISSING else code for code in codes)]
    out.section("Nach Zählerart und Quelle", [*headers, TOTAL_LABEL])
    for kind in sorted(statistics.by_kind):
        counts = statistics.by_kind[kind]
        cells = out.next_row()
        cells.text(kind)
        for code in codes:
            cells.number(counts[code], formats.count)
        cells.number(sum(counts.values()), formats.bold_count)
    cells = out.next_row()
    cells.text(TOTAL_LABEL, formats.bold)
    for code in codes:
        total = sum(counts[code] for counts in statistics.by_kind.values())
        cells.number(total, formats.bold_count)
    cells.number(sum(sum(c.values()) for c in statistics.by_kind.values()), formats.bold_count)
    out.blank()
    out.next_row().text(
        "Codes: " + ", ".join(f"{code} = {label}" for code, label in SOURCE_LABELS.items())
    )


def _insert_source_chart(workbook: Any, sheet: Any, first: int, last: int) -> None:
    chart = workbook.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "Anzahl",
            "categories": [STATISTICS_SHEET, first, 0, last, 0],
            "values": [STATISTICS_SHEET, first, 2, last, 2],
            "data_labels": {"value": True},
            "gap": 60,
        }
    )
    chart.set_title({"name": "Zählerstände nach Quelle"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"num_format": COUNT_FORMAT, "major_gridlines": {"visible": True}})
    chart.set_size({"width": 560, "height": 320})
    sheet.insert_chart(first - 2, 5, chart, {"x_offset": 10, "y_offset": 0})


# -- entry point -------------------------------------------------------------------------


def write_report(
    out: str | Path | BinaryIO,
    *,
    organisation: str,
    campaign: str,
    key_date: datetime.date,
    created_at: datetime.datetime,
    lines: Iterable[ReportLine],
    statistics: TakeoverStatistics,
    release_log: Iterable[ReleaseLogLine],
) -> None:
    """Writes the report "Ergebnisse der Ableseaktion" as XLSX to ``out``.

    ``out`` is a path (preferred) or a binary file object opened for writing. ``lines`` is
    consumed once, in order, and never collected; ``statistics`` is read only after the
    last line, so the caller's generator may fill it while it yields. ``created_at`` and
    the release log's times must be aware; they are shown in Europe/Berlin local time.
    If ``lines`` or ``release_log`` raises, the exception propagates and nothing is
    written to ``out``.
    """
    created_local = _berlin(created_at)  # fails early on a naive datetime
    target: str | BinaryIO = str(out) if isinstance(out, (str, Path)) else out
    with tempfile.TemporaryDirectory(prefix="ablesung-report-") as tmpdir:
        workbook = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "tmpdir": tmpdir,
            },
        )
        workbook.set_properties(
            {
                "title": clean_text(f"Ergebnisse der Ableseaktion {campaign}"),
                "subject": clean_text(f"{campaign}, Stichtag {key_date:%d.%m.%Y}"),
                "company": clean_text(organisation),
                "author": "Ablesung",
                "created": created_at.astimezone(datetime.UTC).replace(tzinfo=None),
                "comments": f"Erstellt am {created_local:%d.%m.%Y %H:%M} (Europe/Berlin)",
            }
        )
        formats = _Formats.create(workbook)
        lines_sheet = workbook.add_worksheet(LINES_SHEET)
        statistics_sheet = workbook.add_worksheet(STATISTICS_SHEET)
        release_sheet = workbook.add_worksheet(RELEASE_LOG_SHEET)

        _write_lines_sheet(lines_sheet, lines, formats)
        _write_statistics_sheet(
            statistics_sheet,
            formats,
            statistics,
            organisation=organisation,
            campaign=campaign,
            key_date=key_date,
            created_at=created_at,
            workbook=workbook,
        )
        _write_release_log_sheet(release_sheet, release_log, formats)
        workbook.close()
