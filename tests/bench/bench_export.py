"""Benchmark: close and export a campaign vs writing the same rows with bare csv + XlsxWriter.

Target (issue 15): the whole export (``do_export_campaign`` and ``build_run``: the query of
every line with its effective reading, the plausibility re-check and key-date value per
reading, the return file in the imported layout, the Excel report with its three sheets,
the checksums and storing the files) takes at most 1.5 × a baseline that writes the same
rows from Python lists with bare ``csv`` (the return file) and bare XlsxWriter in
``constant_memory`` mode (the report's lines sheet); the export's peak RSS is at most
300 MB and flat in the number of meters (25,000 / 50,000 / 100,000).

Each size gets a database of its own, set up once by the real import plus bulk-created
readings (not measured): 70 % released readings (online, reply card, phone), 5 % released
meter exchanges, 10 % unreleased (left out of the return file), 5 % automatic estimates,
10 % without a reading. Rounds alternate baseline and export (``BENCH_ROUNDS``, 3); each
figure is the fastest. Peak RSS is measured in a fresh process per size that runs only the
export (or only the baseline, which holds its lists), so setup memory does not count.

    python tests/bench/bench_export.py                 # SQLite and (if set) PostgreSQL
    python tests/bench/bench_export.py --sizes 25000   # fewer sizes
"""

import csv
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

SIZES: tuple[int, ...] = (25_000, 50_000, 100_000)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET = 1.5
RSS_TARGET = 300
KEY_DATE = datetime.date(2026, 12, 31)
TODAY = datetime.date(2027, 1, 8)
SLUG = "bench-export"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()


# --- setup (not measured) ---------------------------------------------------------------------


def setup(size: int) -> dict[str, Any]:
    from django.core.files import File
    from django.core.management import call_command

    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        CampaignStatus,
        Organisation,
        Reading,
        ReadingSource,
        ReviewState,
    )
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
    from ablesung.formats import FINANZ_PLUS_STANDARD

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(slug=SLUG, name="Bench Export")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, organisation_scope(org):
        path = write(Path(tmp) / "zaehler.csv", size)
        with path.open("rb") as handle:
            batch, _detected = import_meter_list_now(
                NewCampaign("Bench", KEY_DATE),
                File(handle, name=path.name),
                original_name=path.name,
                profile=FINANZ_PLUS_STANDARD,
                organisation=org,
                actor=Actor.system("bench"),
            )
        if batch.status != "succeeded" or batch.campaign is None:
            raise SystemExit(f"import did not succeed: {batch.message}")
        campaign = batch.campaign
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
        rng = random.Random(15)
        readings = []
        for line in (
            CampaignMeter.objects.filter(campaign=campaign)
            .select_related("register__meter")
            .defer("raw_row")
            .order_by("pk")
            .iterator(chunk_size=5000)
        ):
            roll = rng.random()
            if roll < 0.10:
                continue  # no reading
            quantity = line.previous_year_consumption or Decimal(0)
            factor = Decimal(str(round(rng.gauss(1.0, 0.1), 3)))
            modulus = 10**line.register.meter.digits
            value = (line.previous_value + (quantity * factor).to_integral_value()) % modulus
            source, state, reason = ReadingSource.ONLINE, ReviewState.RELEASED, ""
            if roll < 0.15:
                source, state = ReadingSource.ESTIMATE, ReviewState.SUBMITTED
            elif roll < 0.25:
                state = ReviewState.SUBMITTED
            elif roll < 0.30:
                source, reason = ReadingSource.STAFF, "meter_exchanged"
            elif roll < 0.55:
                source = ReadingSource.LETTER
            elif roll < 0.65:
                source = ReadingSource.PHONE
            readings.append(
                Reading(
                    organisation=org,
                    campaign=campaign,
                    register_id=line.register_id,
                    version=1,
                    is_effective=True,
                    value=value,
                    reading_date=KEY_DATE - datetime.timedelta(days=rng.randint(0, 20)),
                    source=source,
                    reason=reason,
                    comment="Zähler im Keller" if roll > 0.98 else "",
                    state=state,
                )
            )
            if len(readings) == 5000:
                Reading.objects.bulk_create(readings)
                readings = []
        Reading.objects.bulk_create(readings)
        CampaignMeter.objects.filter(campaign=campaign).update(last_version=1)
    return {"size": size, "setup_seconds": time.perf_counter() - started}


# --- the two contenders ---------------------------------------------------------------------


