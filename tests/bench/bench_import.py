"""Benchmark: the meter-list import of 100,000 rows vs a raw baseline, SQLite and PostgreSQL.

Target (issue 3): import ≤ 4 × baseline, peak RSS ≤ 300 MB, on both databases.
PostgreSQL runs when DATABASE_URL points to one (or BENCH_POSTGRES_URL is set).
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


def fresh_postgres(url: str, name: str) -> str:
    import psycopg

    admin = url.replace("postgres://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = url.rpartition("/")
    return f"{base}/{name}"


def report(label: str, ours: dict[str, float], raw: dict[str, float]) -> None:
    ratio = ours["seconds"] / raw["seconds"]
    print(
        f"{label:<22} import {ours['seconds']:6.2f} s  {ours['rows'] / ours['seconds']:8,.0f} rows/s  "
        f"peak RSS {ours['peak_rss_mb']:5.0f} MB | baseline {raw['seconds']:5.2f} s "
        f"(RSS {raw['peak_rss_mb']:4.0f} MB) | ratio {ratio:4.2f} (target ≤ 4)",
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
            ("SQLite", lambda n: f"sqlite:///{work / n}.sqlite3")
        ]
        pg = postgres_url()
        if pg:
            targets.append(("PostgreSQL", lambda n: fresh_postgres(pg, f"ablesung_bench_{n}")))
        else:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)")
        for label, make_url in targets:
            raw = run("baseline", csv_file, {**base_env, "DATABASE_URL": make_url("raw")})
            ours = run("service", csv_file, {**base_env, "DATABASE_URL": make_url("csv")})
            report(f"{label} CSV", ours, raw)
            xlsx = run("service", xlsx_file, {**base_env, "DATABASE_URL": make_url("xlsx")})
            report(f"{label} XLSX", xlsx, raw)


if __name__ == "__main__":
    main()
