"""The return file, pure: the imported layout kept, the reading columns filled."""

import codecs
import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ablesung.formats import (
    FINANZ_PLUS_STANDARD,
    ExportValue,
    FileLayout,
    Limits,
    Profile,
    ReturnFile,
    detect,
    iter_rows,
)
from ablesung.formats.return_file import export_columns, format_date, format_value

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
CLEAN = SAMPLES / "musterstadt-2026.csv"
DIRTY = SAMPLES / "musterstadt-2026-dirty.csv"
DAY = datetime.date(2026, 12, 30)


def read(path: Path) -> tuple[FileLayout, list[list[str]]]:
    detected = detect(path, path.name)
    return FileLayout.from_detected(detected), [
        cells for _line, cells in iter_rows(path, detected, limits=Limits())
    ]


def value(
    number: str = "12345",
    code: str = "S",
    comment: str = "",
    key_date_value: Decimal | None = None,
) -> ExportValue:
    return ExportValue(
        reading_date=DAY,
        value=Decimal(number),
        source_code=code,
        comment=comment,
        key_date_value=key_date_value,
    )


def test_without_values_the_clean_sample_comes_back_byte_for_byte(tmp_path: Path) -> None:
    layout, rows = read(CLEAN)
    out = tmp_path / "back.csv"
    count = ReturnFile(layout, FINANZ_PLUS_STANDARD).write(((row, None) for row in rows), out)
    assert count == len(rows) == 400
    assert out.read_bytes() == CLEAN.read_bytes()


def test_the_dirty_sample_keeps_every_cell_but_neutralises_formula_names(tmp_path: Path) -> None:
    layout, rows = read(DIRTY)
    return_file = ReturnFile(layout, FINANZ_PLUS_STANDARD)
    out = tmp_path / "back.csv"
    return_file.write(((row, None) for row in rows), out)
    _layout, back = read(out)
    assert len(back) == len(rows)
    name = layout.header.index("Name")
    neutralised = 0
    for original, written in zip(rows, back, strict=True):
        for index, (cell, new) in enumerate(zip(original, written, strict=False)):
            if index == name and cell[:1] in ("=", "+", "-", "@"):
                assert new == "'" + cell
                neutralised += 1
            else:
                assert new == cell
    assert neutralised == return_file.neutralised_cells >= 3
    assert out.read_bytes().startswith(DIRTY.read_bytes()[:50])  # cp1252, same header bytes


def test_reading_columns_are_filled_in_the_profiles_formats(tmp_path: Path) -> None:
    layout, rows = read(CLEAN)
    return_file = ReturnFile(layout, FINANZ_PLUS_STANDARD)
    filled = return_file.row(rows[0], value("76432", "K", "Zähler\nim Keller;  nass"))
    header = layout.header
    assert filled[header.index("Ablesedatum neu")] == "30.12.2026"
    assert filled[header.index("Zählerstand neu")] == "76432"
    assert filled[header.index("Ableseart")] == "K"
    assert filled[header.index("Bemerkung")] == "Zähler im Keller; nass"
    # every other cell is the imported one
    others = [i for i, h in enumerate(header) if h not in ("Ablesedatum neu", "Zählerstand neu")]
    others = [i for i in others if header[i] not in ("Ableseart", "Bemerkung")]
    assert [filled[i] for i in others] == [rows[0][i] for i in others]


def test_values_keep_the_registers_decimals_and_the_profiles_separator() -> None:
    assert format_value(Decimal("12.3"), 3, decimal_comma=True) == "12,300"
    assert format_value(Decimal("76432.0000"), 0, decimal_comma=True) == "76432"
    assert format_value(Decimal("1.5"), 1, decimal_comma=False) == "1.5"
    assert format_date(DAY, "YYYY-MM-DD") == "2026-12-30"
    assert format_date(DAY, "MM/DD/YYYY") == "12/30/2026"


def test_comment_formulas_are_neutralised_and_foreign_characters_replaced() -> None:
    layout, rows = read(CLEAN)
    return_file = ReturnFile(layout, FINANZ_PLUS_STANDARD)
    comment = layout.header.index("Bemerkung")
    assert return_file.row(rows[0], value(comment="=1+1"))[comment] == "'=1+1"
    # cp1252 has ä, ó and €, not ő, Ł, ź or an emoji: base letters where they exist, else "?"
    cells = return_file.row(rows[0], value(comment="Grüße € Győr Łódź 😀"))
    assert cells[comment] == "Grüße € Gyor ?ódz ?"
    assert return_file.replaced_characters == 4
    assert return_file.neutralised_cells == 1


