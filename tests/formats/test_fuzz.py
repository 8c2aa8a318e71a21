"""Fuzzing: broken input gives FormatError or RowErrors, never another exception."""

import io
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ablesung.formats import FormatError, Limits, detect
from tests.formats.helpers import CLEAN, DIRTY, run
from tests.formats.xlsx_factory import make_xlsx, replace_entry, sample_rows

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLEAN_BYTES = CLEAN.read_bytes()
DIRTY_BYTES = DIRTY.read_bytes()
XLSX_BYTES = make_xlsx(sample_rows(15))
SHEET_XML = zipfile.ZipFile(io.BytesIO(XLSX_BYTES)).read("xl/worksheets/sheet1.xml")


def survive(data: bytes, name: str, limits: Limits | None = None) -> None:
    """Run the whole pure pipeline; only FormatError may escape."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            run(path, limits=limits)
        except FormatError as exc:
            message, text = exc.message, str(exc)
        else:
            return
    assert message
    assert text == message


@FUZZ
@given(data=st.binary(max_size=2000), name=st.sampled_from(["a.csv", "a.xlsx", "a.txt"]))
def test_random_bytes(data: bytes, name: str) -> None:
    survive(data, name)


@FUZZ
@given(text=st.text(max_size=500), encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_random_text(text: str, encoding: str) -> None:
    survive(text.encode(encoding, errors="replace"), "a.csv")


@FUZZ
@given(cut=st.integers(0, len(CLEAN_BYTES)))
def test_truncated_sample(cut: int) -> None:
    survive(CLEAN_BYTES[:cut], "liste.csv")


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(DIRTY_BYTES) - 1), st.binary(max_size=4), st.integers(0, 4)),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_sample(edits: list[tuple[int, bytes, int]]) -> None:
    data = bytearray(DIRTY_BYTES)
    for pos, insert, delete in edits:
        data[pos : pos + delete] = insert
    survive(bytes(data), "liste.csv", Limits(max_rows=400))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(XLSX_BYTES)))
def test_truncated_xlsx(cut: int) -> None:
    survive(XLSX_BYTES[:cut], "liste.xlsx")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(st.tuples(st.integers(0, len(XLSX_BYTES) - 1), st.integers(0, 255)), max_size=5)
)
def test_corrupt_xlsx_bytes(flips: list[tuple[int, int]]) -> None:
    data = bytearray(XLSX_BYTES)
    for pos, value in flips:
        data[pos] = value
    survive(bytes(data), "liste.xlsx")


def test_xlsx_whose_directory_points_before_the_file_start() -> None:
    """The end record claims the central directory lies further on than it does: every entry
    then starts before byte 0, and reading one fails in the operating system (found by the
    fuzzer above)."""
    data = bytearray(XLSX_BYTES)
    end = data.rfind(b"PK\x05\x06")
    (directory,) = struct.unpack_from("<I", data, end + 16)
    struct.pack_into("<I", data, end + 16, directory + 100)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "liste.xlsx"
        path.write_bytes(bytes(data))
        with pytest.raises(FormatError) as raised:
            detect(path, path.name)
    assert raised.value.message == "Die Excel-Datei ist beschädigt oder keine gültige .xlsx-Datei."


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(SHEET_XML) - 1),
            st.sampled_from([b"", b"<", b">", b"&", b'"', b"</row>", b"<c>", b"\xff", b"x"]),
            st.integers(0, 30),
        ),
        min_size=1,
        max_size=5,
    ),
    engine=st.sampled_from(["calamine", "openpyxl"]),
)
def test_corrupt_sheet_xml(edits: list[tuple[int, bytes, int]], engine: str) -> None:
    """Well-formed ZIP, broken XML inside: the parsers' errors become FormatError."""
    sheet = bytearray(SHEET_XML)
    for pos, insert, delete in edits:
        sheet[pos : pos + delete] = insert
    data = replace_entry(XLSX_BYTES, "xl/worksheets/sheet1.xml", bytes(sheet))
    limits = Limits(max_calamine_cells=10**9 if engine == "calamine" else 0)
    survive(data, "liste.xlsx", limits)
    # and straight into the row reader, with the detection of the intact file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "liste.xlsx"
        path.write_bytes(XLSX_BYTES)
        detected = detect(path, path.name)
        path.write_bytes(data)
        try:
            run(path, detected=detected, limits=limits)
        except FormatError as exc:
            message = exc.message
        else:
            message = "ok"
    assert message
