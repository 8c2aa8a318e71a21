"""Compare XLSX readers on 100,000 rows x 18 columns (not collected by pytest).

Run: ``.venv/bin/python tests/formats/bench_xlsx.py [ROWS]``. Every reader runs in a
fresh subprocess so that ``ru_maxrss`` is the reader's own peak.
"""

import datetime
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = [
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
    "Ablesedatum neu",
    "Zählerstand neu",
    "Ableseart",
    "Bemerkung",
]


def write(path: Path, rows: int) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Zähler")
    date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    ws.write_row(0, 0, HEADER)
    for i in range(1, rows + 1):
        ws.write_row(
            i,
            0,
            [
                f"1-{i:05d}-001",
                f"10.000.{i:06d}",
                "Müller",
                "Monika",
                "Gartenstraße",
                str(i % 200),
                "09111",
                "Musterstadt",
                f"W{i:08d}",
                "Hauptwasserzähler",
                5,
            ],
        )
        ws.write_datetime(i, 11, datetime.datetime(2025, 12, 16), date_fmt)
        ws.write_number(i, 12, i % 99999)
        ws.write_number(i, 13, 80)
    wb.close()


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="cp1252", newline="") as fh:
        fh.write(";".join(HEADER) + "\r\n")
        for i in range(1, rows + 1):
            fh.write(
                f"1-{i // 2:05d}-001;10.000.{i // 2:06d};Müller;Monika;Gartenstraße;{i // 2 % 200};"
                f"09111;Musterstadt;W{i:08d};Hauptwasserzähler;5;16.12.2025;{i % 99999};80;;;;\r\n"
            )


def run_reader(which: str, path: str) -> None:
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    t0 = time.perf_counter()
    n = 0
    if which == "calamine":
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(path)
        sheet = wb.get_sheet_by_index(0)
        for _row in sheet.iter_rows():
            n += 1
    elif which == "openpyxl":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for _row in wb.worksheets[0].iter_rows(values_only=True):
            n += 1
        wb.close()
    elif which.startswith("ablesung"):
        # the whole pure pipeline: detect, read, validate (engine forced by the limit)
        from ablesung.formats import FINANZ_PLUS_STANDARD, Limits, Validator, detect, iter_rows

        limits = Limits(max_calamine_cells=10**9 if which.endswith("calamine") else 0)
        p = Path(path)
        det = detect(p, p.name, limits=limits)
        validator = Validator(FINANZ_PLUS_STANDARD, det.header, today=datetime.date(2026, 2, 1))
        bad = 0
        for line, cells in iter_rows(p, det, limits=limits):
            n += 1
            bad += not hasattr(validator.feed(line, cells), "meter_number")
        assert bad == 0, bad
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{which:9s} rows={n} seconds={dt:.2f} peak_rss_mb={rss:.0f} pid={os.getpid()}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--run":
        run_reader(sys.argv[2], sys.argv[3])
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        write(path, rows)
        import zipfile

        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
        print(
            f"file size {path.stat().st_size / 1e6:.1f} MB, unpacked {unpacked / 1e6:.1f} MB, "
            f"{rows} rows x {len(HEADER)} columns"
        )
        base = subprocess.run(
            [
                sys.executable,
                "-c",
                "import resource;import python_calamine, openpyxl;"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"interpreter + imports baseline peak_rss_mb={float(base.stdout):.0f}")
        csv_path = Path(tmp) / "bench.csv"
        write_csv(csv_path, rows)
        for which in ("calamine", "openpyxl", "ablesung-calamine", "ablesung-openpyxl"):
            subprocess.run([sys.executable, __file__, "--run", which, str(path)], check=False)
        print(f"csv size {csv_path.stat().st_size / 1e6:.1f} MB")
        subprocess.run(
            [sys.executable, __file__, "--run", "ablesung-csv", str(csv_path)], check=False
        )


if __name__ == "__main__":
    main()
