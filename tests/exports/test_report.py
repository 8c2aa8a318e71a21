"""The Excel report "Ergebnisse der Ableseaktion": read back with openpyxl, python-calamine
and LibreOffice; text stays text; memory does not grow with the lines. No database."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import subprocess
import tempfile
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from ablesung.exports.lines import (
    MISSING,
    SOURCE_LABELS,
    ReleaseLogLine,
    ReportLine,
    TakeoverStatistics,
)
from ablesung.exports.report import (
    LINES_SHEET,
    RELEASE_LOG_HEADERS,
    RELEASE_LOG_SHEET,
    REPORT_HEADERS,
    STATISTICS_SHEET,
    write_report,
)
from ablesung.formats.xlsx_cells import MAX_CELL_CHARS, clean_text

UTC = datetime.UTC
KEY_DATE = datetime.date(2026, 12, 31)
CREATED_AT = datetime.datetime(2026, 12, 7, 20, 55, tzinfo=UTC)  # 21:55 in Berlin
FORMULA_OWNER = '=HYPERLINK("http://x","y")'
FORMULA_COMMENT = "@SUM(1)"
LONG_COMMENT = "Zählerschacht überflutet. " * 200 + "Ende"  # > 5,000 characters
# XlsxWriter writes "<r>…</r>" text unescaped in constant memory mode: this would add a
# formula cell if the report did not write it as an escaped rich string.
RICH_LOOKALIKE = (
    '<r><t>a</t></r></is></c><c r="Z9"><f>1+1</f><v>2</v></c>'
    '<c r="Z10" t="inlineStr"><is><r><t>_x0041_</t></r>'
)

EXPECTED_HEADERS = [
    "Objektnummer",
    "Eigentümer:in",
    "Anschrift",
    "Zählernummer",
    "Zählwerk",
    "Zählerart",
    "Zählerstand alt",
    "Ablesedatum alt",
    "Zählerstand neu",
    "Ablesedatum neu",
    "Zählerstand zum Stichtag",
    "Ableseart",
    "Quelle",
    "Verbrauch",
    "Erwarteter Verbrauch",
    "Plausibilität",
    "Prüfhinweise",
    "Bestätigungsgrund",
    "Bearbeitungsstand",
    "Bemerkung",
    "Foto",
    "Kontrollablesung",
]
COL = {header: index for index, header in enumerate(EXPECTED_HEADERS)}


def make_line(number: int, source: str, **changes: Any) -> ReportLine:
    water = number % 2 == 0
    fields: dict[str, Any] = {
        "object_number": f"OBJ-{number:04d}",
        "owner": f"Weiß, Jürgen {number}",
        "address": f"Gartenstraße {number}, 09111 Chemnitz",
        "meter_number": f"0{number:07d}",
        "register_code": "1",
        "kind": "Wasser" if water else "Strom",
        "decimals": 0 if water else 3,
        "unit": "m³" if water else "kWh",
        "previous_value": Decimal("1234") if water else Decimal("12345.678"),
        "previous_date": datetime.date(2025, 12, 31),
    }
    if source != MISSING:
        fields.update(
            new_value=Decimal("1300") if water else Decimal("13345.125"),
            new_date=datetime.date(2026, 12, 29),
            key_date_value=Decimal("1301") if water else Decimal("13350.5"),
            source_code=source,
            consumption=Decimal("67") if water else Decimal("1004.822"),
            expected=Decimal("70") if water else Decimal("1000"),
            outcome="plausibel",
            state="freigegeben",
        )
    else:
        fields.update(state="offen")
    fields.update(changes)
    return ReportLine(**fields)


def sample_lines() -> list[ReportLine]:
    lines = [make_line(index, code) for index, code in enumerate(SOURCE_LABELS, start=1)]
    lines[0] = make_line(1, "S", owner=FORMULA_OWNER, has_photo=True)
    lines[1] = make_line(
        2,
        "K",
        comment=FORMULA_COMMENT,
        outcome="unplausibel",
        messages="Verbrauch 120 % über Vorjahr\nbitte prüfen",
        confirmation="Leerstand beendet: neue Mieter:innen",
        control_requested=True,
    )
    lines[2] = make_line(3, "T", comment=LONG_COMMENT)
    lines[3] = make_line(4, "V", comment=RICH_LOOKALIKE)
    lines[4] = make_line(5, "W", comment="Zeile 1\r\nZeile 2\x00\x07 _x0041_ Öl")
    lines.append(make_line(8, MISSING, previous_value=None, previous_date=None))
    return lines


def feed(lines: Iterable[ReportLine], statistics: TakeoverStatistics) -> Iterator[ReportLine]:
    """What the export service does: count each line while yielding it, totals at the end."""
    for line in lines:
        statistics.add(line, implausible_released=line.outcome == "unplausibel")
        yield line
    statistics.unreleased_left_out = 2
    statistics.replaced_characters = 4
    statistics.neutralised_cells = 3


def sample_release_log() -> list[ReleaseLogLine]:
    return [
        ReleaseLogLine(
            run_at=datetime.datetime(2026, 7, 1, 10, 0, tzinfo=UTC),  # summer: 12:00
            run_by="Sachbearbeiterin Müller",
            scope="Alle plausiblen",
            object_number="OBJ-0001",
            meter_number="00000001",
            register_code="1",
            value=Decimal("13345.125"),
            reading_date=datetime.date(2026, 6, 29),
            outcome="plausibel",
            released=True,
            reason="",
        ),
        ReleaseLogLine(
            run_at=datetime.datetime(2026, 12, 7, 8, 30, tzinfo=UTC),  # winter: 09:30
            run_by="=cmd|' /C calc'!A0",
            scope="Einzelfreigabe",
            object_number="OBJ-0002",
            meter_number="00000002",
            register_code="1",
            value=Decimal("1300"),
            reading_date=datetime.date(2026, 12, 29),
            outcome="unplausibel",
            released=False,
            reason="-Verbrauch zu hoch",
        ),
    ]


@dataclass
class Written:
    path: Path
    lines: list[ReportLine]
    statistics: TakeoverStatistics
    release_log: list[ReleaseLogLine]


def write_sample(path: Path, release_log: list[ReleaseLogLine] | None = None) -> Written:
    lines = sample_lines()
    log = sample_release_log() if release_log is None else release_log
    statistics = TakeoverStatistics()
    write_report(
        path,
        organisation="Stadtwerke Musterstadt",
        campaign="Jahresablesung 2026",
        key_date=KEY_DATE,
        created_at=CREATED_AT,
        lines=feed(lines, statistics),
        statistics=statistics,
        release_log=iter(log),
    )
    return Written(path, lines, statistics, log)


@pytest.fixture
def written(tmp_path: Path) -> Written:
    return write_sample(tmp_path / "ergebnisse.xlsx")


def row_values(sheet: Any, row: int) -> list[Any]:
    return [cell.value for cell in sheet[row]]


def openpyxl_text(value: Any) -> Any:
    """openpyxl does not decode Excel's escaped underscore "_x005F_" (calamine does)."""
    return value.replace("_x005F_", "_") if isinstance(value, str) else value


