"""The streaming join of letter parts, checked by qpdf (through pikepdf) and read back."""

import hashlib
import io
from pathlib import Path

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
