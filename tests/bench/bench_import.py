"""Benchmark: the meter-list import of 100,000 rows vs a baseline measured in the same run.

Targets (issue 13), peak RSS ≤ 300 MB on both databases:

* SQLite: import ≤ 5 × reading the same file with ``csv`` and inserting its rows with
  ``sqlite3.executemany`` into one table;
* PostgreSQL: import ≤ 2 × the database's own floor, ``INSERT … SELECT`` of the finished
  rows (already staged) into the real property, meter, register and campaign-meter tables
  with every constraint, committed (see ``import_run.postgres_floor``).

PostgreSQL runs when DATABASE_URL points to one (or BENCH_POSTGRES_URL is set). The XLSX
import is reported against the same baseline for information.
"""

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.bench.meter_list_generator import write, write_xlsx

HERE = Path(__file__).resolve().parent

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
# rounds of baseline, CSV import and XLSX import, alternating so that all see the machine's
# drift; each figure is the fastest of its rounds
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def run(mode: str, file: Path, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(HERE / "import_run.py"), mode, str(file)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def postgres_url() -> str | None:
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def fresh_sqlite(work: Path, name: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        (work / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{work / name}.sqlite3"


def fresh_postgres(url: str, name: str) -> str:
    import psycopg

    admin = url.replace("postgres://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = url.rpartition("/")
    return f"{base}/{name}"


TARGETS = {"SQLite": 5.0, "PostgreSQL": 2.0}
MAX_RSS_MB = 300
BASELINES = {
    "SQLite": "csv + executemany",
    "PostgreSQL": "INSERT … SELECT floor",
}


def report(label: str, database: str, ours: dict[str, float], base: dict[str, float]) -> None:
    ratio = ours["seconds"] / base["seconds"]
    print(
        f"{label:<16} import {ours['seconds']:6.2f} s  {ours['rows'] / ours['seconds']:8,.0f} rows/s  "
        f"peak RSS {ours['peak_rss_mb']:4.0f} MB (≤ {MAX_RSS_MB}) | "
        f"{BASELINES[database]} {base['seconds']:5.2f} s "
        f"| ratio {ratio:4.2f} (target ≤ {TARGETS[database]:g})",
        flush=True,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv_file = write(work / "zaehler.csv", ROWS)
        xlsx_file = write_xlsx(work / "zaehler.xlsx", ROWS)
        print(
            f"{ROWS:,} rows, CSV {csv_file.stat().st_size / 1e6:.1f} MB, XLSX {xlsx_file.stat().st_size / 1e6:.1f} MB"
        )
        base_env = {**os.environ, "ABLESUNG_VAR_DIR": str(work / "var"), "LOG_LEVEL": "WARNING"}
        targets: list[tuple[str, Callable[[str], str]]] = [
            ("SQLite", lambda n: fresh_sqlite(work, n))
        ]
        pg = postgres_url()
        if pg:
            targets.append(("PostgreSQL", lambda n: fresh_postgres(pg, f"ablesung_bench_{n}")))
        else:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)")
        for label, make_url in targets:
            runs: dict[str, list[dict[str, float]]] = {"base": [], "csv": [], "xlsx": []}
            for _round in range(ROUNDS):
                for name, mode, file in (
                    ("base", "baseline", csv_file),
                    ("csv", "service", csv_file),
                    ("xlsx", "service", xlsx_file),
                ):
                    runs[name].append(run(mode, file, {**base_env, "DATABASE_URL": make_url(name)}))
            base, ours, xlsx = (min(runs[name], key=lambda r: r["seconds"]) for name in runs)
            print(
                f"{label} rounds (s): "
                + "; ".join(
                    f"{name} " + " ".join(f"{r['seconds']:.2f}" for r in results)
                    for name, results in runs.items()
                ),
                flush=True,
            )
            if "copy_seconds" in base:
                print(
                    f"{label}: floor {base['seconds']:.2f} s for {base['inserted']:,.0f} rows in "
                    f"4 tables (foreign keys checked at commit {base['deferred_seconds']:.2f} s, "
                    f"per statement {base['immediate_seconds']:.2f} s; staging the rows by "
                    f"COPY before: {base['copy_seconds']:.2f} s)",
                    flush=True,
                )
            report(f"{label} CSV", label, ours, base)
            report(f"{label} XLSX", label, xlsx, base)


if __name__ == "__main__":
    main()