def section(sheet: Any, title: str) -> list[list[Any]]:
    """The rows of a statistics table: header row and body, up to the next blank row."""
    rows = [list(values) for values in sheet.iter_rows(values_only=True)]
    start = next(index for index, values in enumerate(rows) if values[0] == title)
    body: list[list[Any]] = []
    for values in rows[start + 1 :]:
        if all(value is None for value in values):
            break
        body.append(values)
    return body


# -- lines sheet ---------------------------------------------------------------------------


def test_sheets_headers_frozen_pane_and_autofilter(written: Written) -> None:
    book = openpyxl.load_workbook(written.path)

    assert book.sheetnames == [LINES_SHEET, STATISTICS_SHEET, RELEASE_LOG_SHEET]
    assert book.sheetnames == ["Zählerstände", "Übernahmestatistik", "Freigabeprotokoll"]
    sheet = book[LINES_SHEET]
    assert list(REPORT_HEADERS) == EXPECTED_HEADERS
    assert row_values(sheet, 1) == EXPECTED_HEADERS
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == len(written.lines) + 1
    assert sheet.auto_filter.ref == f"A1:V{len(written.lines) + 1}"
    assert sheet.column_dimensions["B"].width > 20  # widths were set


def test_one_row_per_line_with_real_numbers_dates_and_texts(written: Written) -> None:
    sheet = openpyxl.load_workbook(written.path)[LINES_SHEET]

    for row, line in enumerate(written.lines, start=2):
        values = row_values(sheet, row)
        assert values[COL["Objektnummer"]] == line.object_number
        assert values[COL["Zählernummer"]] == line.meter_number
        assert values[COL["Zählerart"]] == line.kind
        assert values[COL["Quelle"]] == line.source_label
        assert values[COL["Foto"]] == ("ja" if line.has_photo else "nein")
        assert values[COL["Kontrollablesung"]] == ("ja" if line.control_requested else "nein")
        for header, value in (
            ("Zählerstand alt", line.previous_value),
            ("Zählerstand neu", line.new_value),
            ("Zählerstand zum Stichtag", line.key_date_value),
            ("Verbrauch", line.consumption),
            ("Erwarteter Verbrauch", line.expected),
        ):
            cell = sheet.cell(row, COL[header] + 1)
            if value is None:
                assert cell.value is None  # a blank cell, not an empty string
            else:
                assert isinstance(cell.value, int | float)
                assert cell.data_type == "n"
                assert cell.value == pytest.approx(float(value))
                assert cell.number_format == ("#,##0.000" if line.decimals == 3 else "#,##0")
        for header, day in (
            ("Ablesedatum alt", line.previous_date),
            ("Ablesedatum neu", line.new_date),
        ):
            cell = sheet.cell(row, COL[header] + 1)
            if day is None:
                assert cell.value is None
            else:
                assert isinstance(cell.value, datetime.datetime)
                assert cell.value.date() == day
                assert cell.number_format.lower() == "dd.mm.yyyy"

    missing = row_values(sheet, len(written.lines) + 1)
    assert missing[COL["Ableseart"]] is None
    assert missing[COL["Quelle"]] == "fehlt"
    assert missing[COL["Zählerstand neu"]] is None
    assert missing[COL["Ablesedatum alt"]] is None
    assert row_values(sheet, 2)[COL["Ableseart"]] == "S"
    assert row_values(sheet, 2)[COL["Anschrift"]] == "Gartenstraße 1, 09111 Chemnitz"


