"""Benchmark: capture throughput (issue 14) against the portal's submit service, same run.

Readings stored per second through the capture service (``do_capture_reading``, source
"Ablesekarte", with what the screen saw as ``expected``) as a ratio to the portal's submit
service (``do_record_readings`` with source ONLINE, called as the portal's meter form
calls it: the property's lines by the register subquery, a citizen actor) on the same
data: one campaign of ``BENCH_CAPTURE_METERS`` water meters, every register without a
reading, each path storing one plausible reading per register of its own half of the
meters (interleaved, so both halves look alike), after a warm-up of ``WARM_UP`` each. The
two paths alternate in ``BENCH_CAPTURE_ROUNDS`` rounds of one chunk each (the order flips
every round), so both see the machine's drift. The ratio is the median over the rounds
of capture's rate over the portal's rate in the same round; the pooled ratio (all readings
over all seconds of each path) is printed next to it. Both paths run the same SQL statements per reading (printed too: the figure
that does not depend on the machine's load).

Target: capture not slower than the portal's submit, ratio ≥ 1 within noise (≥ 0.95).

SQLite in a temporary directory always; PostgreSQL in a fresh database
``ablesung_bench_capture`` when DATABASE_URL or BENCH_POSTGRES_URL points to a server.
Each database runs in a fresh process (``python bench_capture.py --run``).

    python tests/bench/bench_capture.py
    BENCH_CAPTURE_METERS=2000 python tests/bench/bench_capture.py
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the checkout, for `tests.bench.*`

from tests.bench.bench_import import fresh_postgres, fresh_sqlite, postgres_url  # noqa: E402

METERS = int(os.environ.get("BENCH_CAPTURE_METERS", "4000"))
ROUNDS = int(os.environ.get("BENCH_CAPTURE_ROUNDS", "20"))
WARM_UP = 20
TARGET = 1.0
NOISE = 0.05
PREVIOUS = 1000
CONSUMPTION = 100


def _setup() -> dict[str, Any]:
    """Django on this process's DATABASE_URL: migrate and create the campaign."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import datetime
    from decimal import Decimal

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        CampaignStatus,
        Meter,
        Organisation,
        Property,
        Register,
    )
    from ablesung.core.scoping import organisation_scope

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    org = Organisation.objects.create(slug="bench-capture", name="Bench Erfassung")
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org,
            name="Bench",
            key_date=today,
            online_from=today - datetime.timedelta(days=7),
            online_until=today + datetime.timedelta(days=30),
            status=CampaignStatus.OPEN,
        )
        properties = Property.objects.bulk_create(
            Property(
                organisation=org,
                object_number=f"P{index:06d}",
                customer_number=f"K{index:06d}",
                owner_last_name="Bench",
                street="Weg",
            )
            for index in range(METERS)
        )
        meters = Meter.objects.bulk_create(
            Meter(organisation=org, property=prop, number=f"M{index:06d}", digits=6)
            for index, prop in enumerate(properties)
        )
        registers = Register.objects.bulk_create(
            Register(organisation=org, meter=meter) for meter in meters
        )
        CampaignMeter.objects.bulk_create(
            CampaignMeter(
                organisation=org,
                campaign=campaign,
                register=register,
                previous_value=Decimal(PREVIOUS),
                previous_date=today - datetime.timedelta(days=365),
                previous_year_consumption=Decimal(CONSUMPTION),
                row_number=index,
            )
            for index, register in enumerate(registers)
        )
    return {
        "organisation": org,
        "campaign": campaign,
        "registers": [
            (register.pk, prop) for register, prop in zip(registers, properties, strict=True)
        ],
    }


