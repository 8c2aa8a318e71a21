"""Benchmark: the clerks' backend pages over 100,000 meters in one campaign.

The meter list of ``meter_list_generator`` (100,000 meters, about 50,000 properties, German
names with umlauts) goes through the real import; then every second meter gets a reading
(plausible, warning, implausible as the engine judges values around the expected
consumption; submitted, reviewed, released; online and the clerks' sources), written with
``bulk_create`` (seeding only, not measured), and a few meters a control-reading request.

Measured with Django's test client in this process (the whole request: middleware,
session, scoped queries, template rendering; no network), signed in as a clerk, each page
``BENCH_REQUESTS`` times after two warm-up requests, the pages taking turns so that all see
the machine's drift:

* the page of one meter looked up by its number (the reference);
* the campaign dashboard (``backend:campaign_detail``);
* the list filtered to "unplausibel", page 1 and the page before the last ones (keyset);
* a name search ("Mueller": finds the "Müller" of about a seventh of the properties).

Reported: p50 and p95 per page, the ratio of each p50 to the reference's p50 (target ≤ 10),
the near-end page against page 1 (target ≤ 2) and the number of queries per page. SQLite
always; PostgreSQL when DATABASE_URL (or BENCH_POSTGRES_URL) points to a server.

    python tests/bench/bench_backend.py          # both databases (make bench)
    python tests/bench/bench_backend.py --child  # one run on DATABASE_URL, prints JSON
"""

import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent

