"""Benchmark: checking 100,000 readings vs reading the same 100,000 meter rows with the ORM.

Target (issue 4): the checks (swap check included) cost at most half of the ORM read
(ratio ≤ 0.5), so that release and export of the largest campaign never wait on plausibility.

Each database is measured in a fresh process (peak RSS belongs to that run alone):
SQLite in a temporary file, PostgreSQL in a fresh database ``ablesung_bench_plaus`` when
DATABASE_URL (or BENCH_POSTGRES_URL) points to a server. Setup uses raw inserts; only the
measured read goes through the ORM.

    python tests/bench/bench_plausibility.py            # all databases, prints the report
    python tests/bench/bench_plausibility.py --measure  # one run against DATABASE_URL (JSON)
"""

import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
PG_DATABASE = "ablesung_bench_plaus"
KEY_DATE = datetime.date(2026, 12, 31)
TODAY = datetime.date(2027, 1, 8)
CHUNK = 5000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- plain data ----------------------------------------------------------------------------------


def generate(rows: int) -> list[dict[str, Any]]:
    """``rows`` meters on properties of about two meters each, realistic and reproducible.

    Mostly plausible readings; a few leaks, vacancies, typed decimals, overflows, readings far
    from the key date and swapped main/garden meters, so that every rule and the
    property-level swap check do real work. Every tenth property heats with gas.
    """
    rng = random.Random(4)
    meters: list[dict[str, Any]] = []
    prop = 0
    while len(meters) < rows:
        prop += 1
        count = min(rng.choice((1, 2, 2, 2, 3)), rows - len(meters))
        gas = prop % 10 == 0
        group = []
        for position in range(count):
            kind = "gas" if gas and position == 0 else ("water_main", "water_garden")[position > 0]
            digits = rng.choice((5, 5, 5, 6, 4)) if kind != "gas" else 6
            modulus = 10**digits
            q = Decimal(rng.randint(5, 300) if kind != "gas" else rng.randint(3000, 20000))
            previous_date = KEY_DATE - datetime.timedelta(days=365 + rng.randint(-5, 5))
            reading_date = KEY_DATE - datetime.timedelta(days=rng.randint(0, 10))
            previous = Decimal(rng.randrange(0, modulus * 9 // 10))
            roll = rng.random()
            factor = Decimal(str(round(rng.gauss(1.0, 0.15), 3)))
            if roll < 0.03:
                factor = Decimal(rng.choice((0, 4, 10)))  # vacancy, leak, typed decimals
            elif roll < 0.04:
                previous = Decimal(modulus - rng.randint(1, 40))  # the counter wraps
            elif roll < 0.05:
                reading_date = KEY_DATE - datetime.timedelta(days=rng.randint(40, 90))
            consumption = (q * max(factor, Decimal(0))).to_integral_value()
            value = (previous + consumption) % modulus
            group.append(
                {
                    "property": prop,
                    "number": f"Z{len(meters) + position + 1:07d}",
                    "kind": kind,
                    "digits": digits,
                    "previous": previous,
                    "previous_date": previous_date,
                    "q": q,
                    "value": value,
                    "reading_date": reading_date,
                }
            )
        if len(group) >= 2 and rng.random() < 0.02:
            first, second = group[0], group[1]
            if first["kind"] == second["kind"] or "gas" not in (first["kind"], second["kind"]):
                first["value"], second["value"] = second["value"], first["value"]
        meters.extend(group)
    return meters


# --- one measured run ---------------------------------------------------------------------------


def measure() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from ablesung.core.models import Campaign, CampaignMeter, Organisation
    from ablesung.core.scoping import organisation_scope

    call_command("migrate", verbosity=0)
    data = generate(ROWS)
    org = Organisation.objects.create(slug="bench-plaus", name="Bench Plausibilität")
    with organisation_scope(org):
        campaign = Campaign.objects.create(organisation=org, name="Bench", key_date=KEY_DATE)
    started = time.perf_counter()
    insert_rows(data, org.pk, campaign.pk)
    setup_seconds = time.perf_counter() - started
    setup_rss = peak_rss_mb()

    def orm_read() -> int:
        count = 0
        with organisation_scope(org):
            queryset = CampaignMeter.objects.select_related("register__meter__property")
            for link in queryset.iterator(chunk_size=2000):
                count += link.register.meter.property_id > 0
        return count

    read_seconds, read_count = best_of(orm_read)
    groups = prepare(data, org)
    check_seconds, (checked, outcomes, swapped) = best_of(lambda: check_all(groups))
    assert read_count == checked == ROWS, (read_count, checked)
    return {
        "rows": ROWS,
        "properties": len(groups),
        "setup_seconds": setup_seconds,
        "read_seconds": read_seconds,
        "check_seconds": check_seconds,
        "outcomes": outcomes,
        "swapped_hints": swapped,
        "setup_rss_mb": setup_rss,
        "peak_rss_mb": peak_rss_mb(),
    }


def best_of[T](run: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    result: Any = None
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def insert_rows(data: Sequence[dict[str, Any]], org_id: int, campaign_id: int) -> None:
    """Properties, meters, registers and campaign meters with raw multi-row inserts."""
    from django.db import connection, transaction

    from ablesung.lib.folding import search_key

    now = datetime.datetime.now(datetime.UTC).isoformat()
    properties: dict[int, tuple[Any, ...]] = {}
    meters, registers, links = [], [], []
    for pk, row in enumerate(data, start=1):
        prop = row["property"]
        if prop not in properties:
            properties[prop] = (
                prop,
                org_id,
                now,
                None,
                f"O{prop:07d}",
                f"K{prop:07d}",
                f"Eigentümer {prop}",
                "",
                "Hauptstraße",
                str(prop % 300 + 1),
                "12345",
                "Musterstadt",
                "",
                # the search keys (core/models/search_key.py)
                search_key(f"O{prop:07d}"),
                search_key(f"K{prop:07d}"),
                search_key(f"Eigentümer {prop}"),
                search_key("Hauptstraße", str(prop % 300 + 1)),
            )
        meters.append(
            (
                pk,
                org_id,
                now,
                None,
                prop,
                row["number"],
                row["kind"],
                row["digits"],
                0,
                "",
                search_key(row["number"]),
            )
        )
        registers.append((pk, org_id, now, pk, ""))
        links.append(
            (
                pk,
                org_id,
                now,
                campaign_id,
                pk,
                str(row["previous"]),
                row["previous_date"].isoformat(),
                False,
                str(row["q"]),
                pk + 1,
                "[]",
            )
        )
    tables = [
        (
            "core_property",
            "id, organisation_id, created_at, deleted_at, object_number, customer_number, "
            "owner_last_name, owner_first_name, street, house_number, postal_code, city, email, "
            "object_key, customer_key, owner_key, street_key",
            list(properties.values()),
        ),
        (
            "core_meter",
            "id, organisation_id, created_at, deleted_at, property_id, number, kind, digits, "
            "decimals, location_hint, number_key",
            meters,
        ),
        ("core_register", "id, organisation_id, created_at, meter_id, code", registers),
        (
            "core_campaignmeter",
            "id, organisation_id, created_at, campaign_id, register_id, previous_value, "
            "previous_date, previous_was_estimate, previous_year_consumption, row_number, raw_row",
            links,
        ),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, rows in tables:
            marks = ", ".join(["%s"] * len(rows[0]))
            for start in range(0, len(rows), CHUNK):
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                    rows[start : start + CHUNK],
                )
        if connection.vendor == "postgresql":
            for table, _columns, _rows in tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT MAX(id) FROM {table}))"
                )