def baseline_rows(campaign: Any) -> tuple[list[list[str]], list[list[Any]], list[str]]:
    """The rows both files hold, as Python lists (read before the clock runs)."""
    from ablesung.core.models import CampaignMeter, ReviewState
    from ablesung.exports.report import REPORT_HEADERS

    return_rows: list[list[str]] = []
    report_rows: list[list[Any]] = []
    lines = (
        CampaignMeter.objects.filter(campaign=campaign)
        .order_by("row_number", "pk")
        .values_list(
            "raw_row",
            "previous_value",
            "previous_date",
            "register__meter__number",
            "register__meter__property__object_number",
            "register__meter__property__owner_last_name",
            "register__meter__property__street",
            "register__readings__value",
            "register__readings__reading_date",
            "register__readings__source",
            "register__readings__state",
        )
    )
    for (
        raw,
        previous,
        previous_date,
        number,
        obj,
        owner,
        street,
        value,
        day,
        source,
        state,
    ) in lines.iterator(chunk_size=5000):
        exported = value is not None and (state == ReviewState.RELEASED or source == "estimate")
        cells = list(raw)
        if exported:
            cells[-4:] = [day.strftime("%d.%m.%Y"), f"{value:f}", "S", ""]
        return_rows.append(cells)
        report_rows.append(
            [
                obj,
                owner,
                street,
                number,
                "",
                "Hauptwasserzähler",
                float(previous),
                previous_date,
                float(value) if value is not None else None,
                day,
                float(value) if value is not None else None,
                "S" if exported else "",
                "Online",
                float(value - previous) if value is not None else None,
                80.0,
                "plausibel",
                "",
                "",
                "Freigegeben",
                "",
                "nein",
                "nein",
            ]
        )
    return return_rows, report_rows, list(REPORT_HEADERS)


