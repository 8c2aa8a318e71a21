"""Detect what an uploaded meter list is: CSV or XLSX, encoding, separator, header row."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ablesung.formats.errors import FormatError
from ablesung.formats.limits import Limits, check_size, check_xlsx_container
from ablesung.formats.profile import SEPARATORS, header_score
from ablesung.formats.xlsx import (
    as_source,
    cell_to_str,
    iter_openpyxl,
    sheet_names,
    xlsx_error,
)

SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 5
HEADER_SEARCH_ROWS = 20

ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (mit BOM)", "cp1252": "Windows-1252"}


@dataclass(slots=True)
class Detected:
    """What :func:`detect` found; every field may be overridden by the caller.

    ``encoding`` is a Python codec ("utf-8-sig" when the file has a BOM, "utf-8",
    "cp1252"); for XLSX ``encoding``, ``separator``, ``quotechar``, ``line_end`` are "".
    ``header_row`` is 1-based (CSV record / XLSX row); ``preamble`` holds the rows above
    the header (kept for the round trip).
    """

    kind: Literal["csv", "xlsx"]
    encoding: str
    separator: str
    quotechar: str
    line_end: str
    header_row: int
    header: list[str]
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)
    bom: bool = False
    preamble: list[list[str]] = field(default_factory=list)


def detect(
    data: bytes | Path,
    filename: str = "",
    *,
    encoding: str | None = None,
    separator: str | None = None,
    header_row: int | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
    decimal_comma: bool = True,
) -> Detected:
    """Detect the layout of a meter list.

    ``data`` is a path, or bytes: the first ~64 KiB of a CSV, or the whole file for
    XLSX. Keyword arguments override detection (e.g. from the clerk or a profile).
    Raises :class:`FormatError` with a German message for unreadable files.
    """
    limits = limits or Limits()
    if isinstance(data, Path):
        try:
            size = data.stat().st_size
            check_size(size, limits)
            with data.open("rb") as fh:
                head = fh.read(SAMPLE_BYTES)
        except OSError as exc:
            raise FormatError("Die Datei kann nicht gelesen werden.") from exc
        complete = size <= SAMPLE_BYTES
    else:
        if not data:
            raise FormatError("Die Datei ist leer.")
        head = data[:SAMPLE_BYTES]
        complete = len(data) < SAMPLE_BYTES
    kind = _kind(head, filename)
    if kind == "xlsx":
        if not isinstance(data, Path):
            check_size(len(data), limits)
        return _detect_xlsx(
            data, sheet=sheet, header_row=header_row, limits=limits, decimal_comma=decimal_comma
        )
    return detect_csv(
        head,
        complete=complete,
        encoding=encoding,
        separator=separator,
        header_row=header_row,
    )


def _kind(head: bytes, filename: str) -> Literal["csv", "xlsx"]:
    lower = filename.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise FormatError(
            "Das alte Excel-Format (.xls) wird nicht unterstützt. "
            "Bitte als .xlsx oder CSV speichern."
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if lower.endswith((".ods", ".odt", ".docx", ".zip")):
            raise FormatError(
                "Dieses Dateiformat wird nicht unterstützt. Bitte als .xlsx oder CSV speichern."
            )
        return "xlsx"
    if lower.endswith((".xlsx", ".xlsm")):
        raise FormatError("Die Excel-Datei ist beschädigt oder keine gültige .xlsx-Datei.")
    return "csv"


def _decode(head: bytes, complete: bool, encoding: str | None) -> tuple[str, str, bool]:
    """Return (text, codec, bom)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FormatError(
            "Die Datei ist in UTF-16 gespeichert. Bitte als UTF-8 oder Windows-1252 speichern."
        )
    bom = head.startswith(codecs.BOM_UTF8)
    if b"\x00" in head:
        raise FormatError("Die Datei ist keine Textdatei (CSV) und keine Excel-Datei (.xlsx).")
    candidates: list[str]
    if encoding is not None:
        if encoding not in ENCODING_LABELS:
            raise FormatError(f"Die Kodierung „{encoding}“ wird nicht unterstützt.")
        if encoding == "utf-8" and bom:
            encoding = "utf-8-sig"
        candidates = [encoding]
    elif bom:
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "cp1252"]
    error: UnicodeDecodeError | None = None
    for codec in candidates:
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        try:
            text = decoder.decode(head, final=complete)
        except UnicodeDecodeError as exc:
            error = error or exc
            continue
        return text, codec, bom or codec == "utf-8-sig"
    assert error is not None
    bad = error.object[error.start : error.start + 1].hex().upper()
    if encoding is not None:
        raise FormatError(
            f"Die Datei ist nicht in der Kodierung {ENCODING_LABELS[encoding]} gespeichert "
            f"(Byte 0x{bad} an Position {error.start + 1}). Bitte eine andere Kodierung wählen."
        )
    raise FormatError(
        "Die Kodierung der Datei ist unbekannt: weder UTF-8 noch Windows-1252 "
        f"(Byte 0x{bad} an Position {error.start + 1})."
    )


