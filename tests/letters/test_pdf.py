"""The PDF writer on its own: text, QR codes, DIN 5008 positions, placeholders."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from ablesung.letters import pdf, texts
from tests.letters.pdfcheck import page_codes, page_texts, path_boxes_mm, text_box_mm

HEAD = pdf.Letterhead(
    organisation="Stadtwerke Musterstadt",
    sender_line="Stadtwerke Musterstadt · Postfach 12 34 · 12345 Musterstadt",
    contact=["Rathaus, Zimmer 12", "Telefon 0123 456"],
    portal="https://ablesung.example/",
    key_date="31.12.2026",
    deadline="15.01.2027",
    date="07.12.2026",
)


def letter(number: str, meters: int = 1) -> pdf.Letter:
    return pdf.Letter(
        object_number=f"OBJ-{number}",
        name="Jörg Şahin",
        address=["Jörg Şahin", f"Gänseblümchenweg {number}", "01234 Neustadt"],
        link=f"https://ablesung.example/r/token-{number}",
        code=f"ABCD-EFGH-{number:0>3}",
        rows=[
            pdf.LetterRow(f"Z{number}-{i}", "Hauptwasserzähler", "", "1234,5", "31.12.2025")
            for i in range(meters)
        ],
    )


def write(tmp_path: Path, letters: list[pdf.Letter]) -> tuple[Path, int]:
    path = tmp_path / "briefe.pdf"
    with path.open("wb") as handle:
        pages = pdf.write_letters(handle, HEAD, letters)
    return path, pages


def test_one_page_per_letter_with_address_meters_and_code(tmp_path: Path) -> None:
    path, pages = write(tmp_path, [letter("1"), letter("2")])
    assert pages == 2
    texts = page_texts(path)
    assert len(texts) == 2
    for number, text in zip(("1", "2"), texts, strict=True):
        assert "Jörg Şahin" in text  # outside WinAnsi: the embedded font carries it
        assert f"Gänseblümchenweg {number}" in text
        assert f"Z{number}-0" in text
        assert f"ABCD-EFGH-{number:0>3}" in text
        assert "1234,5" in text
        assert "31.12.2026" in text
        assert "15.01.2027" in text
        assert "https://ablesung.example/" in text
        assert "Antwortkarte" in text
        assert "Datenschutz" in text
        assert f"OBJ-{number}" in text


def test_title_and_language_are_set(tmp_path: Path) -> None:
    path, _ = write(tmp_path, [letter("1")])
    reader = PdfReader(path)
    assert reader.metadata is not None
    assert reader.metadata.title == "Ablesebriefe"
    assert str(reader.root_object["/Lang"]) == "de-DE"


def test_the_qr_codes_hold_the_link_and_the_reply_card(tmp_path: Path) -> None:
    path, _ = write(tmp_path, [letter("1", meters=2), letter("2")])
    assert page_codes(path) == [
        sorted(["https://ablesung.example/r/token-1", "AK1.OBJ%2D1.%5A1%2D0.%5A1%2D1"]),
        sorted(["https://ablesung.example/r/token-2", "AK1.OBJ%2D2.%5A2%2D0"]),
    ]


def test_the_lines_for_date_and_signature_start_after_their_labels(tmp_path: Path) -> None:
    path, _ = write(tmp_path, [letter("1")])
    lines = path_boxes_mm(path, 0)
    for label, occurrence in (("Datum:", 1), ("Unterschrift:", 0)):  # "Datum:" 0: the info
        left, top, right, bottom = text_box_mm(path, 0, label, occurrence)
        # the nearest line to the label's right on its baseline
        line = min(
            (box for box in lines if box[0] > left and top <= box[1] <= bottom + 1),
            key=lambda box: box[0],
        )
        assert line[0] >= right + 1, (label, right, line)
        assert line[2] - line[0] >= 30, (label, line)  # room to write


def test_the_address_lies_in_the_din_5008_window(tmp_path: Path) -> None:
    path, _ = write(tmp_path, [letter("1")])
    for line in ("Jörg Şahin", "Gänseblümchenweg 1", "01234 Neustadt"):
        left, top, right, bottom = text_box_mm(path, 0, line)
        # the Anschriftzone of form B: 20–105 mm from the left (text from 25 mm),
        # 62.7–90 mm from the top
        assert left >= 20, (line, left)
        assert right <= 105, (line, right)
        assert top >= 62.7, (line, top)
        assert bottom <= 90, (line, bottom)
    left, top, right, bottom = text_box_mm(path, 0, "Postfach 12 34")
    assert left >= 20
    assert right <= 105
    assert top >= 45
    assert bottom <= 62.7


def test_many_meters_continue_on_further_pages_each_with_a_reply_card(tmp_path: Path) -> None:
    path, pages = write(tmp_path, [letter("1", meters=6)])
    assert pages == 2
    first, second = page_texts(path)
    assert "Z1-3" in first
    assert "Z1-4" not in first
    assert "Z1-4" in second
    assert "Z1-5" in second
    assert "Antwortkarte" in second
    codes = page_codes(path)
    assert codes[1] == ["AK1.OBJ%2D1.%5A1%2D4.%5A1%2D5"]


def test_placeholders_are_filled_and_unknown_ones_refused(tmp_path: Path) -> None:
    head = pdf.Letterhead(**{**HEAD.__dict__, "text": "Code {zugangscode} für {name}"})
    path = tmp_path / "a.pdf"
    with path.open("wb") as handle:
        pdf.write_letters(handle, head, [letter("7")])
    assert "Code ABCD-EFGH-007 für Jörg Şahin" in page_texts(path)[0]
    bad = pdf.Letterhead(**{**HEAD.__dict__, "text": "Hallo {vorname}"})
    with pytest.raises(texts.TextError, match=r"Unbekannter Platzhalter \{vorname\}"):
        pdf.write_letters(io.BytesIO(), bad, [letter("7")])


def test_a_missing_font_is_refused_in_german(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "FONT_DIR", tmp_path)
    monkeypatch.setattr(pdf, "FONT", "AblesungSans-Test-Missing")
    with pytest.raises(pdf.FontMissing, match="fonts-dejavu-core"):
        pdf.register_fonts()


def test_a_campaign_without_an_end_date_gets_words_not_a_gap(tmp_path: Path) -> None:
    head = pdf.Letterhead(**{**HEAD.__dict__, "deadline": ""})
    path = tmp_path / "a.pdf"
    with path.open("wb") as handle:
        pdf.write_letters(handle, head, [letter("7")])
    text = " ".join(page_texts(path)[0].split())
    assert "bis zum Ende der Online-Erfassung mitzuteilen" in text
    assert "Bitte bis:" not in text  # the info block leaves the line out
