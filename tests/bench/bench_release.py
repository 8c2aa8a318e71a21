"""Benchmark: a release run over 50,000 readings vs re-checking them with the pure engine.

Target (issue 14): the release (``release.do_release_readings`` over the whole campaign:
locks, one read of every reading with its line, the re-check, the chunked conditional
updates, one audit entry per released reading, the log entries of the refused ones, the
commit) takes at most 3 × re-checking the same readings with ``check_reading`` alone,
measured in the same run. The meters come through the real import (``meter_list_generator``), the readings have
mixed outcomes (mostly plausible; leaks, vacancies, typed decimals, meters running
backwards, readings far from the key date), a tenth of the implausible ones accepted in
review.

Each database is measured in a fresh process (peak RSS belongs to that run alone): SQLite
in a temporary file, PostgreSQL in a fresh database ``ablesung_bench_release`` when
DATABASE_URL (or BENCH_POSTGRES_URL) points to a server. The data is set up once (not
measured); each round puts the readings back to unreleased (not measured), then measures
the release and the engine alone; each figure is the fastest of ``BENCH_ROUNDS`` rounds.

    python tests/bench/bench_release.py            # all databases, prints the report
    python tests/bench/bench_release.py --measure  # one run against DATABASE_URL (JSON)
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
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the checkout, for `tests.bench.*`

from tests.bench.bench_plausibility import (  # noqa: E402
    drop_postgres,
    fresh_postgres,
    postgres_url,
)
from tests.bench.meter_list_generator import write  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "50000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PG_DATABASE = "ablesung_bench_release"
TARGET = 3.0
KEY_DATE = datetime.date(2026, 12, 31)
TODAY = datetime.date(2027, 1, 8)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_meters(org: Any, work: Path) -> Any:
    """The generated meter list through the real import (setup, not measured)."""
    from django.core.files import File

    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
    from ablesung.formats import FINANZ_PLUS_STANDARD

    path = write(work / "zaehler.csv", ROWS)
    with path.open("rb") as handle:
        batch, _detected = import_meter_list_now(
            NewCampaign("Bench", KEY_DATE),
            File(handle, name=path.name),
            original_name=path.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=org,
            actor=Actor.system("bench"),
        )
    if batch.status != "succeeded":
        raise SystemExit(f"import did not succeed: {batch.message}")
    return batch.campaign


def reading_values(lines: list[Any]) -> list[tuple[Any, datetime.date]]:
    """A value and date per line: mostly plausible; leaks, vacancies, typed decimals,
    meters running backwards and readings far from the key date mixed in (reproducible)."""
    rng = random.Random(14)
    values = []
    for line in lines:
        modulus = 10**line.register.meter.digits
        quantity = line.previous_year_consumption or Decimal(0)
        factor = Decimal(str(round(rng.gauss(1.0, 0.15), 3)))
        reading_date = KEY_DATE - datetime.timedelta(days=rng.randint(0, 10))
        roll = rng.random()
        if roll < 0.03:
            factor = Decimal(rng.choice((0, 4, 10)))  # vacancy, leak, typed decimals
        elif roll < 0.04:
            factor = Decimal(-1)  # running backwards
        elif roll < 0.05:
            reading_date = KEY_DATE - datetime.timedelta(days=rng.randint(40, 90))
        value = (line.previous_value + (quantity * factor).to_integral_value()) % modulus
        values.append((value, max(reading_date, line.previous_date)))
    return values


def add_readings(org: Any, campaign: Any) -> tuple[list[Any], dict[str, int]]:
    """One effective reading per line, stored with its outcome; a tenth of the implausible
    ones accepted in review (setup, not measured). Returns the lines and the outcomes."""
    from ablesung.core.models import CampaignMeter, Reading, ReadingSource, ReviewState
    from ablesung.core.services.readings import check_value

    lines = list(
        CampaignMeter.objects.filter(campaign=campaign)
        .select_related("campaign__organisation", "register__meter")
        .defer("raw_row")
        .order_by("pk")
    )
    outcomes: dict[str, int] = {}
    rows = []
    for index, (line, (value, reading_date)) in enumerate(
        zip(lines, reading_values(lines), strict=True)
    ):
        result = check_value(line, value, reading_date, today=TODAY)
        key = result.outcome.key
        outcomes[key] = outcomes.get(key, 0) + 1
        accepted = key == "implausible" and index % 10 == 0
        rows.append(
            Reading(
                organisation=org,
                campaign=campaign,
                register_id=line.register_id,
                version=1,
                is_effective=True,
                value=value,
                reading_date=reading_date,
                source=ReadingSource.ONLINE if index % 2 else ReadingSource.LETTER,
                reason="vacancy" if key != "ok" and index % 2 else "",
                outcome=key,
                codes=list(result.codes),
                state=ReviewState.REVIEWED if accepted else ReviewState.SUBMITTED,
            )
        )
    Reading.objects.bulk_create(rows, batch_size=2000)
    CampaignMeter.objects.filter(campaign=campaign).update(last_version=1)
    return lines, outcomes


def reset(org: Any, accepted: list[int]) -> None:
    """Every reading unreleased again (those accepted in review back to "reviewed"); runs,
    logs and release audit entries gone (not measured)."""
    from django.db import transaction

    from ablesung.core.models import AuditEntry, Reading, ReleaseRun, ReviewState
    from ablesung.core.scoping import organisation_scope

    with transaction.atomic(), organisation_scope(org):
        Reading.objects.filter(state=ReviewState.RELEASED).update(
            state=ReviewState.SUBMITTED, released_at=None
        )
        Reading.objects.filter(pk__in=accepted).update(state=ReviewState.REVIEWED)
        ReleaseRun.objects.all().delete()
        AuditEntry.objects.filter(organisation=org).delete()


def floors(org: Any, campaign: Any) -> tuple[float, float]:
    """What the release cannot go below with this design (measured, rolled back):

    * read: the covered readings with their lines through the ORM, as the run reads them;
    * write: one UPDATE of every reading and one ``INSERT … SELECT`` of every audit entry.
    """
    from django.db import transaction
    from django.utils import timezone

    from ablesung.core.models import Reading, ReleaseRun, ReviewState
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.release import (
        ReleaseSelection,
        _rows,  # the run's own read, measured alone
        audit_released,
        covered_readings,
    )

    with organisation_scope(org):
        started = time.perf_counter()
        rows = list(_rows(covered_readings(campaign, ReleaseSelection()), campaign))
        read = time.perf_counter() - started
        ids = [row.pk for row in rows]
        with transaction.atomic():
            run = ReleaseRun.objects.create(organisation=org, campaign=campaign, scope="floor")
            now = timezone.now()
            started = time.perf_counter()
            Reading.objects.filter(campaign=campaign).update(
                state=ReviewState.RELEASED, released_at=now
            )
            audit_released(ids, outcome="ok", run=run, actor=Actor.system("floor"), now=now)
            write = time.perf_counter() - started
            transaction.set_rollback(True)
    return read, write


def engine_inputs(
    lines: list[Any], campaign: Any
) -> list[tuple[Any, datetime.date, dict[str, Any]]]:
    """The arguments of ``check_reading`` per reading, built before the clock runs."""
    from ablesung.core.services.plausibility_settings import campaign_thresholds, weights_for
    from ablesung.core.services.readings import unit_for
    from ablesung.plausibility import PreviousReading, PreviousYearConsumption, Register

    thresholds = campaign_thresholds(campaign)
    organisation = campaign.organisation
    inputs = []
    for line, (value, reading_date) in zip(lines, reading_values(lines), strict=True):
        meter = line.register.meter
        inputs.append(
            (
                value,
                reading_date,
                {
                    "register": Register(meter.digits, meter.decimals),
                    "today": TODAY,
                    "previous": PreviousReading(
                        line.previous_value, line.previous_date, line.previous_was_estimate
                    ),
                    "previous_year": PreviousYearConsumption(line.previous_year_consumption),
                    "key_date": KEY_DATE,
                    "weights": weights_for(organisation, meter.kind),
                    "thresholds": thresholds,
                    "unit": unit_for(meter.kind),
                },
            )
        )
    return inputs


def measure() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from ablesung.core.models import Campaign, CampaignStatus, Organisation, Reading, ReviewState
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.release import ReleaseSelection, do_release_readings
    from ablesung.plausibility import check_reading

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(slug="bench-release", name="Bench Freigabe")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, organisation_scope(org):
        campaign = import_meters(org, Path(tmp))
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
        campaign = Campaign.objects.select_related("organisation").get(pk=campaign.pk)
        lines, stored = add_readings(org, campaign)
        inputs = engine_inputs(lines, campaign)
        accepted = list(
            Reading.objects.filter(state=ReviewState.REVIEWED).values_list("pk", flat=True)
        )
    del lines
    setup_seconds = time.perf_counter() - started
    setup_rss = peak_rss_mb()
    actor = Actor.system("bench")

    releases: list[float] = []
    checks: list[float] = []
    reads: list[float] = []
    writes: list[float] = []
    counts: dict[str, int] = {}
    for _round in range(ROUNDS):
        reset(org, accepted)
        started = time.perf_counter()
        with organisation_scope(org):
            run = do_release_readings(
                campaign, ReleaseSelection(), organisation=org, actor=actor, today=TODAY
            )
        releases.append(time.perf_counter() - started)
        counts = {"checked": run.checked, "released": run.released, "refused": run.refused}
        started = time.perf_counter()
        checked = 0
        for value, reading_date, kwargs in inputs:
            check_reading(value, reading_date, **kwargs)
            checked += 1
        checks.append(time.perf_counter() - started)
        assert checked == counts["checked"] == ROWS, (checked, counts)
        reset(org, accepted)
        read, write = floors(org, campaign)
        reads.append(read)
        writes.append(write)
    return {
        "rows": ROWS,
        "stored_outcomes": stored,
        "run": counts,
        "setup_seconds": setup_seconds,
        "release_seconds": releases,
        "check_seconds": checks,
        "read_seconds": reads,
        "write_seconds": writes,
        "setup_rss_mb": setup_rss,
        "peak_rss_mb": peak_rss_mb(),
    }


def run(env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"release bench failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(label: str, result: dict[str, Any]) -> None:
    release, check = min(result["release_seconds"]), min(result["check_seconds"])
    read, write = min(result["read_seconds"]), min(result["write_seconds"])
    ratio = release / check
    floor = read + check + write
    verdict = "OK" if ratio <= TARGET else "MISSED"
    rounds = " ".join(
        f"{r:.2f}/{c:.2f}"
        for r, c in zip(result["release_seconds"], result["check_seconds"], strict=True)
    )
    run_counts = result["run"]
    stored = ", ".join(f"{k} {v:,}" for k, v in sorted(result["stored_outcomes"].items()))
    rows = result["rows"]
    print(
        f"{label}: {rows:,} readings (stored: {stored}; setup {result['setup_seconds']:.1f} s)\n"
        f"  release run:   {release:6.2f} s {rows / release:9,.0f} readings/s "
        f"(released {run_counts['released']:,}, refused and logged {run_counts['refused']:,})\n"
        f"  engine alone:  {check:6.2f} s {rows / check:9,.0f} readings/s\n"
        f"  ratio release/engine = {ratio:.2f} (target ≤ {TARGET:g}: {verdict})   "
        f"rounds release/engine (s): {rounds}\n"
        f"  floors: ORM read of the rows {read:.2f} s, one UPDATE + one INSERT … SELECT "
        f"{write:.2f} s; read + engine + write = {floor:.2f} s = {floor / check:.2f} × engine\n"
        f"  peak RSS {result['peak_rss_mb']:.0f} MB (after setup {result['setup_rss_mb']:.0f} MB)",
        flush=True,
    )


def main() -> None:
    if "--measure" in sys.argv[1:]:
        print(json.dumps(measure()))
        return
    print(f"fastest of {ROUNDS} rounds each; set BENCH_ROWS / BENCH_ROUNDS to change", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base_env = {
            **os.environ,
            "ABLESUNG_VAR_DIR": str(work / "var"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "ablesung.settings",
        }
        report("SQLite", run({**base_env, "DATABASE_URL": f"sqlite:///{work / 'release.sqlite3'}"}))
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
