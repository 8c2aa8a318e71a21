"""Unit tests: numbers, dates, validator rules and messages, profiles, sniffing, cells."""

import datetime
import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from ablesung.formats import (
    FINANZ_PLUS_STANDARD,
    FormatError,
    Limits,
    MeterRow,
    Profile,
    RowError,
    Validator,
    cell_to_str,
    detect,
    iter_rows,
    parse_date,
    parse_meter_kind,
    parse_number,
    propose_mapping,
)
from tests.formats.helpers import TODAY
from tests.formats.xlsx_factory import make_xlsx, sample_rows

HEADER = sample_rows(0)[0]
ROW = sample_rows(1)[1]


def cells(**changes: str) -> list[str]:
    row = list(ROW)
    for label, value in changes.items():
        row[HEADER.index(label.replace("_", " "))] = value
    return row


def feed(*rows: list[str], header: list[str] = HEADER, **kwargs: object) -> list[RowError]:
    validator = Validator(FINANZ_PLUS_STANDARD, header, today=TODAY, **kwargs)  # type: ignore[arg-type]
    errors: list[RowError] = []
    for line, row in enumerate(rows, start=2):
        result = validator.feed(line, row)
        if not isinstance(result, MeterRow):
            errors.extend(result)
    return errors + validator.finish()


@pytest.mark.parametrize(
    ("text", "comma", "result"),
    [
        ("76414", True, (Decimal(76414), 0)),
        (" 42 ", True, (Decimal(42), 0)),
        ("76.414", True, (Decimal(76414), 0)),
        ("1.234.567", True, (Decimal(1234567), 0)),
        ("7.64", True, "invalid"),
        ("12,5", True, (Decimal("12.5"), 1)),
        ("12,50", True, (Decimal("12.5"), 1)),
        ("76414,0", True, (Decimal(76414), 0)),
        ("12.5", False, (Decimal("12.5"), 1)),
        ("1,234", False, (Decimal(1234), 0)),
        ("-5", True, "negative"),
        ("-0", True, (Decimal(0), 0)),
        ("n/a", True, "invalid"),
        ("1e5", True, "invalid"),
        ("١٢", True, "invalid"),
        ("12,", True, "invalid"),
        ("", True, "empty"),
    ],
)
def test_parse_number(text: str, comma: bool, result: object) -> None:
    assert parse_number(text, comma) == result


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("31.12.2025", datetime.date(2025, 12, 31)),
        ("1.1.2025", datetime.date(2025, 1, 1)),
        ("2025-12-31", datetime.date(2025, 12, 31)),
        ("16.01.2026 00:00", datetime.date(2026, 1, 16)),
        ("2026-01-16T10:30:00", datetime.date(2026, 1, 16)),
        ("31.02.2025", None),
        ("31.12.25", None),
        ("1.1.25x", None),
        ("12/31/2025", None),
        ("", None),
        ("01.01.0001", None),
    ],
)
def test_parse_date(text: str, result: datetime.date | None) -> None:
    assert parse_date(text) == result


def test_parse_date_with_slashes_by_profile() -> None:
    assert parse_date("31/12/2025", "DD/MM/YYYY") == datetime.date(2025, 12, 31)
    assert parse_date("12/31/2025", "MM/DD/YYYY") == datetime.date(2025, 12, 31)


def test_meter_kinds() -> None:
    assert parse_meter_kind("Hauptwasserzähler") == "water_main"
    assert parse_meter_kind("GARTENWASSERZÄHLER") == "water_garden"
    assert parse_meter_kind(" unterzaehler ") == "water_sub"
    assert parse_meter_kind("Stromzähler") == "electricity"
    assert parse_meter_kind("gaszähler") == "gas"
    assert parse_meter_kind("Wärmezähler") == "heat"
    assert parse_meter_kind("") == "water_main"
    assert parse_meter_kind("Wasseruhr") is None


def test_exact_date_message() -> None:
    (error,) = feed(cells(Ablesedatum_alt="31.02.2025"))
    assert error.text == "Zeile 2, Spalte „Ablesedatum alt“: „31.02.2025“ ist kein gültiges Datum."
    assert (error.line, error.column, error.value) == (2, "Ablesedatum alt", "31.02.2025")


