"""Build small XLSX files in memory for the tests."""

import datetime
import io
import zipfile
from typing import Any

import xlsxwriter

from tests.formats.helpers import CLEAN


def sample_rows(limit: int = 20) -> list[list[str]]:
    import csv

    with CLEAN.open(encoding="cp1252", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    return rows[: limit + 1]


def make_xlsx(rows: list[list[Any]], *, sheet: str = "Zähler", start_row: int = 0) -> bytes:
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = wb.add_worksheet(sheet)
    date_format = wb.add_format({"num_format": "dd.mm.yyyy"})
    if start_row:
        ws.write_string(0, 0, "Zählerliste Musterstadt 2026")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                ws.write_string(r + start_row, c, value)
            elif isinstance(value, datetime.datetime):
                ws.write_datetime(r + start_row, c, value, date_format)
            else:
                ws.write(r + start_row, c, value)
    wb.close()
    return buffer.getvalue()


def replace_entry(data: bytes, name: str, content: bytes) -> bytes:
    """Return the XLSX ``data`` with the ZIP entry ``name`` replaced (or added)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info))
        dst.writestr(name, content)
    return out.getvalue()
