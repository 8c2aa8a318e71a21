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
    if layout.kind != "csv":
        raise FormatError("Dieser Dateiaufbau ist keine CSV-Datei.")
    encoding = layout.encoding or "cp1252"
    if encoding not in ENCODING_LABELS:
        raise FormatError(f"Die Kodierung „{encoding}“ wird nicht unterstützt.")
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    if layout.bom:
        out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding=encoding, errors="strict", newline="", write_through=True)
    writer = csv.writer(
        text,
        delimiter=layout.separator or ";",
        quotechar=layout.quotechar or '"',
        lineterminator=layout.line_end or "\r\n",
        quoting=csv.QUOTE_MINIMAL,
    )
    line = 0
    try:
        for row in layout.preamble:
            line += 1
            writer.writerow(row)
        line += 1
        writer.writerow(layout.header)
        for row in rows:
            line += 1
            writer.writerow(row)
        text.flush()
    except UnicodeEncodeError as exc:
        raise FormatError(
            f"Zeile {line}: „{exc.object[exc.start : exc.end]}“ lässt sich in "
            f"{ENCODING_LABELS[layout.encoding or 'cp1252']} nicht schreiben."
        ) from exc
    finally:
        text.detach()
