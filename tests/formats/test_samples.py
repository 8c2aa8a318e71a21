"""The two sample files from ../shared/samples: clean imports, dirty rejects exact rows."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ablesung.formats import FileLayout, Limits, detect, iter_rows, write_csv
from tests.formats.helpers import CLEAN, DIRTY, run

# Found by reading the dirty sample (see the test ids for what is wrong with each line).
DIRTY_LINES = {
    16: "Zählerstand alt n/a",
    49: "negative Zählerstand alt",
    52: "missing meter number",
    54: "duplicate meter number of line 53",
    61: "duplicate meter number of line 60",
    111: "missing meter number",
    112: "owner name differs from line 111 (formula-like name on the same object)",
    123: "missing Zählerstand alt",
    160: "duplicate meter number of line 159",
    174: "date 1.1.25x",
    203: "missing meter number",
    207: "missing meter number",
    271: "date in the future",
    290: "date in the future",
}


def test_clean_sample_validates_completely() -> None:
    rows, errors, detected = run(CLEAN)
    assert errors == []
    assert len(rows) == 400
    assert (detected.kind, detected.encoding, detected.separator) == ("csv", "cp1252", ";")
    assert (detected.line_end, detected.header_row, detected.bom) == ("\r\n", 1, False)
    first = rows[0]
    assert first.line == 2
    assert first.object_number == "6-00001-002"
    assert first.customer_number == "60.766.000001"
    assert first.owner_last_name == "Weiß"
    assert first.meter_number == "66978001"
    assert first.meter_kind == "water_main"
    assert first.digits == 5
    assert first.previous_value == Decimal(76414)
    assert first.previous_year_consumption == Decimal(28)
    assert first.previous_date.isoformat() == "2026-01-16"
    assert len(first.raw) == 18
    quoted = [r for r in rows if r.owner_last_name == "Bäckerei Ähm; Inh. Weiß"]
    assert len(quoted) == 2
    assert any(r.owner_last_name == 'Kita "Sonnenschein"' for r in rows)
    assert {r.meter_kind for r in rows} == {"water_main", "water_garden", "water_sub"}


def test_dirty_sample_rejects_exactly_the_broken_lines() -> None:
    rows, errors, _ = run(DIRTY)
    assert sorted({e.line for e in errors}) == sorted(DIRTY_LINES)
    assert len(rows) == 300 - len(DIRTY_LINES)
    texts = {e.text for e in errors}
    assert "Zeile 16, Spalte „Zählerstand alt“: „n/a“ ist keine gültige Zahl." in texts
    assert "Zeile 49, Spalte „Zählerstand alt“: „-972215“ darf nicht negativ sein." in texts
    assert "Zeile 52, Spalte „Zählernummer“: Pflichtangabe fehlt." in texts
    assert (
        "Zeile 54, Spalte „Zählernummer“: „W8898418“ kommt mehrfach vor (zuerst in Zeile 53)."
        in texts
    )
    assert "Zeile 174, Spalte „Ablesedatum alt“: „1.1.25x“ ist kein gültiges Datum." in texts
    assert "Zeile 271, Spalte „Ablesedatum alt“: „01.01.2099“ liegt in der Zukunft." in texts
    assert (
        "Zeile 112, Spalte „Name“: „@SUM(1+1)*cmd|' /C calc'!A0“ weicht von Zeile 111 ab "
        "(dort „Müller“); alle Zeilen des Objekts „1-00095-004“ müssen gleich sein." in texts
    )


def test_dirty_sample_keeps_formula_like_text_and_long_comments() -> None:
    rows, _, _ = run(DIRTY)
    by_line = {r.line: r for r in rows}
    assert by_line[13].owner_last_name == '=HYPERLINK("http://evil.example";"Klick")'
    assert by_line[277].owner_last_name == "+49 cmd|' /C calc'!A0"
    assert len(by_line[69].raw[17]) == 5000  # Bemerkung is ignored on import, kept raw


@pytest.mark.parametrize("path", [CLEAN, DIRTY], ids=["clean", "dirty"])
def test_read_then_write_reproduces_the_file_byte_for_byte(path: Path) -> None:
    detected = detect(path, path.name)
    rows = [cells for _line, cells in iter_rows(path, detected, limits=Limits())]
    layout = FileLayout.from_detected(detected)
    layout = FileLayout.from_dict(json.loads(json.dumps(layout.to_dict())))  # JSON field
    again = layout.to_detected()
    assert [c for _l, c in iter_rows(path, again, limits=Limits())] == rows
    out = io.BytesIO()
    write_csv(layout, rows, out)
    assert out.getvalue() == path.read_bytes()


def test_detect_from_first_64k_bytes_matches_detect_from_path() -> None:
    data = CLEAN.read_bytes()[: 64 * 1024]
    assert detect(data, CLEAN.name) == detect(CLEAN, CLEAN.name)
