"""One measured run in a fresh process (so that peak RSS belongs to this run alone).

    python import_run.py service FILE    # the full import service (Django, this DATABASE_URL);
                                         # BENCH_WRITER=orm: with tests/core/orm_writer.py
    python import_run.py baseline FILE   # SQLite: csv + sqlite3.executemany of the same rows
                                         # PostgreSQL: the database's floor (see postgres_floor)

Prints one JSON line: {"seconds": …, "rows": …, "peak_rss_mb": …}.
"""

import csv
import datetime
import json
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ablesung.lib.folding import search_key

KEY_DATE = datetime.date(2026, 12, 31)
KINDS = {"Hauptwasserzähler": "water_main", "Gartenwasserzähler": "water_garden"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sqlite_baseline(path: Path) -> dict[str, float]:
    """Reading the file with ``csv`` and inserting its rows with ``executemany``."""
    import sqlite3

    url = os.environ.get("DATABASE_URL", "")
    started = time.perf_counter()
    with path.open(encoding="cp1252", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        columns = ", ".join(f"c{i} text" for i in range(len(header)))
        names = ", ".join(f"c{i}" for i in range(len(header)))
        marks = ", ".join("?" * len(header))
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute(f"CREATE TABLE raw_rows (id integer PRIMARY KEY, {columns})")
        rows = list(reader)
        with conn:
            conn.executemany(f"INSERT INTO raw_rows ({names}) VALUES ({marks})", rows)  # noqa: S608
        conn.close()
    return {
        "seconds": time.perf_counter() - started,
        "rows": len(rows),
        "peak_rss_mb": peak_rss_mb(),
    }


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


PROPERTY_COLUMNS = (
    "object_number",
    "customer_number",
    "owner_last_name",
    "owner_first_name",
    "street",
    "house_number",
    "postal_code",
    "city",
)
COLUMNS = {
    "core_property": (
        "id",
        "organisation_id",
        "created_at",
        *PROPERTY_COLUMNS,
        "email",
        # the search keys (core/models/search_key.py), as the import stores them
        "object_key",
        "customer_key",
        "owner_key",
        "street_key",
    ),
    "core_meter": (
        "id",
        "organisation_id",
        "created_at",
        "property_id",
        "number",
        "kind",
        "digits",
        "decimals",
        "location_hint",
        "number_key",
    ),
    "core_register": ("id", "organisation_id", "created_at", "meter_id", "code"),
    "core_campaignmeter": (
        "organisation_id",
        "created_at",
        "campaign_id",
        "register_id",
        "previous_was_estimate",
        "previous_value",
        "previous_date",
        "previous_year_consumption",
        "raw_row",
        "row_number",
    ),
}


def _finished_rows(
    path: Path, organisation_id: int, campaign_id: int
) -> dict[str, list[tuple[Any, ...]]]:
    """The file's rows as the import stores them, per table (:data:`COLUMNS`), ids assigned."""
    now = datetime.datetime.now(datetime.UTC)
    tables: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    properties, meters, registers, links = tables.values()
    property_ids: dict[str, int] = {}
    with path.open(encoding="cp1252", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        for line, cells in enumerate(reader, start=2):
            property_id = property_ids.get(cells[0])
            if property_id is None:
                property_id = property_ids[cells[0]] = len(property_ids) + 1
                keys = (
                    search_key(cells[0]),
                    search_key(cells[1]),
                    search_key(cells[2], cells[3]),
                    search_key(cells[4], cells[5]),
                )
                properties.append((property_id, organisation_id, now, *cells[0:8], "", *keys))
            meter_id = len(meters) + 1
            kind, digits = KINDS[cells[9]], int(cells[10])
            meters.append(
                (
                    meter_id,
                    organisation_id,
                    now,
                    property_id,
                    cells[8],
                    kind,
                    digits,
                    0,
                    "",
                    search_key(cells[8]),
                )
            )
            registers.append((meter_id, organisation_id, now, meter_id, ""))
            day, month, year = map(int, cells[11].split("."))
            links.append(
                (
                    organisation_id,
                    now,
                    campaign_id,
                    meter_id,
                    False,
                    Decimal(cells[12]),
                    datetime.date(year, month, day),
                    Decimal(cells[13]),
                    json.dumps(cells, ensure_ascii=False),
                    line,
                )
            )
    return tables


def postgres_floor(path: Path) -> dict[str, float]:
    """The database's own floor: ``INSERT … SELECT`` of the finished rows, committed.

    The file's rows, already turned into the rows of the property, meter, register and
    campaign-meter tables (ids assigned, as the import does), are copied into staging
    tables first (not timed). Timed: one transaction that inserts them from there into the
    real tables with every index and constraint (unique keys, the organisation foreign key
    on every table, the structural foreign keys) and commits, so that the deferred foreign
    key checks are in the time. Done twice into emptied tables, with the foreign keys
    checked at the commit (the schema's default) and at each statement's end (as the import
    does); the floor is the faster of the two.
    """
    _setup_django()
    from django.db import connection

    from ablesung.core.models import Campaign, Organisation

    org = Organisation.objects.create(slug="floor", name="Floor")
    campaign = Campaign.objects.create(organisation=org, name="Floor", key_date=KEY_DATE)
    tables = _finished_rows(path, org.pk, campaign.pk)
    connection.ensure_connection()
    raw = connection.connection  # psycopg, autocommit like Django outside atomic blocks
    seconds: dict[str, float] = {}
    with raw.cursor() as cursor:
        copying = time.perf_counter()
        for table, rows in tables.items():
            columns = ", ".join(COLUMNS[table])
            cursor.execute(
                f"CREATE TEMPORARY TABLE stage_{table} AS SELECT {columns} "  # noqa: S608
                f"FROM {table} WITH NO DATA"
            )
            with cursor.copy(f"COPY stage_{table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"ANALYZE stage_{table}")
        copy_seconds = time.perf_counter() - copying
        for checks in ("DEFERRED", "IMMEDIATE"):
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            started = time.perf_counter()
            with raw.transaction():
                cursor.execute(f"SET CONSTRAINTS ALL {checks}")
                for table in tables:
                    columns = ", ".join(COLUMNS[table])
                    cursor.execute(
                        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM stage_{table}"  # noqa: S608
                    )
            seconds[checks] = time.perf_counter() - started
    return {
        "seconds": min(seconds.values()),
        "rows": len(tables["core_campaignmeter"]),
        "peak_rss_mb": peak_rss_mb(),
        "copy_seconds": copy_seconds,
        "deferred_seconds": seconds["DEFERRED"],
        "immediate_seconds": seconds["IMMEDIATE"],
        "inserted": sum(map(len, tables.values())),
    }


def service(path: Path) -> dict[str, float]:
    _setup_django()
    from django.core.files import File

    from ablesung.core.models import Organisation
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
    from ablesung.formats import FINANZ_PLUS_STANDARD

    if os.environ.get("BENCH_WRITER") == "orm":
        # the ORM alternative to the bulk writer: bulk_create/bulk_update (tests/core/orm_writer.py)
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout
        from ablesung.core.services import meter_import
        from tests.core.orm_writer import OrmWriter

        meter_import.BulkWriter = OrmWriter  # type: ignore[attr-defined,assignment]
    org = Organisation.objects.create(slug="bench", name="Bench")
    actor = Actor.system("bench")
    started = time.perf_counter()
    with path.open("rb") as handle:
        result, _ = import_meter_list_now(
            NewCampaign("Bench", KEY_DATE),
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


def baseline(path: Path) -> dict[str, float]:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return postgres_floor(path)
    return sqlite_baseline(path)


if __name__ == "__main__":
    mode, file = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(service(file) if mode == "service" else baseline(file)))