def run_baseline(
    work: Path, header: list[str], return_rows: list[list[str]], report_rows: list[list[Any]]
) -> None:
    import xlsxwriter

    with (work / "baseline.csv").open("w", encoding="cp1252", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\r\n")
        writer.writerow(["Objektnummer"] * len(return_rows[0]))
        writer.writerows(return_rows)
    workbook = xlsxwriter.Workbook(str(work / "baseline.xlsx"), {"constant_memory": True})
    sheet = workbook.add_worksheet("Zählerstände")
    date_format = workbook.add_format({"num_format": "dd.mm.yyyy"})
    sheet.write_row(0, 0, header)
    for row, cells in enumerate(report_rows, start=1):
        for col, cell in enumerate(cells):
            if isinstance(cell, datetime.date):
                sheet.write_datetime(row, col, cell, date_format)
            elif cell is not None:
                sheet.write(row, col, cell)
    workbook.close()


def reset(org: Any, campaign: Any) -> None:
    from django.core.files.storage import default_storage

    from ablesung.core.models import Campaign, CampaignStatus
    from ablesung.exports.models import ExportRun

    for run in ExportRun.objects.all():
        for file in (run.return_file, run.report_file):
            if file:
                default_storage.delete(file.name)
    ExportRun.objects.all().delete()
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
    campaign.status = CampaignStatus.CLOSED


def run_export(campaign: Any) -> dict[str, Any]:
    from ablesung.core.services.actor import Actor
    from ablesung.exports.models import ExportRun
    from ablesung.exports.services import build_run, do_export_campaign

    run = do_export_campaign(
        campaign, send_mail=False, actor=Actor.system("bench"), enqueue=False, today=TODAY
    )
    status = build_run(run.pk, today=TODAY)
    if status != "succeeded":
        raise SystemExit(f"export failed: {ExportRun.objects.get(pk=run.pk).message}")
    counts: dict[str, Any] = ExportRun.objects.get(pk=run.pk).counts
    return counts


def campaign_of() -> tuple[Any, Any]:
    from ablesung.core.models import Campaign, Organisation
    from ablesung.core.scoping import organisation_scope

    org = Organisation.objects.get(slug=SLUG)
    with organisation_scope(org):
        return org, Campaign.objects.select_related("organisation").get(organisation=org)


def timed(size: int) -> dict[str, Any]:
    from ablesung.core.scoping import organisation_scope

    org, campaign = campaign_of()
    exports: list[float] = []
    baselines: list[float] = []
    counts: dict[str, Any] = {}
    with organisation_scope(org), tempfile.TemporaryDirectory() as tmp:
        return_rows, report_rows, header = baseline_rows(campaign)
        for _round in range(ROUNDS):
            started = time.perf_counter()
            run_baseline(Path(tmp), header, return_rows, report_rows)
            baselines.append(time.perf_counter() - started)
            reset(org, campaign)
            started = time.perf_counter()
            counts = run_export(campaign)
            exports.append(time.perf_counter() - started)
    return {"size": size, "export": exports, "baseline": baselines, "counts": counts}


def rss(what: str) -> dict[str, Any]:
    from ablesung.core.scoping import organisation_scope

    org, campaign = campaign_of()
    with organisation_scope(org):
        if what == "export":
            reset(org, campaign)
            before = peak_rss_mb()
            run_export(campaign)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                before = peak_rss_mb()
                return_rows, report_rows, header = baseline_rows(campaign)
                run_baseline(Path(tmp), header, return_rows, report_rows)
    return {"what": what, "start_rss_mb": before, "peak_rss_mb": peak_rss_mb()}


# --- driver -----------------------------------------------------------------------------------


def child(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"export bench failed ({' '.join(args)}):\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_size(env: dict[str, str], size: int) -> dict[str, Any]:
    setup_result = child(env, "--setup", str(size))
    timing = child(env, "--time", str(size))
    export_rss = child(env, "--rss", "export")
    baseline_rss = child(env, "--rss", "baseline")
    return {**timing, **setup_result, "export_rss": export_rss, "baseline_rss": baseline_rss}


def report(label: str, results: list[dict[str, Any]]) -> bool:
    ok = True
    print(f"{label}:", flush=True)
    for result in results:
        export, baseline = min(result["export"]), min(result["baseline"])
        ratio = export / baseline
        peak = result["export_rss"]["peak_rss_mb"]
        verdict = "OK" if ratio <= TARGET else "MISSED"
        rss_verdict = "OK" if peak <= RSS_TARGET else "MISSED"
        ok = ok and ratio <= TARGET and peak <= RSS_TARGET
        counts = result["counts"]
        rounds = " ".join(
            f"{e:.2f}/{b:.2f}" for e, b in zip(result["export"], result["baseline"], strict=True)
        )
        print(
            f"  {result['size']:>7,} meters: export {export:6.2f} s ({result['size'] / export:,.0f}"
            f" lines/s), baseline {baseline:6.2f} s, ratio {ratio:.2f} (target ≤ {TARGET:g}: "
            f"{verdict}); rounds export/baseline (s): {rounds}\n"
            f"           peak RSS export {peak:.0f} MB (target ≤ {RSS_TARGET}: {rss_verdict}; "
            f"process start {result['export_rss']['start_rss_mb']:.0f} MB), baseline with its "
            f"lists {result['baseline_rss']['peak_rss_mb']:.0f} MB; "
            f"by source {counts.get('by_source')}; setup {result['setup_seconds']:.0f} s",
            flush=True,
        )
    return ok


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("--setup", "--time", "--rss"):
        django_setup()
        if args[0] == "--setup":
            print(json.dumps(setup(int(args[1]))))
        elif args[0] == "--time":
            print(json.dumps(timed(int(args[1]))))
        else:
            print(json.dumps(rss(args[1])))
        return
    sizes = SIZES
    if "--sizes" in args:
        sizes = tuple(int(size) for size in args[args.index("--sizes") + 1].split(","))
    print(f"fastest of {ROUNDS} rounds each; BENCH_ROUNDS changes it", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base_env = {
            **os.environ,
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "ablesung.settings",
        }
        results = []
        for size in sizes:
            env = {
                **base_env,
                "ABLESUNG_VAR_DIR": str(work / f"var-{size}"),
                "DATABASE_URL": f"sqlite:///{work / f'export-{size}.sqlite3'}",
            }
            results.append(measure_size(env, size))
        ok = report("SQLite", results) and ok
        pg = postgres_url()
        if pg is None:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)", flush=True)
        else:
            results = []
            for size in sizes:
                name = f"ablesung_bench_export_{size}"
                url = fresh_postgres(pg, name)
                env = {
                    **base_env,
                    "ABLESUNG_VAR_DIR": str(work / f"var-pg-{size}"),
                    "DATABASE_URL": url,
                }
                try:
                    results.append(measure_size(env, size))
                finally:
                    drop_postgres(pg, name)
            ok = report("PostgreSQL", results) and ok
    print(f"export targets {'held' if ok else 'missed (see above)'}", flush=True)


if __name__ == "__main__":
    main()