def test_value_must_fit_the_digits() -> None:
    assert feed(cells(Stellen="4", Zählerstand_alt="9999")) == []
    (error,) = feed(cells(Stellen="4", Zählerstand_alt="10000"))
    assert error.message == "„10000“ passt nicht zu einem Zähler mit 4 Stellen."
    (error,) = feed(cells(Stellen="13"))
    assert error.message == "„13“ ist keine gültige Stellenzahl (1 bis 12)."


def test_default_digits_and_kind_when_empty() -> None:
    validator = Validator(FINANZ_PLUS_STANDARD, HEADER, today=TODAY)
    row = validator.feed(2, cells(Stellen="", Zählerart=""))
    assert isinstance(row, MeterRow)
    assert (row.digits, row.meter_kind) == (5, "water_main")


def test_decimals_only_where_allowed() -> None:
    (error,) = feed(cells(Zählerstand_alt="123,5"))
    assert error.message == (
        "„123,5“ ist keine ganze Zahl; dieser Zähler hat keine Nachkommastellen."
    )
    assert (
        feed(
            cells(Zählerart="Stromzähler", Zählerstand_alt="123,5"),
            decimals_by_kind={"electricity": 1},
        )
        == []
    )
    (error,) = feed(
        cells(Zählerart="Stromzähler", Zählerstand_alt="123,55"),
        decimals_by_kind={"electricity": 1},
    )
    assert error.message == "„123,55“ hat mehr als 1 Nachkommastellen."


def test_unknown_meter_kind() -> None:
    (error,) = feed(cells(Zählerart="Wasseruhr"))
    assert error.message.startswith("„Wasseruhr“ ist keine bekannte Zählerart (erlaubt: Haupt")


def test_long_values_are_bounded_and_shortened_in_messages() -> None:
    name = "A" * 201
    (error,) = feed(cells(Name=name))
    assert error.message == f"„{'A' * 59}…“ ist zu lang (201 Zeichen, höchstens 200)."
    assert error.value == name
    (error,) = feed(cells(Bemerkung="x" * 10_001))
    assert error.column == "Bemerkung"
    assert "10.001 Zeichen" in error.message


def test_formula_like_text_is_valid() -> None:
    validator = Validator(FINANZ_PLUS_STANDARD, HEADER, today=TODAY)
    row = validator.feed(2, cells(Name='=HYPERLINK("http://x";"y")', Vorname="@SUM(1)"))
    assert isinstance(row, MeterRow)
    assert row.owner_last_name == '=HYPERLINK("http://x";"y")'


def test_wrong_number_of_cells() -> None:
    (error,) = feed(ROW[:-1])
    assert error.text == "Zeile 2: Die Zeile hat 17 statt 18 Spalten."


def test_property_rows_must_agree_and_customer_numbers_belong_to_one_object() -> None:
    first = cells(Zählernummer="A1")
    moved = cells(Zählernummer="A2", Straße="Neue Straße")
    (error,) = feed(first, moved)
    assert error.text == (
        "Zeile 3, Spalte „Straße“: „Neue Straße“ weicht von Zeile 2 ab (dort „Gartenstraße“); "
        "alle Zeilen des Objekts „6-00001-002“ müssen gleich sein."
    )
    other = cells(Zählernummer="A3", Objektnummer="9-99999-999")
    (error,) = feed(first, other)
    assert error.message == "„60.766.000001“ gehört schon zu Objekt „6-00001-002“ (Zeile 2)."


def test_registers_share_a_meter_number() -> None:
    header = [*HEADER, "Zählwerk"]
    ht, nt = [*ROW, "HT"], [*ROW, "NT"]
    assert feed(ht, nt, header=header) == []
    (error,) = feed(ht, list(ht), header=header)
    assert error.message == "„66978001“ kommt mehrfach vor (zuerst in Zeile 2)."
    (error,) = feed(ht, [*ROW, "XT"], header=header)
    assert error.message == "„XT“ ist kein gültiges Zählwerk (erlaubt: HT, NT oder leer)."


