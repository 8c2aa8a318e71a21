"""The file's own layout, kept for the return file, and the CSV writer."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from ablesung.formats.errors import FormatError
from ablesung.formats.sniff import ENCODING_LABELS, Detected

LAYOUT_VERSION = 1


@dataclass(slots=True)
class FileLayout:
    """Everything needed to write rows back in the layout they came in (JSON-safe)."""

    kind: Literal["csv", "xlsx"]
    encoding: str
    separator: str
    quotechar: str
    line_end: str
    bom: bool
    header: list[str]
    header_row: int = 1
    sheet: str | None = None
    preamble: list[list[str]] = field(default_factory=list)

    @classmethod
    def from_detected(cls, detected: Detected) -> FileLayout:
        return cls(
            kind=detected.kind,
            encoding=detected.encoding,
            separator=detected.separator,
            quotechar=detected.quotechar,
            line_end=detected.line_end,
            bom=detected.bom,
            header=list(detected.header),
            header_row=detected.header_row,
            sheet=detected.sheet,
            preamble=[list(r) for r in detected.preamble],
        )

    def to_detected(self) -> Detected:
        """A :class:`Detected` to read the file again with :func:`iter_rows`."""
        return Detected(
            kind=self.kind,
            encoding=self.encoding,
            separator=self.separator,
            quotechar=self.quotechar,
            line_end=self.line_end,
            header_row=self.header_row,
            header=list(self.header),
            sheet=self.sheet,
            sheets=[self.sheet] if self.sheet else [],
            bom=self.bom,
            preamble=[list(r) for r in self.preamble],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": LAYOUT_VERSION,
            "kind": self.kind,
            "encoding": self.encoding,
            "separator": self.separator,
            "quotechar": self.quotechar,
            "line_end": self.line_end,
            "bom": self.bom,
            "header": list(self.header),
            "header_row": self.header_row,
            "sheet": self.sheet,
            "preamble": [list(r) for r in self.preamble],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileLayout:
        try:
            kind = data["kind"]
            if kind not in ("csv", "xlsx"):
                raise ValueError(kind)
            header = [str(h) for h in data["header"]]
            return cls(
                kind=kind,
                encoding=str(data.get("encoding", "")),
                separator=str(data.get("separator", "")),
                quotechar=str(data.get("quotechar", "")),
                line_end=str(data.get("line_end", "")),
                bom=bool(data.get("bom", False)),
                header=header,
                header_row=int(data.get("header_row", 1)),
                sheet=data.get("sheet"),
                preamble=[[str(c) for c in r] for r in data.get("preamble", [])],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError("Der gespeicherte Dateiaufbau ist ungültig.") from exc


def write_csv(layout: FileLayout, rows: Iterable[list[str]], out: BinaryIO) -> None:
    """Write preamble, header and ``rows`` as CSV in ``layout`` (encoding, BOM, separator,
    quote character, line end; minimal quoting) to the binary stream ``out``.

    Reading a file with :func:`ablesung.formats.iter_rows` and writing the raw cells back
    reproduces it byte for byte, provided it quoted minimally, ended its last line and
    had no blank lines.
    """
    with CsvRowWriter(layout, out) as writer:
        for row in rows:
            writer.writerow(row)


class CsvRowWriter:
    """:func:`write_csv` one row at a time: ``with CsvRowWriter(layout, out) as w:
    w.writerow(cells)``; the preamble and header are written on entering."""

    def __init__(self, layout: FileLayout, out: BinaryIO) -> None:
        if layout.kind != "csv":
            raise FormatError("Dieser Dateiaufbau ist keine CSV-Datei.")
        encoding = layout.encoding or "cp1252"
        if encoding not in ENCODING_LABELS:
            raise FormatError(f"Die Kodierung „{encoding}“ wird nicht unterstützt.")
        self.layout = layout
        self.label = ENCODING_LABELS[encoding]
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.out = out
        self.line = 0
        self.text: io.TextIOWrapper | None = None

    def __enter__(self) -> CsvRowWriter:
        layout = self.layout
        if layout.bom:
            self.out.write(codecs.BOM_UTF8)
        self.text = io.TextIOWrapper(
            self.out, encoding=self.encoding, errors="strict", newline="", write_through=True
        )
        self.writer = csv.writer(
            self.text,
            delimiter=layout.separator or ";",
            quotechar=layout.quotechar or '"',
            lineterminator=layout.line_end or "\r\n",
            quoting=csv.QUOTE_MINIMAL,
        )
        for row in layout.preamble:
            self.writerow(row)
        self.writerow(layout.header)
        return self

    def writerow(self, row: list[str]) -> None:
        self.line += 1
        try:
            self.writer.writerow(row)
        except UnicodeEncodeError as exc:
            raise FormatError(
                f"Zeile {self.line}: „{exc.object[exc.start : exc.end]}“ lässt sich in "
                f"{self.label} nicht schreiben."
            ) from exc

    def __exit__(self, *exc_info: object) -> None:
        if self.text is not None:
            try:
                self.text.flush()
            finally:
                self.text.detach()
                self.text = None
