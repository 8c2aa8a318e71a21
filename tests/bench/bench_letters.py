"""Benchmark: reading letters for 2,500 / 5,000 / 10,000 properties vs the bare PDF engine.

Target (issue 17): the whole ``do_generate_letters`` (fixing the selection, per chunk the
revocation and new grants, the letters with two QR codes each drawn by reportlab, storing
the part; at the end joining the parts into one PDF with its SHA-256) takes at most 1.5 ×
a baseline that draws the same letters (same text, same QR codes) with bare reportlab
from Python lists, one canvas per chunk of the same size, each chunk written to a file
of its own (no database, no grants, no storage, no join). Peak RSS of the build is at
most 500 MB and flat in the number of letters.

Each size gets a database of its own, set up once by the real import of a meter list
(about two meters per property; not measured). The build and the baseline each run in a
fresh process (the build first), so the peak RSS is that of the one run; rounds
(``BENCH_ROUNDS``, default 1) repeat both, each figure is the fastest.

    python tests/bench/bench_letters.py                 # SQLite and (if set) PostgreSQL
    python tests/bench/bench_letters.py --sizes 2500    # fewer sizes
"""

import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
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

SIZES: tuple[int, ...] = (2_500, 5_000, 10_000)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
TARGET = 1.5
RSS_TARGET = 500
KEY_DATE = datetime.date(2026, 12, 31)
SLUG = "bench-letters"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()