Group = list[Any]


def prepare(data: Iterable[dict[str, Any]], org: Any) -> list[Group]:
    """The plain inputs of the checks, grouped by property (not measured)."""
    from ablesung.core.services.plausibility_settings import weights_for
    from ablesung.plausibility import (
        PreviousReading,
        PreviousYearConsumption,
        ReadingInput,
        Register,
    )

    weights = {kind: weights_for(org, kind) for kind in ("gas", "water_main", "water_garden")}
    registers = {digits: Register(digits) for digits in range(1, 10)}
    groups: dict[int, Group] = {}
    for row in data:
        groups.setdefault(row["property"], []).append(
            ReadingInput(
                value=row["value"],
                reading_date=row["reading_date"],
                register=registers[row["digits"]],
                previous=PreviousReading(row["previous"], row["previous_date"]),
                previous_year=PreviousYearConsumption(row["q"]),
                weights=weights[row["kind"]],
                unit="kWh" if row["kind"] == "gas" else "m³",
                meter=row["number"],
            )
        )
    return list(groups.values())


def check_all(groups: Sequence[Group]) -> tuple[int, dict[str, int], int]:
    from ablesung.plausibility import Thresholds, check_property

    thresholds = Thresholds()
    outcomes: dict[str, int] = {}
    count = swapped = 0
    for group in groups:
        for result in check_property(group, today=TODAY, key_date=KEY_DATE, thresholds=thresholds):
            count += 1
            name = result.outcome.name.lower()
            outcomes[name] = outcomes.get(name, 0) + 1
            swapped += any(f.code == "hint.swapped_meters" for f in result.findings)
    return count, outcomes, swapped


# --- orchestration --------------------------------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def fresh_postgres(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = url.rpartition("/")
    return f"{base}/{name}"


def drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run(env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"plausibility bench failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(label: str, result: dict[str, Any]) -> None:
    rows, read, check = result["rows"], result["read_seconds"], result["check_seconds"]
    ratio = check / read
    verdict = "OK" if ratio <= 0.5 else "MISSED"
    outcomes = ", ".join(f"{name} {count:,}" for name, count in sorted(result["outcomes"].items()))
    print(
        f"{label}: {rows:,} meters on {result['properties']:,} properties "
        f"(raw setup {result['setup_seconds']:.1f} s)\n"
        f"  (a) ORM read (select_related register→meter→property): {read:6.2f} s "
        f"{rows / read:10,.0f} rows/s\n"
        f"  (b) check_property incl. swap check:                   {check:6.2f} s "
        f"{rows / check:10,.0f} readings/s\n"
        f"  ratio (b)/(a) = {ratio:.2f} (target ≤ 0.5: {verdict})   "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (after setup {result['setup_rss_mb']:.0f} MB)\n"
        f"  outcomes: {outcomes}; swapped-meter hints: {result['swapped_hints']:,}",
        flush=True,
    )


def main() -> None:
    if "--measure" in sys.argv[1:]:
        print(json.dumps(measure()))
        return
    print(f"best of {REPEAT} runs each; set BENCH_ROWS / BENCH_REPEAT to change", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base_env = {
            **os.environ,
            "ABLESUNG_VAR_DIR": str(work / "var"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "ablesung.settings",
        }
        report("SQLite", run({**base_env, "DATABASE_URL": f"sqlite:///{work / 'plaus.sqlite3'}"}))
        pg = postgres_url()
        if pg is None:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)", flush=True)
            return
        url = fresh_postgres(pg, PG_DATABASE)
        try:
            report("PostgreSQL", run({**base_env, "DATABASE_URL": url}))
        finally:
            drop_postgres(pg, PG_DATABASE)


if __name__ == "__main__":
    main()
