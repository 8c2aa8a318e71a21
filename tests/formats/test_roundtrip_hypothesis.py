"""Any table of valid rows, in any supported CSV layout or as XLSX, reads to the same data."""

import csv
import datetime
import io
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ablesung.formats import (
    METER_KIND_LABELS,
    FileLayout,
    Limits,
    cell_from_json,
    cell_to_str,
    iter_rows,
    iter_rows_typed,
    write_csv,
)
from tests.formats.helpers import TODAY, run

COLUMNS = [
    "Objektnummer",
    "Kassenzeichen",
    "Name",
    "Vorname",
    "Straße",
    "Hausnummer",
    "PLZ",
    "Ort",
    "Zählernummer",
    "Zählerart",
    "Stellen",
    "Ablesedatum alt",
    "Zählerstand alt",
    "Vorjahresverbrauch",
]
EXTRA = ["Ablesedatum neu", "Zählerstand neu", "Ableseart", "Bemerkung", "Sonstiges"]

# cp1252-encodable, with the characters that force quoting or look like formulas
ALPHABET = "abcXYZ019 äöüÄÖÜßé€;,\"'=+-@()/"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def clean_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return (
        st.text(alphabet=ALPHABET, min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda s: len(s) >= min_size)
    )


@dataclass
class Meter:
    number: str
    kind_label: str
    digits: int
    date: datetime.date
    value: int
    consumption: int


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    """Header (some order, maybe extra columns) and rows of typed cells."""
    n_props = draw(st.integers(1, 6))
    props = []
    for i in range(n_props):
        props.append(
            {
                "Objektnummer": f"{i}-{draw(clean_text(1, 8))}",
                "Kassenzeichen": f"K{i}.{draw(clean_text(0, 8))}",
                "Name": draw(clean_text(1, 20)),
                "Vorname": draw(clean_text(0, 10)),
                "Straße": draw(clean_text(1, 20)),
                "Hausnummer": draw(clean_text(0, 5)),
                "PLZ": draw(st.from_regex(r"\A0[0-9]{4}\Z") | st.just("")),
                "Ort": draw(clean_text(0, 20)),
            }
        )
    rows = []
    n_rows = draw(st.integers(1, 12))
    for j in range(n_rows):
        prop = props[draw(st.integers(0, n_props - 1))]
        digits = draw(st.integers(1, 12))
        label = draw(st.sampled_from([*METER_KIND_LABELS.values(), ""]))
        label = draw(st.sampled_from([label, label.upper(), label.lower()]))
        meter = Meter(
            number=f"M{j}{draw(clean_text(0, 6))}",
            kind_label=label,
            digits=digits,
            date=draw(st.dates(datetime.date(1990, 1, 1), TODAY)),
            value=draw(st.integers(0, 10**digits - 1)),
            consumption=draw(st.integers(0, 10**6)),
        )
        rows.append((prop, meter))
    extra = draw(st.lists(st.sampled_from(EXTRA), unique=True, max_size=3))
    header = draw(st.permutations(COLUMNS + extra))
    date_style = draw(st.sampled_from(["%d.%m.%Y", "iso", "short"]))
    table = []
    for prop, meter in rows:
        values: dict[str, Any] = dict(prop)
        values.update(
            {
                "Zählernummer": meter.number,
                "Zählerart": meter.kind_label,
                "Stellen": meter.digits,
                "Ablesedatum alt": meter.date,
                "Zählerstand alt": meter.value,
                "Vorjahresverbrauch": meter.consumption,
            }
        )
        for name in extra:
            values[name] = draw(clean_text(0, 10))
        cells = []
        for name in header:
            value = values[name]
            if isinstance(value, datetime.date):
                if date_style == "iso":
                    value = value.isoformat()
                elif date_style == "short":
                    value = f"{value.day}.{value.month}.{value.year}"
                else:
                    value = value.strftime("%d.%m.%Y")
            cells.append(value)
        table.append(cells)
    return header, table