def setup(size: int) -> dict[str, Any]:
    """A campaign with about ``size`` properties (twice as many meters), by the import."""
    from django.core.files import File
    from django.core.management import call_command

    from ablesung.core.models import Organisation, Property
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
    from ablesung.formats import FINANZ_PLUS_STANDARD

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(
        slug=SLUG,
        name="Stadtwerke Bench",
        contact_address="Hauptstraße 1\n09111 Musterstadt",
        contact_phone="0371 1234-0",
        contact_email="ablesung@stadtwerke.example",
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, organisation_scope(org):
        path = write(Path(tmp) / "zaehler.csv", size * 2)
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
        properties = Property.objects.count()
    return {"properties": properties, "setup_seconds": time.perf_counter() - started}


def campaign_of() -> tuple[Any, Any]:
    from ablesung.core.models import Campaign, Organisation
    from ablesung.core.scoping import organisation_scope

    org = Organisation.objects.get(slug=SLUG)
    with organisation_scope(org):
        return org, Campaign.objects.select_related("organisation").get(organisation=org)


def run_build() -> dict[str, Any]:
    """The whole ``do_generate_letters`` in this fresh process."""
    from ablesung.core.services.actor import Actor
    from ablesung.letters.services import do_generate_letters

    org, campaign = campaign_of()
    started = time.perf_counter()
    batch = do_generate_letters(campaign, organisation=org, actor=Actor.system("bench"))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "letters": batch.done,
        "pages": batch.pages,
        "parts": batch.parts,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_baseline() -> dict[str, Any]:
    """The same letters drawn with bare reportlab (``pdf.write_letters``) from Python lists:
    the data is read before the clock runs; one canvas per chunk, one file per chunk."""
    from django.conf import settings

    from ablesung.core.scoping import organisation_scope
    from ablesung.letters import pdf
    from ablesung.letters.models import LetterSelection
    from ablesung.letters.services import _rows, letterhead, personal_link, selected_properties
    from ablesung.lib.codes import format_code, generate_code, generate_token

    org, campaign = campaign_of()
    with organisation_scope(org):
        properties = list(selected_properties(campaign, LetterSelection.ALL))
        rows = _rows(campaign, properties)
        head = letterhead(org, campaign)
    letters = []
    for prop in properties:
        name = " ".join(part for part in (prop.owner_first_name, prop.owner_last_name) if part)
        letters.append(
            pdf.Letter(
                object_number=prop.object_number,
                name=name,
                address=[name, f"{prop.street} {prop.house_number}", prop.city],
                link=personal_link(generate_token()),
                code=format_code(generate_code()),
                rows=rows[prop.pk],
            )
        )
    size = settings.LETTER_CHUNK_SIZE
    pages = 0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for number, start in enumerate(range(0, len(letters), size)):
            with (Path(tmp) / f"part-{number:05d}.pdf").open("wb") as out:
                pages += pdf.write_letters(out, head, letters[start : start + size])
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages": pages, "peak_rss_mb": peak_rss_mb()}


def reset() -> None:
    from django.core.files.storage import default_storage
    from django_scopes import scopes_disabled

    from ablesung.core.models import AccessGrant, AuditEntry
    from ablesung.letters.models import LetterBatch

    with scopes_disabled():
        _reset(default_storage, AccessGrant, AuditEntry, LetterBatch)


def _reset(default_storage: Any, AccessGrant: Any, AuditEntry: Any, LetterBatch: Any) -> None:
    for batch in LetterBatch.objects.all():
        if batch.pdf_file:
            default_storage.delete(batch.pdf_file.name)
    LetterBatch.objects.all().delete()
    AccessGrant.objects.all().delete()
    AuditEntry.objects.filter(action__startswith="letters.").delete()


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
        raise SystemExit(f"letters bench failed ({' '.join(args)}):\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_size(env: dict[str, str], size: int) -> dict[str, Any]:
    result = {"size": size, **child(env, "--setup", str(size)), "build": [], "baseline": []}
    for _round in range(ROUNDS):
        child(env, "--reset")
        result["build"].append(child(env, "--build"))
        result["baseline"].append(child(env, "--baseline"))
    return result


def report(label: str, results: list[dict[str, Any]]) -> bool:
    ok = True
    print(f"{label}:", flush=True)
    peaks = []
    for result in results:
        build = min(result["build"], key=lambda run: run["seconds"])
        baseline = min(result["baseline"], key=lambda run: run["seconds"])
        peak = max(run["peak_rss_mb"] for run in result["build"])
        peaks.append(peak)
        ratio = build["seconds"] / baseline["seconds"]
        ok = ok and ratio <= TARGET and peak <= RSS_TARGET
        print(
            f"  {build['letters']:>6,} letters ({build['pages']:,} pages, {build['parts']} parts):"
            f" build {build['seconds']:6.1f} s ({build['pages'] / build['seconds']:,.0f} pages/s),"
            f" baseline {baseline['seconds']:6.1f} s"
            f" ({baseline['pages'] / baseline['seconds']:,.0f} pages/s), ratio {ratio:.2f}"
            f" (target ≤ {TARGET:g}: {'OK' if ratio <= TARGET else 'MISSED'});"
            f" peak RSS build {peak:.0f} MB (target ≤ {RSS_TARGET}:"
            f" {'OK' if peak <= RSS_TARGET else 'MISSED'}), baseline with its lists"
            f" {baseline['peak_rss_mb']:.0f} MB; setup {result['setup_seconds']:.0f} s",
            flush=True,
        )
    if len(peaks) > 1:
        print(f"  peak RSS across sizes: {' / '.join(f'{p:.0f}' for p in peaks)} MB", flush=True)
    return ok


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("--setup", "--build", "--baseline", "--reset"):
        django_setup()
        if args[0] == "--setup":
            print(json.dumps(setup(int(args[1]))))
        elif args[0] == "--reset":
            reset()
            print(json.dumps({}))
        elif args[0] == "--build":
            print(json.dumps(run_build()))
        else:
            print(json.dumps(run_baseline()))
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
                "DATABASE_URL": f"sqlite:///{work / f'letters-{size}.sqlite3'}",
            }
            results.append(measure_size(env, size))
        ok = report("SQLite", results) and ok
        pg = postgres_url()
        if pg is None:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)", flush=True)
        else:
            results = []
            for size in sizes:
                name = f"ablesung_bench_letters_{size}"
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
    print(f"letter targets {'held' if ok else 'missed (see above)'}", flush=True)


if __name__ == "__main__":
    main()