def test_formula_like_text_is_written_as_text_not_formulas(written: Written) -> None:
    sheet = openpyxl.load_workbook(written.path)[LINES_SHEET]

    owner = sheet.cell(2, COL["Eigentümer:in"] + 1)
    assert owner.value == FORMULA_OWNER
    assert owner.data_type == "s"
    comment = sheet.cell(3, COL["Bemerkung"] + 1)
    assert comment.value == FORMULA_COMMENT
    assert comment.data_type == "s"
    rich = sheet.cell(5, COL["Bemerkung"] + 1)
    assert rich.value == RICH_LOOKALIKE  # same text, the XML inside escaped
    assert rich.data_type == "s"
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert cells
    assert all(cell.data_type != "f" for cell in cells)
    assert sheet.max_column == len(EXPECTED_HEADERS)  # no injected cell in column Z
    with zipfile.ZipFile(written.path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in archive.read(name), name


def test_long_comments_messages_and_control_characters(written: Written) -> None:
    sheet = openpyxl.load_workbook(written.path)[LINES_SHEET]

    assert sheet.cell(4, COL["Bemerkung"] + 1).value == LONG_COMMENT
    assert len(LONG_COMMENT) > 5_000
    assert (
        sheet.cell(3, COL["Prüfhinweise"] + 1).value == "Verbrauch 120 % über Vorjahr\nbitte prüfen"
    )
    # CRLF became LF, NUL and BEL were removed; the literal "_x0041_" is stored escaped as
    # "_x005F_x0041_", which Excel and calamine decode and openpyxl does not
    assert sheet.cell(6, COL["Bemerkung"] + 1).value == "Zeile 1\nZeile 2 _x005F_x0041_ Öl"
    calamine = CalamineWorkbook.from_path(str(written.path)).get_sheet_by_name(LINES_SHEET)
    assert calamine.to_python()[5][COL["Bemerkung"]] == "Zeile 1\nZeile 2 _x0041_ Öl"


def test_clean_text_keeps_xml_safe_text_and_caps_at_excels_limit() -> None:
    assert clean_text("a\tb\nc") == "a\tb\nc"
    assert clean_text("a\r\nb\rc") == "a\nb\nc"
    assert clean_text("x\x00\x01\x0b\x1f\ufffe\ud800y") == "xy"
    assert clean_text("=1+1") == "=1+1"
    assert clean_text("ä" * MAX_CELL_CHARS) == "ä" * MAX_CELL_CHARS
    capped = clean_text("ä" * 40_000)
    assert len(capped) == MAX_CELL_CHARS
    assert capped.endswith("…")
    # "𝄞" is two UTF-16 code units, as Excel counts them; no pair is cut in half
    astral = clean_text("𝄞" * 20_000)
    assert len(astral.encode("utf-16-le")) // 2 <= MAX_CELL_CHARS
    assert astral.endswith("𝄞…")


def test_over_long_text_is_cut_to_the_cell_limit(tmp_path: Path) -> None:
    statistics = TakeoverStatistics()
    path = tmp_path / "lang.xlsx"
    write_report(
        path,
        organisation="Stadtwerke Musterstadt",
        campaign="Jahresablesung 2026",
        key_date=KEY_DATE,
        created_at=CREATED_AT,
        lines=feed([make_line(1, "S", comment="x" * 50_000)], statistics),
        statistics=statistics,
        release_log=[],
    )

    value = openpyxl.load_workbook(path)[LINES_SHEET].cell(2, COL["Bemerkung"] + 1).value
    assert value == "x" * (MAX_CELL_CHARS - 1) + "…"


# -- statistics sheet ----------------------------------------------------------------------


def test_statistics_sheet_matches_the_takeover_statistics(written: Written) -> None:
    statistics = written.statistics
    assert statistics.lines == 8  # the generator ran to its end before the sheet was written
    sheet = openpyxl.load_workbook(written.path)[STATISTICS_SHEET]

    heading = [list(values[:2]) for values in sheet.iter_rows(max_row=5, values_only=True)]
    assert heading[0][0] == "Übernahmestatistik"
    assert heading[1] == ["Organisation", "Stadtwerke Musterstadt"]
    assert heading[2] == ["Ableseaktion", "Jahresablesung 2026"]
    assert heading[3] == ["Stichtag", datetime.datetime(2026, 12, 31)]
    assert heading[4] == ["Erstellt am", datetime.datetime(2026, 12, 7, 21, 55)]

    by_source = section(sheet, "Zählerstände nach Quelle")
    assert by_source[0][:4] == ["Quelle", "Code", "Anzahl", "Anteil"]
    body = {values[1]: values for values in by_source[1:-1]}
    assert list(body) == [*SOURCE_LABELS, MISSING]
    for code, values in body.items():
        assert values[2] == statistics.by_source[code]
        assert isinstance(values[2], int)
        assert values[3] == pytest.approx(1 / 8)
    assert body["S"][0] == "Online (Bürger:in)"
    assert body[MISSING][0] == "fehlt"
    assert by_source[-1][:4] == ["Summe", None, 8, 1]

    figures = {values[0]: values[2] for values in section(sheet, "Kennzahlen")[1:]}
    assert figures == {
        "Zeilen insgesamt": statistics.lines,
        "Abgelesen (ohne Schätzungen)": statistics.read,
        "davon online (Bürger:innen)": statistics.online,
        "Geschätzt": statistics.estimated,
        "Ohne Zählerstand (fehlt)": statistics.missing,
        "Unplausibel, manuell freigegeben": statistics.implausible_released,
        "Nicht freigegeben, nicht übernommen": 2,
        "Kontrollablesung angefordert": statistics.control_requested,
        "Ersetzte Zeichen (Zeichensatz der Rückgabedatei)": 4,
        "Als Text geschützte Zellen (Formelzeichen)": 3,
    }
    assert (statistics.read, statistics.estimated, statistics.missing) == (5, 2, 1)
    assert statistics.implausible_released == statistics.control_requested == 1

    by_state = section(sheet, "Nach Bearbeitungsstand")
    assert by_state[1][:4] == ["freigegeben", None, 7, pytest.approx(0.875)]
    assert by_state[2][:4] == ["offen", None, 1, pytest.approx(0.125)]
    assert by_state[3][:3] == ["Summe", None, 8]

    by_kind = section(sheet, "Nach Zählerart und Quelle")
    assert by_kind[0] == ["Zählerart", *SOURCE_LABELS, "fehlt", "Summe"]
    rows = {values[0]: values[1:] for values in by_kind[1:]}
    for kind in ("Strom", "Wasser"):
        counts = statistics.by_kind[kind]
        expected = [counts[code] for code in [*SOURCE_LABELS, MISSING]]
        assert rows[kind] == [*expected, sum(expected)]
    assert rows["Summe"] == [1, 1, 1, 1, 1, 1, 1, 1, 8]
    assert sheet["B9"].number_format == "General"
    assert sheet.cell(10, 4).number_format == "0.0%"


def test_statistics_sheet_has_a_chart_of_the_sources(written: Written) -> None:
    with zipfile.ZipFile(written.path) as archive:
        names = archive.namelist()
        chart = archive.read("xl/charts/chart1.xml").decode()
        sheet_rels = archive.read("xl/worksheets/_rels/sheet2.xml.rels").decode()

    assert "xl/charts/chart1.xml" in names
    assert "<c:barChart>" in chart
    # categories (labels) and values (counts) of the by-source table, 8 rows
    assert "Übernahmestatistik!$A$9:$A$16" in chart
    assert "Übernahmestatistik!$C$9:$C$16" in chart
    assert "drawing1.xml" in sheet_rels


def test_workbook_properties(written: Written) -> None:
    book = openpyxl.load_workbook(written.path)
    with zipfile.ZipFile(written.path) as archive:
        app = archive.read("docProps/app.xml").decode()

    assert book.properties.title == "Ergebnisse der Ableseaktion Jahresablesung 2026"
    assert book.properties.subject == "Jahresablesung 2026, Stichtag 31.12.2026"
    assert book.properties.created == datetime.datetime(2026, 12, 7, 20, 55)  # UTC
    assert "<Company>Stadtwerke Musterstadt</Company>" in app


# -- release log ---------------------------------------------------------------------------


def test_release_log_sheet(written: Written) -> None:
    sheet = openpyxl.load_workbook(written.path)[RELEASE_LOG_SHEET]

    assert list(RELEASE_LOG_HEADERS) == row_values(sheet, 1)
    assert row_values(sheet, 1)[:3] == ["Freigabelauf am", "von", "Umfang"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K3"
    first, second = row_values(sheet, 2), row_values(sheet, 3)
    assert first[0] == datetime.datetime(2026, 7, 1, 12, 0)  # Europe/Berlin, summer time
    assert second[0] == datetime.datetime(2026, 12, 7, 9, 30)  # winter time
    assert sheet["A2"].number_format.lower() == "dd.mm.yyyy hh:mm"
    assert first[1:6] == ["Sachbearbeiterin Müller", "Alle plausiblen", "OBJ-0001", "00000001", "1"]
    assert first[6] == pytest.approx(13345.125)
    assert sheet["G2"].number_format == "#,##0.000"
    assert sheet["G3"].number_format == "#,##0"
    assert first[7] == datetime.datetime(2026, 6, 29)
    assert first[8:] == ["plausibel", "ja", None]
    assert second[1] == "=cmd|' /C calc'!A0"
    assert sheet["B3"].data_type == "s"
    assert second[8:] == ["unplausibel", "nein", "-Verbrauch zu hoch"]


def test_empty_release_log_says_so(tmp_path: Path) -> None:
    written = write_sample(tmp_path / "leer.xlsx", release_log=[])
    sheet = openpyxl.load_workbook(written.path)[RELEASE_LOG_SHEET]

    assert row_values(sheet, 1) == list(RELEASE_LOG_HEADERS)
    assert sheet["A2"].value == "Keine Einträge."
    assert sheet.max_row == 2


# -- other readers, other targets ----------------------------------------------------------


def test_calamine_reads_the_same_values(written: Written) -> None:
    book = CalamineWorkbook.from_path(str(written.path))
    openpyxl_book = openpyxl.load_workbook(written.path)

    assert book.sheet_names == [LINES_SHEET, STATISTICS_SHEET, RELEASE_LOG_SHEET]
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        expected = [
            ["" if value is None else openpyxl_text(value) for value in values]
            for values in openpyxl_book[name].iter_rows(values_only=True)
        ]
        assert len(rows) == len(expected), name
        for got, want in zip(rows, expected, strict=True):
            got = got + [""] * (len(want) - len(got))
            for got_value, want_value in zip(got, want, strict=True):
                if isinstance(want_value, datetime.datetime) and not isinstance(
                    got_value, datetime.datetime
                ):
                    want_value = want_value.date()  # calamine gives dates as dates
                if isinstance(want_value, int | float):
                    assert got_value == pytest.approx(want_value), name
                else:
                    assert got_value == want_value, name
    lines = book.get_sheet_by_name(LINES_SHEET).to_python()
    assert lines[1][COL["Eigentümer:in"]] == FORMULA_OWNER
    assert lines[4][COL["Bemerkung"]] == RICH_LOOKALIKE


def test_writes_to_a_binary_file_object(written: Written) -> None:
    buffer = io.BytesIO()
    statistics = TakeoverStatistics()
    write_report(
        buffer,
        organisation="Stadtwerke Musterstadt",
        campaign="Jahresablesung 2026",
        key_date=KEY_DATE,
        created_at=CREATED_AT,
        lines=feed(sample_lines(), statistics),
        statistics=statistics,
        release_log=sample_release_log(),
    )

    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    from_path = openpyxl.load_workbook(written.path)
    for name in book.sheetnames:
        assert list(book[name].values) == list(from_path[name].values)


def test_a_failing_generator_writes_nothing_and_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))

    def broken() -> Iterator[ReportLine]:
        yield make_line(1, "S")
        raise RuntimeError("Datenbank weg")

    path = tmp_path / "kaputt.xlsx"
    with pytest.raises(RuntimeError, match="Datenbank weg"):
        write_report(
            path,
            organisation="Stadtwerke Musterstadt",
            campaign="Jahresablesung 2026",
            key_date=KEY_DATE,
            created_at=CREATED_AT,
            lines=broken(),
            statistics=TakeoverStatistics(),
            release_log=[],
        )

    assert not path.exists()
    assert list(temporary.iterdir()) == []