def expected(header: list[str], table: list[list[Any]]) -> list[tuple[Any, ...]]:
    out = []
    for cells in table:
        v = dict(zip(header, cells, strict=True))
        kind = {label.lower(): code for code, label in METER_KIND_LABELS.items()}.get(
            str(v["Zählerart"]).lower(), "water_main"
        )
        date = v["Ablesedatum alt"]
        if isinstance(date, str):
            if "-" in date:
                date = datetime.date.fromisoformat(date)
            else:
                d, m, y = date.split(".")
                date = datetime.date(int(y), int(m), int(d))
        out.append(
            (
                v["Objektnummer"],
                v["Kassenzeichen"],
                v["Name"],
                v["Vorname"],
                v["Straße"],
                v["Hausnummer"],
                v["PLZ"],
                v["Ort"],
                v["Zählernummer"],
                kind,
                int(v["Stellen"]),
                date,
                Decimal(int(v["Zählerstand alt"])),
                Decimal(int(v["Vorjahresverbrauch"])),
            )
        )
    return out


def got(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.object_number,
            r.customer_number,
            r.owner_last_name,
            r.owner_first_name,
            r.street,
            r.house_number,
            r.postal_code,
            r.city,
            r.meter_number,
            r.meter_kind,
            r.digits,
            r.previous_date,
            r.previous_value,
            r.previous_year_consumption,
        )
        for r in rows
    ]


@SETTINGS
@given(
    table=tables(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    separator=st.sampled_from([";", ",", "\t"]),
    line_end=st.sampled_from(["\r\n", "\n", "\r"]),
)
def test_csv_tables_read_to_the_same_rows(
    table: tuple[list[str], list[list[Any]]], encoding: str, separator: str, line_end: str
) -> None:
    header, cells = table
    text_rows = [[str(c) for c in row] for row in cells]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=separator, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(text_rows)
    data = buffer.getvalue().encode(encoding)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "liste.csv"
        path.write_bytes(data)
        rows, errors, detected = run(path)
        assert errors == []
        assert detected.separator == separator
        assert detected.line_end == line_end
        assert detected.bom == (encoding == "utf-8-sig")
        assert detected.header == header
        assert got(rows) == expected(header, cells)
        assert [r.raw for r in rows] == text_rows
        # and the layout writes the same bytes back
        out = io.BytesIO()
        write_csv(
            FileLayout.from_detected(detected),
            [c for _l, c in iter_rows(path, detected, limits=Limits())],
            out,
        )
        assert out.getvalue() == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), typed=st.booleans(), engine=st.sampled_from(["calamine", "openpyxl"]))
def test_xlsx_tables_read_to_the_same_rows(
    table: tuple[list[str], list[list[Any]]], typed: bool, engine: str
) -> None:
    header, cells = table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "liste.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("Zähler")
        date_format = wb.add_format({"num_format": "dd.mm.yyyy"})
        ws.write_row(0, 0, header)
        date_col = header.index("Ablesedatum alt")
        raw_expected = []
        for r, row in enumerate(cells, start=1):
            raw_row = []
            for c, value in enumerate(row):
                if typed and isinstance(value, int):
                    ws.write_number(r, c, value)
                    raw_row.append(str(value))
                elif typed and c == date_col:
                    date = expected(header, [row])[0][11]
                    ws.write_datetime(
                        r, c, datetime.datetime.combine(date, datetime.time()), date_format
                    )
                    raw_row.append(date.strftime("%d.%m.%Y"))
                else:
                    ws.write_string(r, c, str(value))
                    raw_row.append(str(value))
            raw_expected.append(raw_row)
        wb.close()
        limits = Limits(max_calamine_cells=10**9 if engine == "calamine" else 0)
        rows, errors, detected = run(path, limits=limits)
        assert errors == []
        assert detected.kind == "xlsx"
        assert detected.sheet == "Zähler"
        assert detected.header == header
        assert got(rows) == expected(header, cells)
        assert [r.raw for r in rows] == raw_expected
        typed_rows = list(iter_rows_typed(path, detected, limits=limits))
        assert [t[1] for t in typed_rows] == raw_expected
        for (_line, _cells, raw), row in zip(typed_rows, cells, strict=True):
            for c, value in enumerate(row):
                if typed and isinstance(value, int):
                    assert raw[c] == value
                elif typed and c == date_col:
                    assert isinstance(raw[c], dict)
                    assert cell_to_str(cell_from_json(raw[c])) == _cells[c]
                else:
                    assert raw[c] == str(value)