def run() -> dict[str, Any]:
    """One database: the alternating chunks of both paths; prints the rates as JSON."""
    data = _setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ablesung.core.models import Campaign, Reading, ReadingSource
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.access import PortalAccess
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.capture import CaptureEntry, do_capture_reading
    from ablesung.core.services.readings import Submission, do_record_readings
    from ablesung.portal.pages import property_lines_query

    org = data["organisation"]
    with organisation_scope(org):
        campaign = Campaign.objects.select_related("organisation").get(pk=data["campaign"].pk)
    value = str(PREVIOUS + CONSUMPTION)
    clerk = Actor.system("bench clerk")

    def portal(register_id: int, prop: Any) -> None:
        access = PortalAccess(org, campaign, prop, None)
        with organisation_scope(org):
            lines = property_lines_query(access)
        do_record_readings(
            lines,
            {register_id: Submission(value, campaign.key_date)},
            organisation=org,
            source=ReadingSource.ONLINE,
            actor=Actor(user=None, label=f"portal:{prop.pk}", ip="127.0.0.1"),
        )

    def capture(register_id: int, _prop: Any) -> None:
        do_capture_reading(
            campaign,
            {register_id: CaptureEntry(value, seen=None)},
            organisation=org,
            source=ReadingSource.LETTER,
            actor=clerk,
        )

    pairs = data["registers"]
    halves = {"portal": pairs[0::2], "capture": pairs[1::2]}
    paths = {"portal": portal, "capture": capture}
    for name, path in paths.items():  # warm-up (caches, connections), not measured
        for register_id, prop in halves[name][:WARM_UP]:
            path(register_id, prop)
        halves[name] = halves[name][WARM_UP:]
    counted = {name: half.pop() for name, half in halves.items()}  # for the SQL count below
    per_round = len(halves["portal"]) // ROUNDS
    seconds = {"portal": 0.0, "capture": 0.0}
    counts = {"portal": 0, "capture": 0}
    rounds: dict[str, list[float]] = {"portal": [], "capture": []}
    for round_ in range(ROUNDS):
        order = ("portal", "capture") if round_ % 2 == 0 else ("capture", "portal")
        for name in order:
            chunk = halves[name][round_ * per_round : (round_ + 1) * per_round]
            started = time.perf_counter()
            for register_id, prop in chunk:
                paths[name](register_id, prop)
            elapsed = time.perf_counter() - started
            seconds[name] += elapsed
            counts[name] += len(chunk)
            rounds[name].append(len(chunk) / elapsed)
    queries = {}
    for name, path in paths.items():  # one more reading each, its SQL counted
        register_id, prop = counted[name]
        with CaptureQueriesContext(connection) as captured:
            path(register_id, prop)
        counts[name] += 1
        queries[name] = [query["sql"] for query in captured.captured_queries]
    with organisation_scope(org):
        stored = {
            "portal": Reading.objects.filter(source=ReadingSource.ONLINE).count(),
            "capture": Reading.objects.filter(source=ReadingSource.LETTER).count(),
        }
    return {
        name: {
            "rate": counts[name] / seconds[name],
            "readings": counts[name] + WARM_UP,
            "stored": stored[name],
            "rounds": rounds[name],
            "queries": queries[name],
        }
        for name in paths
    }


def measure(database: str, url: str, work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ABLESUNG_VAR_DIR": str(work / "var"),
        "LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, __file__, "--run"], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{database} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(database: str, result: dict[str, Any]) -> None:
    portal, capture = result["portal"], result["capture"]
    for name, figures in result.items():
        if figures["stored"] != figures["readings"]:
            raise SystemExit(
                f"{database} {name}: {figures['stored']} of {figures['readings']} stored"
            )
    pooled = capture["rate"] / portal["rate"]
    # each round's two chunks ran one after the other: their ratio sees the same load; the
    # median of those ratios is what this shared machine's drift leaves alone
    ratio = statistics.median(
        ours / theirs for ours, theirs in zip(capture["rounds"], portal["rounds"], strict=True)
    )
    verdict = "ok" if ratio >= TARGET - NOISE else "SLOWER"
    print(
        f"{database:<10} capture {capture['rate']:7.0f} readings/s | portal submit "
        f"{portal['rate']:7.0f} readings/s | ratio {ratio:4.2f} (median of the rounds; "
        f"pooled {pooled:4.2f}) (target ≥ {TARGET:g} within {NOISE:.0%} noise: {verdict})",
        flush=True,
    )
    print(
        f"           SQL statements per reading: capture {len(capture['queries'])}, "
        f"portal submit {len(portal['queries'])}",
        flush=True,
    )
    if os.environ.get("BENCH_CAPTURE_SQL"):
        for name in ("capture", "portal"):
            print(f"--- {name}")
            for sql in result[name]["queries"]:
                print("   ", sql[:300])
    print(
        "           rounds (readings/s): capture "
        + " ".join(f"{rate:.0f}" for rate in capture["rounds"])
        + " | portal "
        + " ".join(f"{rate:.0f}" for rate in portal["rounds"]),
        flush=True,
    )


def main() -> None:
    print(f"{METERS:,} water meters, {ROUNDS} alternating rounds", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report("SQLite", measure("SQLite", fresh_sqlite(work, "capture"), work))
        pg = postgres_url()
        if pg:
            url = fresh_postgres(pg, "ablesung_bench_capture")
            report("PostgreSQL", measure("PostgreSQL", url, work))
        else:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)")


if __name__ == "__main__":
    if "--run" in sys.argv:
        print(json.dumps(run()))
    else:
        main()