METERS = int(os.environ.get("BENCH_METERS", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
KEY_DATE = datetime.date(2026, 12, 31)
TODAY = datetime.date(2027, 1, 15)
TARGET_RATIO = 10.0
TARGET_LAST_PAGE = 2.0
MAX_QUERIES = 20


# --- seeding (child process) ---------------------------------------------------------------


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    sys.path.insert(0, str(CHECKOUT))  # tests.bench.*
    import django

    django.setup()


def seed(work: Path) -> dict[str, Any]:
    """The organisation, its clerk and the campaign with readings; returns what the pages need."""
    from django.core.files import File
    from django.core.management import call_command
    from django.db import transaction

    from ablesung.accounts.models import User
    from ablesung.core.models import (
        CampaignMeter,
        Membership,
        Organisation,
        Reading,
        ReadingSource,
        ReviewState,
        Role,
    )
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
    from ablesung.core.services.readings import check_value
    from ablesung.formats import FINANZ_PLUS_STANDARD
    from tests.bench.meter_list_generator import write

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(slug="bench-backend", name="Bench Backend")
    user = User.objects.create_user("clerk@bench.example", "bench-password-not-used")
    Membership.objects.create(organisation=org, user=user, role=Role.CLERK)
    meter_list = write(work / "zaehler.csv", METERS)
    with meter_list.open("rb") as handle:
        batch, _ = import_meter_list_now(
            NewCampaign("Bench Backend", KEY_DATE),
            File(handle, name=meter_list.name),
            original_name=meter_list.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=org,
            actor=Actor.system("bench"),
        )
    if batch.status != "succeeded":
        raise SystemExit(f"import did not succeed: {batch.message}")
    imported = time.perf_counter() - started
    rng = random.Random(14)
    sources = [ReadingSource.ONLINE] * 6 + [ReadingSource.LETTER, ReadingSource.PHONE]
    states = [ReviewState.SUBMITTED] * 3 + [ReviewState.REVIEWED, ReviewState.RELEASED]
    outcomes: dict[str, int] = {}
    with organisation_scope(org), transaction.atomic():
        lines = list(
            CampaignMeter.objects.filter(campaign_id=batch.campaign_id)
            .select_related("campaign__organisation", "register__meter")
            .defer("raw_row")
            .order_by("pk")
        )
        readings = []
        for line in lines[::2]:
            previous = line.previous_value or Decimal(0)
            expected = line.previous_year_consumption or Decimal(100)
            factor = rng.choice((1, 1, 1, 1, 1, 1, 1.8, 0.3, 5, 0))
            value = (previous + expected * Decimal(str(factor))) % 10**line.register.meter.digits
            result = check_value(line, value.quantize(Decimal(1)), KEY_DATE, today=TODAY)
            if result.value is None or result.outcome.key == "error":  # never stored
                continue
            outcomes[result.outcome.key] = outcomes.get(result.outcome.key, 0) + 1
            state = rng.choice(states)
            readings.append(
                Reading(
                    organisation=org,
                    campaign_id=line.campaign_id,
                    register_id=line.register_id,
                    version=1,
                    is_effective=True,
                    value=result.value,
                    reading_date=KEY_DATE,
                    source=rng.choice(sources),
                    outcome=result.outcome.key,
                    codes=list(result.codes),
                    state=state,
                    released_at=(
                        datetime.datetime(2027, 1, 10, tzinfo=datetime.UTC)
                        if state == ReviewState.RELEASED
                        else None
                    ),
                )
            )
        Reading.objects.bulk_create(readings, batch_size=2000)
        for chunk in range(0, len(readings), 5000):
            CampaignMeter.objects.filter(
                campaign_id=batch.campaign_id,
                register_id__in=[r.register_id for r in readings[chunk : chunk + 5000]],
            ).update(last_version=1)
        control = [line.pk for line in lines[1::97]]
        CampaignMeter.objects.filter(pk__in=control).update(
            control_requested_at=datetime.datetime(2027, 1, 12, tzinfo=datetime.UTC)
        )
        sample = lines[len(lines) // 2].register.meter.number
    return {
        "org": org.slug,
        "user_id": user.pk,
        "campaign_id": batch.campaign_id,
        "meters": len(lines),
        "readings": len(readings),
        "outcomes": outcomes,
        "sample_meter": sample,
        "import_seconds": round(imported, 1),
        "seed_seconds": round(time.perf_counter() - started, 1),
    }


# --- measuring (child process) -------------------------------------------------------------


def pages(info: dict[str, Any]) -> dict[str, str]:
    """The measured pages' paths; the page near the end is found like a clerk would, from
    the last page ("Letzte Seite") one step back, then forward from there."""
    from ablesung.core.models import Campaign, Organisation, Outcome
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.search import MeterQuery, MeterSearch

    org = Organisation.objects.get(slug=info["org"])
    with organisation_scope(org):
        campaign = Campaign.objects.get(pk=info["campaign_id"])
        search = MeterSearch(MeterQuery(campaign=campaign, outcome=Outcome.IMPLAUSIBLE))
        last = search.page(last=True)
        before_last = search.page(before=last.first_id)
    base = f"/o/{org.slug}"
    implausible = f"{base}/zaehler/?ableseaktion={campaign.pk}&ergebnis=implausible"
    return {
        "one meter": f"{base}/zaehler/?q={info['sample_meter']}",
        "dashboard": f"{base}/ableseaktionen/{campaign.pk}/",
        "implausible p1": implausible,
        "implausible near end": f"{implausible}&nach={before_last.rows[0].id}",
        "name search": f"{base}/zaehler/?q=Mueller",
    }


def measure(info: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ablesung.accounts.models import User

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(pk=info["user_id"]))
    paths = pages(info)
    queries: dict[str, int] = {}
    for name, path in paths.items():
        for _warm_up in range(2):
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {path} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        queries[name] = len(captured.captured_queries)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _round in range(REQUESTS):
        for name, path in paths.items():
            started = time.perf_counter()
            client.get(path)
            times[name].append(time.perf_counter() - started)
    return {
        "pages": {
            name: {
                "p50_ms": statistics.median(values) * 1000,
                "p95_ms": statistics.quantiles(values, n=20)[-1] * 1000,
                "queries": queries[name],
                "path": paths[name],
            }
            for name, values in times.items()
        }
    }


def child() -> None:
    _setup_django()
    from django.db import connection

    with tempfile.TemporaryDirectory() as tmp:
        info = seed(Path(tmp))
    if connection.vendor == "postgresql":
        # what autovacuum does a while after the bulk seeding (it is off on some servers)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(json.dumps({**info, **measure(info)}))


# --- the report (make bench) ---------------------------------------------------------------


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


def run_child(database_url: str, work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ABLESUNG_VAR_DIR": str(work / "var"),
        "LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, __file__, "--child"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"bench_backend failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(label: str, result: dict[str, Any]) -> None:
    measured = result["pages"]
    reference = measured["one meter"]["p50_ms"]
    print(
        f"{label}: {result['meters']:,} meters, {result['readings']:,} readings "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(result['outcomes'].items()))}); "
        f"import {result['import_seconds']} s, seeding {result['seed_seconds']} s",
        flush=True,
    )
    for name, page in measured.items():
        ratio = page["p50_ms"] / reference
        target = "reference" if name == "one meter" else f"ratio {ratio:4.1f} (≤ {TARGET_RATIO:g})"
        flag = "" if ratio <= TARGET_RATIO and page["queries"] <= MAX_QUERIES else "  <-- MISSED"
        print(
            f"  {name:<22} p50 {page['p50_ms']:7.1f} ms  p95 {page['p95_ms']:7.1f} ms  "
            f"{page['queries']:2d} queries (≤ {MAX_QUERIES})  {target}{flag}",
            flush=True,
        )
    near_end = measured["implausible near end"]["p50_ms"] / measured["implausible p1"]["p50_ms"]
    flag = "" if near_end <= TARGET_LAST_PAGE else "  <-- MISSED"
    print(
        f"  page near the end / page 1 (unplausibel): {near_end:.2f} (≤ {TARGET_LAST_PAGE:g}){flag}",
        flush=True,
    )


def main() -> None:
    print(
        f"{METERS:,} meters in one campaign; Django's test client in this process, "
        f"{REQUESTS} requests per page, pages taking turns",
        flush=True,
    )
    targets: list[tuple[str, Callable[[Path], str]]] = [
        ("SQLite", lambda work: f"sqlite:///{work / 'bench.sqlite3'}")
    ]
    pg = postgres_url()
    if pg:
        targets.append(("PostgreSQL", lambda _work: fresh_postgres(pg, "ablesung_bench_backend")))
    else:
        print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)")
    for label, make_url in targets:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            report(label, run_child(make_url(work), work))


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()
