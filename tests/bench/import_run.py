"""One measured run in a fresh process (so that peak RSS belongs to this run alone).

    python import_run.py service FILE      # the full import service (Django, this DATABASE_URL)
    python import_run.py baseline FILE     # csv + sqlite3.executemany / COPY of the same rows

Prints one JSON line: {"seconds": …, "rows": …, "peak_rss_mb": …}.
"""

import csv
import json
import os
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(path: Path) -> dict[str, float]:
    url = os.environ.get("DATABASE_URL", "")
    started = time.perf_counter()
    with path.open(encoding="cp1252", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        columns = ", ".join(f"c{i} text" for i in range(len(header)))
        marks = ", ".join("?" * len(header))
        if url.startswith("postgres"):
            import psycopg

            with psycopg.connect(url.replace("postgres://", "postgresql://")) as pg:
                # a real (logged) table, like the import's tables; dropped with the database
                pg.execute(f"CREATE TABLE raw_rows (id bigserial PRIMARY KEY, {columns})")
                names = ", ".join(f"c{i}" for i in range(len(header)))
                with pg.cursor().copy(f"COPY raw_rows ({names}) FROM STDIN") as copy:
                    count = 0
                    for count, row in enumerate(reader, start=1):  # noqa: B007
                        copy.write_row(row)
        else:
            import sqlite3

            conn = sqlite3.connect(url.removeprefix("sqlite:///"))
            conn.execute(f"CREATE TABLE raw_rows (id integer PRIMARY KEY, {columns})")
            rows = list(reader)
            count = len(rows)
            with conn:
                names = ", ".join(f"c{i}" for i in range(len(header)))
                conn.executemany(f"INSERT INTO raw_rows ({names}) VALUES ({marks})", rows)  # noqa: S608
            conn.close()
    return {"seconds": time.perf_counter() - started, "rows": count, "peak_rss_mb": peak_rss_mb()}


def service(path: Path) -> dict[str, float]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    from ablesung.core.models import Organisation
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import (
        NewCampaign,
        import_meter_list_now,
    )
    from ablesung.formats import FINANZ_PLUS_STANDARD

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(slug="bench", name="Bench")
    actor = Actor.system("bench")
    import datetime

    started = time.perf_counter()
    with path.open("rb") as handle:
        result, _ = import_meter_list_now(
            NewCampaign("Bench", datetime.date(2026, 12, 31)),
            File(handle, name=path.name),
            original_name=path.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=org,
            actor=actor,
        )
    seconds = time.perf_counter() - started
    if result.status != "succeeded":
        raise SystemExit(f"import did not succeed: {result.message}")
    return {"seconds": seconds, "rows": result.counts["rows"], "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    mode, file = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(service(file) if mode == "service" else baseline(file)))
