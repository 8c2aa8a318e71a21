"""Joining PDF parts into one PDF, one part at a time: memory stays flat in the page count.

The letters are written in chunks, each chunk a PDF of its own (:mod:`ablesung.letters.pdf`).
Joining them with a general PDF library keeps every page's objects in memory until the
file is written (measured for 10,000 letters: pypdf's ``PdfWriter`` about 240 MB,
pikepdf/qpdf about 190 MB, both growing with the page count). Here each part is read
with pypdf, its objects are renumbered and written straight to the output, and only the
offsets and page numbers stay in memory: a few bytes per object.

Of each part everything is copied except its catalog, its page tree and its document
information; the joined file gets one catalog (with the language), one flat page tree
with every part's pages in order, one document information dictionary and a fresh
cross-reference table. The parts must be plain PDFs without object streams, as
reportlab writes them.
"""

import hashlib
from collections.abc import Iterable
from typing import IO

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

CATALOG, PAGES, INFO = 1, 2, 3


class _Out:
    """The output file: counts the bytes written (for the offsets) and hashes them."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.position = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.position += len(data)
        self.sha256.update(data)
        return len(data)


def _renumber(value: PdfObject, base: int) -> PdfObject:
    """``value`` with every reference moved by ``base`` (dictionaries and arrays in place)."""
    if isinstance(value, IndirectObject):
        return IndirectObject(value.idnum + base, 0, None)  # type: ignore[arg-type]
    if isinstance(value, DictionaryObject):  # also a stream's dictionary
        for key in list(value.keys()):
            value[NameObject(key)] = _renumber(value.raw_get(key), base)
    elif isinstance(value, ArrayObject):
        for index, item in enumerate(value):
            value[index] = _renumber(item, base)
    return value


def _write_object(out: _Out, offsets: list[int], number: int, value: PdfObject) -> None:
    while len(offsets) <= number:
        offsets.append(0)
    offsets[number] = out.position
    out.write(f"{number} 0 obj\n".encode())
    value.write_to_stream(out)  # type: ignore[arg-type]
    out.write(b"\nendobj\n")


def join(
    parts: Iterable[IO[bytes]], out: IO[bytes], *, title: str, author: str, lang: str = "de-DE"
) -> tuple[int, str]:
    """Writes the pages of every part, in order, as one PDF into ``out``.

    Returns the page count and the SHA-256 (hex) of what was written.
    """
    target = _Out(out)
    target.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = [0, 0, 0, 0]  # 1-3: the catalog, the page tree, the information
    kids = ArrayObject()
    base = INFO  # the parts' objects follow the reserved ones
    for part in parts:
        # closing the reader clears its object cache, whose reference cycles would
        # otherwise keep every part's objects alive until a full garbage collection
        with PdfReader(part) as reader:
            numbers = sorted(reader.xref.get(0, {}))
            if reader.xref_objStm:
                raise ValueError("PDF parts with object streams cannot be joined")
            root = reader.trailer.raw_get("/Root")
            info = reader.trailer.raw_get("/Info")
            pages_root = reader.root_object.raw_get("/Pages")
            skipped = {
                ref.idnum for ref in (root, info, pages_root) if isinstance(ref, IndirectObject)
            }
            page_numbers = {page.indirect_reference.idnum for page in reader.pages}  # type: ignore[union-attr]
            for number in numbers:
                if number in skipped:
                    continue
                value = _renumber(reader.get_object(number), base)  # type: ignore[arg-type]
                if number in page_numbers and isinstance(value, DictionaryObject):
                    value[NameObject("/Parent")] = IndirectObject(PAGES, 0, None)  # type: ignore[arg-type]
                    kids.append(IndirectObject(number + base, 0, None))  # type: ignore[arg-type]
                _write_object(target, offsets, number + base, value)
            base += max(numbers, default=0)
    pages = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Pages"),
            NameObject("/Kids"): kids,
            NameObject("/Count"): NumberObject(len(kids)),
        }
    )
    catalog = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Catalog"),
            NameObject("/Pages"): IndirectObject(PAGES, 0, None),  # type: ignore[arg-type]
            NameObject("/Lang"): TextStringObject(lang),
            NameObject("/ViewerPreferences"): DictionaryObject(
                {NameObject("/DisplayDocTitle"): BooleanObject(True)}
            ),
        }
    )
    info_dict = DictionaryObject(
        {
            NameObject("/Title"): TextStringObject(title),
            NameObject("/Author"): TextStringObject(author),
            NameObject("/Creator"): TextStringObject("Ablesung"),
        }
    )
    _write_object(target, offsets, CATALOG, catalog)
    _write_object(target, offsets, PAGES, pages)
    _write_object(target, offsets, INFO, info_dict)
    xref = target.position
    lines = [f"xref\n0 {len(offsets)}\n", "0000000000 65535 f \n"]
    lines += [
        f"{offset:010d} 00000 n \n" if offset else "0000000000 65535 f \n" for offset in offsets[1:]
    ]
    target.write("".join(lines).encode())
    target.write(
        f"trailer\n<< /Size {len(offsets)} /Root {CATALOG} 0 R /Info {INFO} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return len(kids), target.sha256.hexdigest()
