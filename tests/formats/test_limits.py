"""Limits and the XLSX container check: everything is rejected before parsing."""

import io
import zipfile
from pathlib import Path

import pytest

import ablesung.formats.xlsx as xlsx_module
from ablesung.formats import (
    FormatError,
    Limits,
    check_size,
    check_xlsx_container,
    detect,
    iter_rows,
)
from tests.formats.helpers import CLEAN, run
from tests.formats.xlsx_factory import make_xlsx, replace_entry, sample_rows

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>
</worksheet>"""


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a spreadsheet parser is ever reached."""

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("parser reached")

    monkeypatch.setattr(xlsx_module, "open_openpyxl", forbidden)
    monkeypatch.setattr(xlsx_module, "iter_calamine", forbidden)


def write(tmp_path: Path, data: bytes, name: str = "liste.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_oversized_file_is_rejected_before_parsing() -> None:
    limits = Limits(max_bytes=50 * 1024)
    with pytest.raises(FormatError, match=r"^Die Datei ist größer als 50 KB\.$"):
        detect(CLEAN, CLEAN.name, limits=limits)
    detected = detect(CLEAN, CLEAN.name)
    with pytest.raises(FormatError, match="größer als"):
        next(iter_rows(CLEAN, detected, limits=limits))


def test_default_size_message() -> None:
    with pytest.raises(FormatError, match=r"^Die Datei ist größer als 50 MB\.$"):
        check_size(50 * 1024 * 1024 + 1, Limits())


def test_too_many_rows() -> None:
    with pytest.raises(FormatError, match=r"^Die Datei hat mehr als 10 Zeilen\.$"):
        run(CLEAN, limits=Limits(max_rows=10))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="leer"):
        detect(write(tmp_path, b"", "leer.csv"), "leer.csv")


@pytest.mark.usefixtures("no_parsing")
def test_zip_slip_entry_is_rejected(tmp_path: Path) -> None:
    data = replace_entry(make_xlsx(sample_rows(2)), "../../etc/evil.xml", b"<x/>")
    with pytest.raises(FormatError, match=r"unzulässigen Pfad „\.\./\.\./etc/evil\.xml“"):
        detect(write(tmp_path, data), "liste.xlsx")
    data = replace_entry(make_xlsx(sample_rows(2)), "/abs/evil.xml", b"<x/>")
    with pytest.raises(FormatError, match="unzulässigen Pfad"):
        check_xlsx_container(io.BytesIO(data))


@pytest.mark.usefixtures("no_parsing")
def test_too_many_entries(tmp_path: Path) -> None:
    data = make_xlsx(sample_rows(2))
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as zf:
        for i in range(1001):
            zf.writestr(f"xl/media/pad{i}.bin", b"")
    with pytest.raises(FormatError, match=r"mehr als 1\.000 Einträge"):
        detect(write(tmp_path, out.getvalue()), "liste.xlsx")


@pytest.mark.usefixtures("no_parsing")
def test_billion_laughs_in_sheet_is_rejected(tmp_path: Path) -> None:
    data = replace_entry(make_xlsx(sample_rows(2)), "xl/worksheets/sheet1.xml", BILLION_LAUGHS)
    with pytest.raises(FormatError, match=r"DTD/Entitäten.*sheet1\.xml"):
        detect(write(tmp_path, data), "liste.xlsx")


@pytest.mark.usefixtures("no_parsing")
def test_dtd_in_content_types_is_rejected(tmp_path: Path) -> None:
    data = make_xlsx(sample_rows(2))
    content = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    evil = content.replace(b"?>", b'?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
    with pytest.raises(FormatError, match="DTD"):
        detect(write(tmp_path, replace_entry(data, "[Content_Types].xml", evil)), "x.xlsx")


@pytest.mark.usefixtures("no_parsing")
def test_compression_bomb_is_rejected(tmp_path: Path) -> None:
    data = replace_entry(
        make_xlsx(sample_rows(2)), "xl/media/zeros.bin", b"\0" * (20 * 1024 * 1024)
    )
    with pytest.raises(FormatError, match="ZIP-Bombe"):
        detect(write(tmp_path, data), "liste.xlsx")


@pytest.mark.usefixtures("no_parsing")
def test_unpacked_size_limit(tmp_path: Path) -> None:
    data = make_xlsx(sample_rows(2))
    with pytest.raises(FormatError, match="entpackt größer als"):
        detect(write(tmp_path, data), "liste.xlsx", limits=Limits(max_unpacked=2000))


@pytest.mark.usefixtures("no_parsing")
def test_zip_without_workbook(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(FormatError, match="keine Excel-Arbeitsmappe"):
        detect(write(tmp_path, out.getvalue()), "liste.xlsx")


def test_old_xls_is_rejected() -> None:
    with pytest.raises(FormatError, match=r"\.xls"):
        detect(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "liste.xls")


def test_container_check_runs_again_in_the_reader(tmp_path: Path) -> None:
    good = write(tmp_path, make_xlsx(sample_rows(2)))
    detected = detect(good, good.name)
    good.write_bytes(
        replace_entry(make_xlsx(sample_rows(2)), "xl/worksheets/sheet1.xml", BILLION_LAUGHS)
    )
    with pytest.raises(FormatError, match="DTD"):
        list(iter_rows(good, detected, limits=Limits()))