def test_missing_required_columns() -> None:
    with pytest.raises(FormatError, match="Diese Spalten fehlen in der Datei: „Zählernummer“"):
        Validator(FINANZ_PLUS_STANDARD, [h for h in HEADER if h != "Zählernummer"], today=TODAY)
    profile = Profile("leer", {"object_number": "Objektnummer"})
    with pytest.raises(FormatError, match="Pflichtfelder sind keiner Spalte zugeordnet"):
        Validator(profile, HEADER, today=TODAY)


def test_empty_file_and_row_error_text_without_line() -> None:
    (error,) = feed()
    assert error.text == "Die Datei enthält keine Zählerzeilen."


def test_validation_is_fast() -> None:
    rows = []
    for i in range(100_000):
        row = list(ROW)
        row[0] = f"O{i // 2}"
        row[1] = f"K{i // 2}"
        row[8] = f"M{i}"
        rows.append(row)
    validator = Validator(FINANZ_PLUS_STANDARD, HEADER, today=TODAY)
    start = time.perf_counter()
    for line, row in enumerate(rows, start=2):
        assert isinstance(validator.feed(line, row), MeterRow)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, elapsed  # ~0.5 s on the dev machine; generous for CI


def test_profile_round_trips_through_json() -> None:
    profile = Profile(
        "Meine Gemeinde",
        {"object_number": "Obj", "meter_number": "Zähler-Nr."},
        date_format="YYYY-MM-DD",
        decimal_comma=False,
        encoding="utf-8",
        separator="\t",
        header_row=3,
        sheet="Tabelle1",
        decimals_by_kind={"gas": 3},
    )
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    assert Profile.from_dict(FINANZ_PLUS_STANDARD.to_dict()) == FINANZ_PLUS_STANDARD
    assert FINANZ_PLUS_STANDARD.name == "FINANZ+ (Standard)"


@pytest.mark.parametrize(
    "data",
    [
        {"name": "x", "columns": {"nope": "X"}},
        {"name": "x", "columns": {}, "date_format": "YY"},
        {"name": "x", "columns": {}, "header_row": 0},
        {"name": "x", "columns": {}, "encoding": "latin-2"},
        {"name": 3, "columns": {}},
    ],
)
def test_bad_profiles(data: dict[str, object]) -> None:
    with pytest.raises(FormatError, match="Importprofil ist ungültig"):
        Profile.from_dict(data)


def test_propose_mapping_is_forgiving() -> None:
    header = [
        " objektnummer ",
        "Kundennummer",
        "NAME",
        "Vorname",
        "Strasse",
        "Hausnr.",
        "PLZ",
        "Ort",
        "Zählernr.",
        "Zaehlerart",
        "Stellen",
        "Ablesedatum alt",
        "Zaehlerstand alt",
        "Vorjahresverbrauch",
        "Irgendwas",
    ]
    mapping = propose_mapping(header, FINANZ_PLUS_STANDARD)
    assert mapping == {
        "object_number": " objektnummer ",
        "customer_number": "Kundennummer",
        "owner_last_name": "NAME",
        "owner_first_name": "Vorname",
        "street": "Strasse",
        "house_number": "Hausnr.",
        "postal_code": "PLZ",
        "city": "Ort",
        "meter_number": "Zählernr.",
        "meter_kind": "Zaehlerart",
        "digits": "Stellen",
        "previous_date": "Ablesedatum alt",
        "previous_value": "Zaehlerstand alt",
        "previous_year_consumption": "Vorjahresverbrauch",
    }
    profile = Profile("p", mapping)
    assert Validator(profile, header, today=TODAY).index["meter_number"] == 8


