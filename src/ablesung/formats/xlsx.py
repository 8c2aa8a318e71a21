"""XLSX helpers: typed cell → string as a CSV would show it, sheet lookup, readers."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

from defusedxml.ElementTree import fromstring as defused_fromstring

from ablesung.formats.errors import FormatError

# What a raw XLSX cell becomes in JSON: scalars as they are, dates tagged.
JsonCell = str | int | float | bool | None | dict[str, str]

Source = Path | IO[bytes]


def cell_to_str(value: object, *, decimal_comma: bool = True) -> str:
    """Show a typed XLSX cell the way the CSV export of the same table would.

    Dates as DD.MM.YYYY (with " HH:MM[:SS]" when there is a time), whole numbers
    without ".0", other numbers with the profile's decimal separator, booleans as
    WAHR/FALSCH, empty cells as "".
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[return-value]
    if cls is float:
        number: float = value  # type: ignore[assignment]
        if number.is_integer() and -1e15 < number < 1e15:
            return str(int(number))
        if number != number or number in (float("inf"), float("-inf")):
            return str(number)
        text = format(Decimal(repr(number)), "f")
        return text.replace(".", ",") if decimal_comma else text
    if cls is datetime.date:
        day: datetime.date = value  # type: ignore[assignment]
        return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "WAHR" if value else "FALSCH"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        date_text = f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return date_text
        if value.second or value.microsecond:
            return f"{date_text} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        return f"{date_text} {value.hour:02d}:{value.minute:02d}"
    if isinstance(value, datetime.date):
        return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S")
    return str(value)


def cell_to_json(value: object) -> JsonCell:
    """JSON-safe raw value of a typed cell, for a lossless XLSX round trip."""
    if value is None or isinstance(value, str | bool | int):
        return value  # type: ignore[return-value]
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"time": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"seconds": str(value.total_seconds())}
    return str(value)


def cell_from_json(value: JsonCell) -> object:
    """Inverse of :func:`cell_to_json` (for the return-file writer)."""
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return datetime.date.fromisoformat(value["date"])
        if "time" in value:
            return datetime.time.fromisoformat(value["time"])
        if "seconds" in value:
            return datetime.timedelta(seconds=float(value["seconds"]))
    return value


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Map sheet name → ZIP part name, from workbook.xml and its relationships."""
    workbook = defused_fromstring(zf.read("xl/workbook.xml"), forbid_dtd=True)
    try:
        rels = defused_fromstring(zf.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
    except KeyError:
        return {}
    targets: dict[str, str] = {}
    for rel in rels:
        rid = rel.get("Id")
        target = rel.get("Target")
        if rid and target:
            if target.startswith("/"):
                targets[rid] = target.lstrip("/")
            else:
                targets[rid] = str(PurePosixPath("xl") / target)
    parts: dict[str, str] = {}
    for element in workbook.iter():
        if element.tag.endswith("}sheet") or element.tag == "sheet":
            name = element.get("name")
            rid = element.get(f"{{{_REL_NS}}}id")
            if name and rid and rid in targets:
                parts[name] = targets[rid]
    return parts


def estimate_cells(source: Source, sheet: str) -> int:
    """Cells of ``sheet`` by its ``<dimension>``, else by its unpacked size (≥ 25 B/cell)."""
    with zipfile.ZipFile(_rewind(source)) as zf:
        part = sheet_parts(zf).get(sheet)
        if part is None:
            return 0
        try:
            info = zf.getinfo(part)
        except KeyError:
            return 0
        with zf.open(info) as entry:
            head = entry.read(64 * 1024)
        match = _DIMENSION.search(head)
        if match and match.group(3):
            rows = int(match.group(4)) - int(match.group(2)) + 1
            cols = _col_number(match.group(3)) - _col_number(match.group(1)) + 1
            return max(rows, 0) * max(cols, 0)
        return info.file_size // 25


def _rewind(source: Source) -> Source:
    if not isinstance(source, Path):
        source.seek(0)
    return source


def open_openpyxl(source: Source) -> Any:
    """Open a workbook read-only with openpyxl (streams rows, constant memory)."""
    import openpyxl

    return openpyxl.load_workbook(_rewind(source), read_only=True, data_only=True)


def iter_openpyxl(source: Source, sheet: str) -> Iterator[tuple[int, list[object]]]:
    """Yield (row number, typed cells) streaming with openpyxl read-only."""
    wb = open_openpyxl(source)
    try:
        ws = wb[sheet]
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        wb.close()


def iter_calamine(source: Source, sheet: str) -> Iterator[tuple[int, list[object]]]:
    """Yield (row number, typed cells) with python-calamine (whole sheet in memory)."""
    from python_calamine import CalamineWorkbook

    src = _rewind(source)
    wb = (
        CalamineWorkbook.from_path(str(src))
        if isinstance(src, Path)
        else CalamineWorkbook.from_filelike(src)
    )
    try:
        ws = wb.get_sheet_by_name(sheet)
        start = ws.start
        row0, col0 = (start[0], start[1]) if start else (0, 0)
        pad: list[object] = [None] * col0
        for offset, row in enumerate(ws.iter_rows()):
            yield row0 + offset + 1, pad + list(row) if col0 else list(row)
    finally:
        wb.close()


def sheet_names(source: Source) -> list[str]:
    """Names of the workbook's sheets in order."""
    with zipfile.ZipFile(_rewind(source)) as zf:
        return list(sheet_parts(zf))


def as_source(data: bytes | Path) -> Source:
    """A path stays a path; bytes become a seekable stream."""
    return data if isinstance(data, Path) else io.BytesIO(data)


def xlsx_error(exc: BaseException) -> FormatError:
    """Wrap any parser failure in a clear German message."""
    return FormatError(
        f"Die Excel-Datei ist beschädigt oder keine gültige .xlsx-Datei ({type(exc).__name__})."
    )
