"""Text cells that XlsxWriter writes safely: never a formula, never raw XML.

XlsxWriter 3.3 in ``constant_memory`` mode copies a string that starts with ``<r>`` and ends
with ``</r>`` into the sheet XML *unescaped* (it takes it for a rich string it built
itself), so such text could inject cells, formulas included. :func:`write_text` writes it
as a real rich string of plain fragments instead: the XML is escaped and the cell shows
exactly the text. Used by the Excel report and by XLSX return files.
"""

from __future__ import annotations

import re
from typing import Any

#: Excel's limit of characters (UTF-16 code units) in one cell
MAX_CELL_CHARS = 32_767

# Characters XML 1.0 cannot hold (tab and line feed stay; CR is turned into line feed first).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Where a rich-string fragment ends: between "_" and "x", so that no fragment holds an
# "_xHHHH_" escape that XlsxWriter would escape twice on the rich-string path.
_ESCAPE_SPLIT = re.compile("(?<=_)(?=x)")


def clean_text(value: str) -> str:
    """``value`` as a cell can hold it: XML-safe characters, at most 32,767 characters."""
    if value.isprintable() and len(value) <= MAX_CELL_CHARS // 2:
        return value  # the common case: no control character, surrogate or non-character
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _XML_INVALID.sub("", value)
    return _cap(value)


def _cap(value: str) -> str:
    # A character outside the BMP counts twice in Excel (UTF-16), so below half the limit
    # no count is needed.
    if len(value) <= MAX_CELL_CHARS // 2:
        return value
    encoded = value.encode("utf-16-le")
    if len(encoded) // 2 <= MAX_CELL_CHARS:
        return value
    # Cut at a code unit boundary; "ignore" drops a surrogate pair cut in half.
    head = encoded[: 2 * (MAX_CELL_CHARS - 1)].decode("utf-16-le", errors="ignore")
    return head + "…"


def write_text(sheet: Any, row: int, col: int, value: str, cell_format: Any = None) -> None:
    """Writes ``value`` as a text cell: never a formula, never raw XML."""
    text = clean_text(value)
    if not text:
        return
    if text.startswith("<r>") and text.endswith("</r>"):
        # XlsxWriter would copy this into the sheet XML unescaped (see the module docstring).
        first, *rest = _ESCAPE_SPLIT.split(text)
        fragments = [first[:1], first[1:2], first[2:], *rest]  # >= 3 non-empty fragments
        if cell_format is None:
            sheet.write_rich_string(row, col, *fragments)
        else:
            sheet.write_rich_string(row, col, *fragments, cell_format)
        return
    sheet.write_string(row, col, text, cell_format)