def write(tmp_path: Path, data: bytes, name: str = "liste.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_sniff_title_rows_tab_and_bom(tmp_path: Path) -> None:
    lines = ["Zählerliste 2026", "", "\t".join(HEADER), "\t".join(ROW)]
    data = b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n"
    path = write(tmp_path, data)
    detected = detect(path, path.name)
    assert (detected.encoding, detected.bom, detected.separator) == ("utf-8-sig", True, "\t")
    assert (detected.header_row, detected.line_end) == (3, "\n")
    assert detected.header == HEADER
    assert detected.preview == [ROW]
    assert [line for line, _ in iter_rows(path, detected, limits=Limits())] == [4]


def test_sniff_comma_and_overrides(tmp_path: Path) -> None:
    data = ("\r\n".join([",".join(HEADER), ",".join(ROW)]) + "\r\n").encode("cp1252")
    detected = detect(data, "liste.csv")
    assert (detected.separator, detected.encoding) == (",", "cp1252")
    forced = detect(data, "liste.csv", separator=";", header_row=2, encoding="cp1252")
    assert (forced.separator, forced.header_row) == (";", 2)


def test_sniff_encoding_errors() -> None:
    with pytest.raises(FormatError, match=r"weder UTF-8 noch Windows-1252 \(Byte 0x81"):
        detect(b"Name;Ort\r\nA\x81;B\r\n", "liste.csv")
    with pytest.raises(FormatError, match="UTF-16"):
        detect("Name;Ort".encode("utf-16"), "liste.csv")
    with pytest.raises(FormatError, match="nicht in der Kodierung UTF-8"):
        detect("Straße;Ort".encode("cp1252"), "liste.csv", encoding="utf-8")
    with pytest.raises(FormatError, match="keine Textdatei"):
        detect(b"\x00\x01\x02", "liste.csv")


def test_late_encoding_error_names_the_line(tmp_path: Path) -> None:
    data = b"Name;Ort\r\n" + b"A;B\r\n" * 20000 + "Weiß;Köln\r\n".encode("cp1252")
    path = write(tmp_path, data)
    detected = detect(path, path.name)
    assert detected.encoding == "utf-8"
    with pytest.raises(FormatError, match=r"^Zeile 20002: .* nicht in der Kodierung UTF-8 lesbar"):
        list(iter_rows(path, detected, limits=Limits()))


def test_unclosed_quote(tmp_path: Path) -> None:
    data = b'Name;Ort\r\n"A;B\r\n' + b"x" * 200_000 + b"\r\n"
    path = write(tmp_path, data)
    with pytest.raises(FormatError, match="Anführungszeichen"):
        list(iter_rows(path, detect(path, path.name), limits=Limits()))


def test_multiline_cell_keeps_its_start_line(tmp_path: Path) -> None:
    data = b'Name;Ort\r\n"zwei\r\nZeilen";B\r\nC;D\r\n'
    path = write(tmp_path, data)
    rows = list(iter_rows(path, detect(path, path.name), limits=Limits()))
    assert rows == [(2, ["zwei\r\nZeilen", "B"]), (4, ["C", "D"])]


def test_xlsx_title_rows_typed_cells_and_both_engines(tmp_path: Path) -> None:
    header = HEADER
    row: list[object] = list(ROW)
    row[HEADER.index("Ablesedatum alt")] = datetime.datetime(2026, 1, 16)
    row[HEADER.index("Zählerstand alt")] = 76414.0
    row[HEADER.index("Stellen")] = 5
    path = write(tmp_path, make_xlsx([header, row], start_row=2), "liste.xlsx")
    detected = detect(path, path.name)
    assert (detected.kind, detected.sheet, detected.sheets) == ("xlsx", "Zähler", ["Zähler"])
    assert detected.header_row == 3
    assert detected.preamble == [["Zählerliste Musterstadt 2026"], []]
    for cells_limit in (10**9, 0):
        limits = Limits(max_calamine_cells=cells_limit)
        assert list(iter_rows(path, detected, limits=limits)) == [(4, ROW)]


def test_cell_to_str() -> None:
    assert cell_to_str(76414.0) == "76414"
    assert cell_to_str(12.5) == "12,5"
    assert cell_to_str(12.5, decimal_comma=False) == "12.5"
    assert cell_to_str(1e-05) == "0,00001"
    assert cell_to_str(datetime.datetime(2025, 12, 16)) == "16.12.2025"
    assert cell_to_str(datetime.datetime(2025, 12, 16, 8, 30)) == "16.12.2025 08:30"
    assert cell_to_str(datetime.date(2025, 12, 16)) == "16.12.2025"
    assert cell_to_str(None) == ""
    assert cell_to_str(True) == "WAHR"


def test_formats_package_imports_no_django() -> None:
    code = (
        "import sys, ablesung.formats; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'django']; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
