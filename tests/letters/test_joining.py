"""The streaming join of letter parts, checked by qpdf (through pikepdf) and read back."""

import hashlib
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pikepdf
from pypdf import PdfReader

from ablesung.letters import joining, pdf
from tests.letters.pdfcheck import page_codes, page_texts


def part(numbers: range, logo: bytes | None = None) -> bytes:
    head = pdf.Letterhead(
        organisation="Stadtwerke Musterstadt",
        sender_line="Stadtwerke Musterstadt · Hauptstraße 1 · 12345 Musterstadt",
        logo=logo,
    )
    letters = [
        pdf.Letter(
            object_number=f"OBJ-{n}",
            name=f"Ayşe Öztürk {n}",
            address=[f"Ayşe Öztürk {n}", "Lindenallee 4", "12345 Musterstadt"],
            link=f"https://example.org/r/token-{n}",
            code="ABCD-EFGH-JKM",
            rows=[pdf.LetterRow(meter_number=f"M-{n}", kind="Hauptwasserzähler")],
        )
        for n in numbers
    ]
    out = io.BytesIO()
    pdf.write_letters(out, head, letters)
    return out.getvalue()


def test_joined_parts_are_one_valid_pdf_in_order(tmp_path: Path) -> None:
    parts = [part(range(0, 3)), part(range(3, 5)), part(range(5, 6))]
    path = tmp_path / "joined.pdf"
    with path.open("wb") as out:
        pages, sha256 = joining.join(
            (io.BytesIO(data) for data in parts), out, title="Ablesebriefe – Test", author="SW"
        )
    data = path.read_bytes()
    assert pages == 6
    assert sha256 == hashlib.sha256(data).hexdigest()
    # qpdf's own structural check: cross-reference table, objects, page tree
    with pikepdf.open(path) as document:
        assert document.check_pdf_syntax() == []
        assert len(document.pages) == 6
        assert str(document.Root.Lang) == "de-DE"
        assert str(document.docinfo["/Title"]) == "Ablesebriefe – Test"
    reader = PdfReader(path, strict=True)
    assert len(reader.pages) == 6
    texts = page_texts(path)
    assert [f"OBJ-{n}" in text for n, text in enumerate(texts)] == [True] * 6
    codes = page_codes(path)
    assert [f"https://example.org/r/token-{n}" in found for n, found in enumerate(codes)] == [
        True
    ] * 6


def _opened(paths: list[Path]) -> Iterator[IO[bytes]]:
    for path in paths:  # one part open at a time, as the storage hands them over
        with path.open("rb") as handle:
            yield handle


def _joining_peak(paths: list[Path], out: Path) -> int:
    """Python's peak memory while joining the parts into a file (tracemalloc, not time)."""
    with out.open("wb") as handle:
        tracemalloc.start()
        try:
            joining.join(_opened(paths), handle, title="T", author="A")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_joining_keeps_one_part_in_memory_at_a_time(tmp_path: Path) -> None:
    paths = []
    for start in range(0, 200, 25):
        paths.append(tmp_path / f"part-{start:03d}.pdf")
        paths[-1].write_bytes(part(range(start, start + 25)))
    out = tmp_path / "joined.pdf"
    _joining_peak(paths[:1], out)  # warm up pypdf's imports and caches
    two = _joining_peak(paths[:2], out)
    eight = _joining_peak(paths, out)
    # 4 times the pages: only the page list and the offsets grow
    assert eight < two * 1.3, (two, eight)