def test_a_naive_creation_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "naiv.xlsx"
    with pytest.raises(ValueError, match="Zeitzone"):
        write_report(
            path,
            organisation="Stadtwerke Musterstadt",
            campaign="Jahresablesung 2026",
            key_date=KEY_DATE,
            created_at=datetime.datetime(2026, 12, 7, 20, 55),
            lines=[],
            statistics=TakeoverStatistics(),
            release_log=[],
        )
    assert not path.exists()


def test_libreoffice_opens_the_report(written: Written, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) ist nicht installiert")
    out = tmp_path / "csv"
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",  # comma, quote, UTF-8
            "--outdir",
            str(out),
            str(written.path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    converted = out / "ergebnisse.csv"
    assert converted.exists(), result.stdout + result.stderr
    text = converted.read_text(encoding="utf-8")
    assert "Objektnummer" in text.splitlines()[0]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == EXPECTED_HEADERS
    assert len(rows) == len(written.lines) + 1
    assert rows[1][COL["Eigentümer:in"]] == FORMULA_OWNER  # not run: the text itself
    assert rows[2][COL["Bemerkung"]] == FORMULA_COMMENT
    assert rows[4][COL["Bemerkung"]] == RICH_LOOKALIKE


# -- memory --------------------------------------------------------------------------------


def many_lines(count: int) -> Iterator[ReportLine]:
    """Distinct, sparse lines (few cells each, so that the test stays quick under
    tracemalloc): a list of 50,000 of them alone takes about 16 MB."""
    for number in range(count):
        yield ReportLine(
            object_number=f"OBJ-{number:06d}",
            owner="",
            address="",
            meter_number=f"{number:08d}",
            register_code="",
            kind="Wasser",
            decimals=0,
            unit="m³",
            previous_value=Decimal(number),
            previous_date=None,
        )


def test_memory_stays_constant_for_many_lines(tmp_path: Path) -> None:
    count = 50_000
    statistics = TakeoverStatistics()
    path = tmp_path / "gross.xlsx"
    tracemalloc.start()
    try:
        write_report(
            path,
            organisation="Stadtwerke Musterstadt",
            campaign="Jahresablesung 2026",
            key_date=KEY_DATE,
            created_at=CREATED_AT,
            lines=feed(many_lines(count), statistics),
            statistics=statistics,
            release_log=[],
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert statistics.lines == count
    # measured: under 1 MB; holding the lines (about 16 MB) or XlsxWriter's cell table
    # without constant_memory (about 45 MB) would exceed the bound
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB"
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > 5 * 1024 * 1024
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(LINES_SHEET).to_python()
    assert len(rows) == count + 1
    assert rows[-1][COL["Objektnummer"]] == f"OBJ-{count - 1:06d}"
    assert rows[-1][COL["Zählerstand alt"]] == count - 1
    assert rows[-1][COL["Quelle"]] == "fehlt"