def test_reordered_extra_columns_utf8_bom_lf_keep_their_layout(tmp_path: Path) -> None:
    header = [
        "Zählernummer",
        "Interne Notiz",
        "Name",
        "Objektnummer",
        "Kassenzeichen",
        "Straße",
        "Ablesedatum alt",
        "Zählerstand alt",
        "Vorjahresverbrauch",
        "Bemerkung",
        "Zählerstand neu",
        "Tarifgruppe",
        "Ablesedatum neu",
        "Ableseart",
        "Zählerstand Stichtag",
    ]
    lines = [
        "\n".join(
            [
                ",".join(header),
                'M-1,"Schlüssel, beim Nachbarn",Œuvre GmbH,1-1,K1,Weg 1,01.01.2026,100,50,,,T7,,,',
                "M-2,,=cmd,1-2,K2,Weg 2,01.01.2026,200,60,,,T8,,,",
            ]
        )
        + "\n"
    ]
    source = tmp_path / "billing.csv"
    source.write_bytes(codecs.BOM_UTF8 + lines[0].encode("utf-8"))
    layout, rows = read(source)
    assert (layout.encoding, layout.bom, layout.separator, layout.line_end) == (
        "utf-8-sig",
        True,
        ",",
        "\n",
    )
    profile = Profile(
        name="Eigenes Profil",
        columns={
            "object_number": "Objektnummer",
            "customer_number": "Kassenzeichen",
            "owner_last_name": "Name",
            "street": "Straße",
            "meter_number": "Zählernummer",
            "previous_date": "Ablesedatum alt",
            "previous_value": "Zählerstand alt",
            "previous_year_consumption": "Vorjahresverbrauch",
        },
    )
    return_file = ReturnFile(layout, profile)
    out = tmp_path / "back.csv"
    return_file.write(
        [(rows[0], value("150", "S", "🙂 ok", key_date_value=Decimal("151"))), (rows[1], None)], out
    )
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert b"\r\n" not in data
    _layout, back = read(out)
    assert _layout.header == header  # same columns, same order, nothing appended
    first = dict(zip(header, back[0], strict=True))
    assert first["Interne Notiz"] == "Schlüssel, beim Nachbarn"
    assert first["Tarifgruppe"] == "T7"
    assert first["Name"] == "Œuvre GmbH"
    assert first["Zählerstand neu"] == "150"
    assert first["Ablesedatum neu"] == "30.12.2026"
    assert first["Ableseart"] == "S"
    assert first["Bemerkung"] == "🙂 ok"  # UTF-8 holds everything: nothing replaced
    assert first["Zählerstand Stichtag"] == "151"
    second = dict(zip(header, back[1], strict=True))
    assert second["Name"] == "'=cmd"
    assert second["Zählerstand neu"] == ""
    assert second["Tarifgruppe"] == "T8"
    assert return_file.replaced_characters == 0


def test_a_file_without_reading_columns_gets_them_appended(tmp_path: Path) -> None:
    layout = FileLayout(
        kind="csv",
        encoding="cp1252",
        separator=";",
        quotechar='"',
        line_end="\r\n",
        bom=False,
        header=["Objektnummer", "Zählernummer"],
    )
    profile = Profile(
        name="Kurz", columns={"object_number": "Objektnummer", "meter_number": "Zählernummer"}
    )
    return_file = ReturnFile(layout, profile)
    assert return_file.header == [
        "Objektnummer",
        "Zählernummer",
        "Ablesedatum neu",
        "Zählerstand neu",
        "Ableseart",
        "Bemerkung",
    ]
    assert return_file.row(["1", "M"], value("7", "A")) == ["1", "M", "30.12.2026", "7", "A", ""]
    assert return_file.row(["1", "M"], None) == ["1", "M", "", "", "", ""]


def test_export_columns_prefer_the_profiles_names_and_skip_import_columns() -> None:
    header = ["Objektnummer", "Stand neu", "Zählerstand neu", "Bemerkung", "Stichtagsstand"]
    profile = Profile(
        name="P",
        columns={"object_number": "Objektnummer", "new_value": "Stand neu", "comment": "Bemerkung"},
    )
    assert export_columns(header, profile) == {
        "new_value": 1,
        "comment": 3,
        "key_date_value": 4,
    }
    # "Bemerkung" read by the import as a location hint is never overwritten
    importing = Profile(name="Q", columns={"location_hint": "Bemerkung"})
    assert "comment" not in export_columns(header, importing)


def test_an_unknown_source_code_is_refused() -> None:
    with pytest.raises(ValueError, match="source code"):
        value(code="X")


def test_an_xlsx_layout_is_written_as_xlsx_with_real_types(tmp_path: Path) -> None:
    layout = FileLayout(
        kind="xlsx",
        encoding="",
        separator="",
        quotechar="",
        line_end="",
        bom=False,
        header=[*[*FINANZ_PLUS_STANDARD.columns.values()][:3], "Zählerstand neu", "Bemerkung"],
        header_row=2,
        sheet="Ablesung",
        preamble=[["Export vom 01.12.2026"]],
    )
    return_file = ReturnFile(layout, FINANZ_PLUS_STANDARD)
    out = tmp_path / "back.xlsx"
    rich_like = "<r><t>x</t></r>"
    return_file.write(
        [(["1-1", "K1", "=Name"], value("42", comment=rich_like)), (["1-2", "K2", "B"], None)], out
    )
    sheet = openpyxl.load_workbook(out)["Ablesung"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Export vom 01.12.2026"
    assert list(rows[1][:5]) == layout.header[:5]
    header = return_file.header
    first = dict(zip(header, rows[2], strict=False))
    assert first["Name"] == "'=Name"
    assert first["Zählerstand neu"] == 42
    assert first["Ablesedatum neu"] == datetime.datetime(2026, 12, 30)
    assert first["Bemerkung"] == rich_like  # text, never raw XML
    assert sheet.cell(row=3, column=header.index("Bemerkung") + 1).data_type == "s"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
