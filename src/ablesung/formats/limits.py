"""Size limits and the XLSX container check that runs before any parser sees the file."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from ablesung.formats.errors import FormatError, de_int

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds for an uploaded meter list; every breach is a :class:`FormatError`."""

    max_bytes: int = 50 * MB
    max_rows: int = 500_000
    max_unpacked: int = 200 * MB
    max_zip_entries: int = 1000
    max_ratio: int = 200
    max_cell_chars: int = 10_000
    max_columns: int = 500
    # XLSX sheets with more cells than this are streamed with openpyxl (constant
    # memory, slower) instead of python-calamine (fast, holds the sheet in memory).
    max_calamine_cells: int = 2_000_000


def _mb(n: int) -> str:
    """Human size in German: 52428800 → "50 MB", 51200 → "50 KB"."""
    if n < MB:
        return f"{de_int(max(n // 1024, 1))} KB" if n >= 1024 else f"{n} Bytes"
    if n % MB == 0:
        return f"{de_int(n // MB)} MB"
    return f"{n / MB:.1f} MB".replace(".", ",")


def check_size(size: int, limits: Limits) -> None:
    """Reject a file larger than ``limits.max_bytes``."""
    if size > limits.max_bytes:
        raise FormatError(f"Die Datei ist größer als {_mb(limits.max_bytes)}.")
    if size == 0:
        raise FormatError("Die Datei ist leer.")


def check_rows(count: int, limits: Limits) -> None:
    """Reject a file with more data rows than ``limits.max_rows``."""
    if count > limits.max_rows:
        raise FormatError(f"Die Datei hat mehr als {de_int(limits.max_rows)} Zeilen.")


_XML_SUFFIXES = (".xml", ".rels", ".vml")
_SMALL_XML = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")
_PROLOG_WINDOW = 64 * 1024
_CHUNK = 256 * 1024


def _bad_xml(name: str) -> FormatError:
    return FormatError(
        f"Die Excel-Datei enthält unzulässige XML-Deklarationen (DTD/Entitäten) in „{name}“ "
        "und wird aus Sicherheitsgründen nicht gelesen."
    )


def _check_prolog(name: str, head: bytes) -> None:
    """Reject a DTD in the XML prolog (before the root element) of ``head``."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            if len(head) >= _PROLOG_WINDOW:
                raise _bad_xml(name)  # a prolog longer than the window: refuse
            return  # empty or truncated entry; the parser reports it later
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos)
        elif text.startswith("<!", pos):
            raise _bad_xml(name)  # <!DOCTYPE, <!ENTITY, ...
        else:
            return  # the root element (or garbage the parser will reject)
        if end < 0:
            raise _bad_xml(name)
        pos = end + 2


def check_xlsx_container(path: Path | IO[bytes], limits: Limits | None = None) -> None:
    """Check an XLSX file's ZIP container before it is parsed.

    Rejects: not a ZIP, encrypted entries, more than ``max_zip_entries`` entries,
    absolute or ``..`` entry names, more than ``max_unpacked`` bytes unpacked (declared
    and actually inflated — a lying header fails its CRC), a compression-ratio bomb,
    and any DTD/entity declaration in an XML part (billion laughs, XXE). The small
    structural parts are parsed completely with defusedxml.
    """
    limits = limits or Limits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_zip_entries:
                raise FormatError(
                    f"Die Excel-Datei enthält mehr als {de_int(limits.max_zip_entries)} Einträge."
                )
            declared = 0
            names = set()
            for info in infos:
                name = info.filename
                parts = name.replace("\\", "/").split("/")
                if (
                    name.startswith(("/", "\\"))
                    or (len(name) > 1 and name[1] == ":")
                    or ".." in parts
                    or "\x00" in name
                ):
                    raise FormatError(
                        f"Die Excel-Datei enthält einen unzulässigen Pfad „{name[:80]}“."
                    )
                if info.flag_bits & 0x1:
                    raise FormatError(
                        "Die Excel-Datei ist verschlüsselt. Bitte ohne Kennwort speichern."
                    )
                declared += info.file_size
                if declared > limits.max_unpacked:
                    raise FormatError(
                        f"Die Excel-Datei ist entpackt größer als {_mb(limits.max_unpacked)}."
                    )
                if info.file_size > MB and info.file_size > limits.max_ratio * max(
                    info.compress_size, 1
                ):
                    raise FormatError(
                        "Die Excel-Datei ist ungewöhnlich stark komprimiert "
                        "(mögliche ZIP-Bombe) und wird nicht gelesen."
                    )
                names.add(name)
            if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
                raise FormatError(
                    "Die Datei ist keine Excel-Arbeitsmappe (.xlsx). "
                    "Bitte als .xlsx oder CSV speichern."
                )
            total = 0
            for info in infos:
                is_xml = info.filename.lower().endswith(_XML_SUFFIXES)
                head = b""
                with zf.open(info) as entry:
                    while chunk := entry.read(_CHUNK):
                        total += len(chunk)
                        if total > limits.max_unpacked:
                            raise FormatError(
                                "Die Excel-Datei ist entpackt größer als "
                                f"{_mb(limits.max_unpacked)}."
                            )
                        if is_xml and len(head) < _PROLOG_WINDOW:
                            head += chunk[: _PROLOG_WINDOW - len(head)]
                if is_xml:
                    _check_prolog(info.filename, head)
            for small in _SMALL_XML:
                if small in names:
                    data = zf.read(small)
                    if len(data) > 10 * MB:
                        raise FormatError(f"Die Excel-Datei ist ungültig („{small}“ zu groß).")
                    defused_fromstring(data, forbid_dtd=True)
    except FormatError:
        raise
    except DefusedXmlException as exc:
        raise _bad_xml("Arbeitsmappe") from exc
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        ValueError,
        OSError,  # an entry said to start before the file does (seek to a negative offset)
        SyntaxError,  # xml.etree.ElementTree.ParseError
    ) as exc:
        raise FormatError("Die Excel-Datei ist beschädigt oder keine gültige .xlsx-Datei.") from exc