def _records(text: str, separator: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def _score_separator(text: str, separator: str) -> tuple[float, int]:
    rows = [r for r in _records(text, separator, 50) if any(c.strip() for c in r)]
    if not rows:
        return 0.0, 0
    counts = Counter(len(r) for r in rows)
    modal, freq = counts.most_common(1)[0]
    if modal < 2:
        return 0.0, modal
    return freq / len(rows), modal


def _line_end(text: str) -> str:
    in_quotes = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in "\r\n":
            if ch == "\r":
                return "\r\n" if text[i + 1 : i + 2] == "\n" else "\r"
            return "\n"
    return "\r\n"


def detect_csv(
    head: bytes,
    *,
    complete: bool,
    encoding: str | None = None,
    separator: str | None = None,
    header_row: int | None = None,
) -> Detected:
    """Detect encoding, separator, line end and header row of a CSV sample."""
    text, codec, bom = _decode(head, complete, encoding)
    if not complete:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[: cut + 1]
    if bom:
        text = text.lstrip("\ufeff")
    if separator is None:
        best = max(
            SEPARATORS,
            key=lambda s: (*_score_separator(text, s), -SEPARATORS.index(s)),
        )
        separator = best if _score_separator(text, best)[1] >= 2 else ";"
    elif separator not in SEPARATORS:
        raise FormatError("Als Trennzeichen sind nur Semikolon, Komma und Tabulator möglich.")
    rows = _records(text, separator, HEADER_SEARCH_ROWS + PREVIEW_ROWS + 1000)
    if header_row is None:
        header_row = 1
        best_score = 0
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            score = header_score(row)
            if score > best_score:
                best_score, header_row = score, index + 1
    if header_row < 1:
        raise FormatError("Die Kopfzeile muss eine positive Zeilennummer haben.")
    if header_row > len(rows):
        raise FormatError(f"Die Datei hat keine Zeile {header_row} für die Spaltenüberschriften.")
    header = rows[header_row - 1]
    preview = [r for r in rows[header_row:] if any(c.strip() for c in r)][:PREVIEW_ROWS]
    return Detected(
        kind="csv",
        encoding=codec,
        separator=separator,
        quotechar='"',
        line_end=_line_end(text),
        header_row=header_row,
        header=header,
        sheet=None,
        sheets=[],
        preview=preview,
        bom=bom,
        preamble=rows[: header_row - 1],
    )


def _detect_xlsx(
    data: bytes | Path,
    *,
    sheet: str | None,
    header_row: int | None,
    limits: Limits,
    decimal_comma: bool,
) -> Detected:
    source = as_source(data)
    check_xlsx_container(source, limits)
    try:
        sheets = sheet_names(source)
        if not sheets:
            raise FormatError("Die Excel-Datei enthält kein Tabellenblatt.")
        if sheet is not None and sheet not in sheets:
            raise FormatError(
                f"Die Excel-Datei hat kein Tabellenblatt „{sheet}“ "
                f"(vorhanden: {', '.join(sheets)})."
            )
        candidates = [sheet] if sheet is not None else sheets
        best: tuple[int, str, list[list[str]]] | None = None
        for name in candidates:
            rows: list[list[str]] = []
            for _number, cells in iter_openpyxl(source, name):
                rows.append(_trim([cell_to_str(c, decimal_comma=decimal_comma) for c in cells]))
                if len(rows) >= HEADER_SEARCH_ROWS + PREVIEW_ROWS + 50:
                    break
            score = max((header_score(r) for r in rows[:HEADER_SEARCH_ROWS]), default=0)
            if best is None or score > best[0]:
                best = (score, name, rows)
    except FormatError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on corrupt files
        raise xlsx_error(exc) from exc
    assert best is not None
    _score, chosen, rows = best
    if header_row is None:
        header_row = 1
        top = 0
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            score = header_score(row)
            if score > top:
                top, header_row = score, index + 1
    if header_row < 1 or header_row > len(rows):
        raise FormatError(
            f"Das Tabellenblatt hat keine Zeile {header_row} für die Spaltenüberschriften."
        )
    header = rows[header_row - 1]
    preview = [r for r in rows[header_row:] if any(c.strip() for c in r)][:PREVIEW_ROWS]
    return Detected(
        kind="xlsx",
        encoding="",
        separator="",
        quotechar="",
        line_end="",
        header_row=header_row,
        header=header,
        sheet=chosen,
        sheets=sheets,
        preview=[r + [""] * (len(header) - len(r)) for r in preview],
        bom=False,
        preamble=rows[: header_row - 1],
    )


def _trim(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    return cells[:end]
