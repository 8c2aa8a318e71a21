"""Stream the data rows of a meter list (CSV or XLSX) as strings."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from ablesung.formats.errors import FormatError, de_int
from ablesung.formats.limits import Limits, check_rows, check_size, check_xlsx_container
from ablesung.formats.sniff import ENCODING_LABELS, Detected
from ablesung.formats.xlsx import (
    JsonCell,
    cell_to_json,
    cell_to_str,
    estimate_cells,
    iter_calamine,
    iter_openpyxl,
    xlsx_error,
)

CSV_FIELD_LIMIT = 131_072  # the csv module's default; a bigger cell is a broken file


def iter_rows(
    path: Path, detected: Detected, *, limits: Limits, decimal_comma: bool = True
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, cells)`` for every non-blank row after the header.

    ``line`` is the 1-based physical line where the record starts (CSV) or the row
    number (XLSX); ``cells`` are strings exactly as in the file (XLSX: typed cells shown
    as the CSV would show them, see :func:`ablesung.formats.xlsx.cell_to_str`).
    Raises :class:`FormatError` for unreadable files and exceeded limits.
    """
    for line, cells, _raw in _iter(
        path, detected, limits=limits, decimal_comma=decimal_comma, typed=False
    ):
        yield line, cells


def iter_rows_typed(
    path: Path, detected: Detected, *, limits: Limits, decimal_comma: bool = True
) -> Iterator[tuple[int, list[str], list[JsonCell]]]:
    """Like :func:`iter_rows` plus the JSON-safe typed cells (XLSX; CSV: the strings)."""
    yield from _iter(path, detected, limits=limits, decimal_comma=decimal_comma, typed=True)


def _iter(
    path: Path, detected: Detected, *, limits: Limits, decimal_comma: bool, typed: bool
) -> Iterator[tuple[int, list[str], list[JsonCell]]]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FormatError("Die Datei kann nicht gelesen werden.") from exc
    check_size(size, limits)
    if detected.kind == "xlsx":
        yield from _iter_xlsx(path, detected, limits, decimal_comma, typed)
    else:
        for line, cells in _iter_csv(path, detected, limits):
            yield line, cells, list(cells) if typed else []


def _iter_csv(path: Path, detected: Detected, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    encoding = detected.encoding or "utf-8"
    if detected.bom and encoding == "utf-8":
        encoding = "utf-8-sig"
    if encoding not in ENCODING_LABELS:
        raise FormatError(f"Die Kodierung „{encoding}“ wird nicht unterstützt.")
    line = 0
    record = 0
    rows = 0
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(
            text, delimiter=detected.separator or ";", quotechar=detected.quotechar or '"'
        )
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                bad_line, bad_byte = _locate_decode_error(path, encoding)
                raise FormatError(
                    f"Zeile {bad_line}: Die Datei ist nicht in der Kodierung "
                    f"{ENCODING_LABELS[encoding]} lesbar (Byte 0x{bad_byte}). "
                    "Bitte eine andere Kodierung wählen."
                ) from exc
            except csv.Error as exc:
                raise FormatError(
                    f"Zeile {line + 1}: Die CSV-Datei ist fehlerhaft "
                    "(vermutlich fehlt ein schließendes Anführungszeichen)."
                ) from exc
            start = line + 1
            line = reader.line_num
            record += 1
            if record <= detected.header_row:
                continue
            if not cells or not any(cells):
                continue
            rows += 1
            if rows > limits.max_rows:
                check_rows(rows, limits)
            if len(cells) > limits.max_columns:
                raise FormatError(
                    f"Zeile {start}: Die Zeile hat mehr als {de_int(limits.max_columns)} Spalten."
                )
            yield start, cells


def _locate_decode_error(path: Path, encoding: str) -> tuple[int, str]:
    """Physical line and hex byte of the first byte ``encoding`` cannot decode."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    line = 1
    with path.open("rb") as raw:
        for chunk in raw:  # split at b"\n"; no supported encoding has a character across it
            try:
                chunk.decode(codec)
            except UnicodeDecodeError as exc:
                before = chunk[: exc.start]
                return line + before.count(b"\r"), chunk[exc.start : exc.start + 1].hex().upper()
            line += 1 + chunk.count(b"\r") - (1 if chunk.endswith(b"\r\n") else 0)
    return line, "??"


def _iter_xlsx(
    path: Path, detected: Detected, limits: Limits, decimal_comma: bool, typed: bool
) -> Iterator[tuple[int, list[str], list[JsonCell]]]:
    check_xlsx_container(path, limits)
    sheet = detected.sheet
    if sheet is None:
        raise FormatError("Bitte ein Tabellenblatt wählen.")
    width = len(detected.header)
    try:
        cells_estimate = estimate_cells(path, sheet)
        source = (
            iter_calamine(path, sheet)
            if cells_estimate <= limits.max_calamine_cells
            else iter_openpyxl(path, sheet)
        )
        rows = 0

        def to_str(value: object) -> str:
            return cell_to_str(value, decimal_comma=decimal_comma)

        for number, values in source:
            if number <= detected.header_row:
                continue
            # strings (most cells) skip the conversion call
            cells = [v if v.__class__ is str else to_str(v) for v in values]  # type: ignore[misc]
            if not any(cells):
                continue
            rows += 1
            if rows > limits.max_rows:
                check_rows(rows, limits)
            end = len(cells)
            while end > width and cells[end - 1] == "":
                end -= 1
            if end > limits.max_columns:
                raise FormatError(
                    f"Zeile {number}: Die Zeile hat mehr als {de_int(limits.max_columns)} Spalten."
                )
            cells = cells[:end]
            raw: list[JsonCell] = [cell_to_json(v) for v in values[:end]] if typed else []
            if end < width:
                cells.extend([""] * (width - end))
                if typed:
                    raw.extend([None] * (width - len(raw)))
            yield number, cells, raw
    except FormatError:
        raise
    except Exception as exc:  # calamine/openpyxl raise many kinds on corrupt files
        raise xlsx_error(exc) from exc
