"""Benchmark: the citizen portal under load, served by ``ablesung serve`` (issue 5).

For each database (SQLite in a temporary directory; PostgreSQL in a fresh database
``ablesung_bench_portal`` when DATABASE_URL or BENCH_POSTGRES_URL points to a server):

1. ``portal_seed.py seed``: migrate, collectstatic, import 10,000 properties (one water meter
   each) through the import service, open the campaign, issue one link per property.
2. ``ablesung serve --workers 2`` (production settings, self-signed TLS) on loopback.
3. The trivial view: plain wrk against ``/health/`` for 10 s (it runs ``SELECT 1``, so it
   opens a database connection; it is the cheapest view there is).
4. The submit flow: wrk with ``portal_flow.lua`` for 30 s, one connection per wrk thread.
   Then the trivial view again (after a 3 s warm-up before the first); the ratio is taken
   against the faster of the two trivial runs.
5. Stop the server, count the online readings: they must match the completed submissions.

Target: submissions/s ≥ 0.06 × trivial req/s, p99 ≤ 250 ms, no errors, no lost readings.
Needs ``wrk`` (Debian: ``apt-get install wrk``); without it the benchmark is skipped.

    python tests/bench/bench_portal.py
    BENCH_PORTAL_CONNECTIONS=8 BENCH_PORTAL_SECONDS=30 python tests/bench/bench_portal.py
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the checkout, for `tests.bench.*`

from tests.bench.bench_import import fresh_postgres, postgres_url  # noqa: E402
from tests.serving import (  # noqa: E402
    free_port,
    start_serve,
    stop,
    wait_until_healthy,
)

PROPERTIES = int(os.environ.get("BENCH_PORTAL_PROPERTIES", "10000"))
SECONDS = int(os.environ.get("BENCH_PORTAL_SECONDS", "30"))
TRIVIAL_SECONDS = int(os.environ.get("BENCH_PORTAL_TRIVIAL_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_PORTAL_CONNECTIONS", "8"))
WARM_UP_SECONDS = 3
WORKERS = 2
TARGET_RATIO = 0.06
TARGET_P99_MS = 250.0
START_TIMEOUT = 30.0


def run_json(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def server(env: dict[str, str], work: Path) -> Iterator[str]:
    """``ablesung serve`` with two workers on a free loopback port; yields the base URL."""
    from ablesung.lib.tls import ensure_self_signed_certificate

    pair = ensure_self_signed_certificate(work / "tls")
    port = free_port()
    log_file = work / "serve.log"
    process = start_serve(
        env, workers=WORKERS, port=port, cert=pair.cert_file, key=pair.key_file, log_file=log_file
    )
    try:
        if not wait_until_healthy(process, port, pair.cert_file, START_TIMEOUT):
            raise SystemExit(f"ablesung serve did not start:\n{log_file.read_text()}")
        yield f"https://127.0.0.1:{port}"
    finally:
        stop(process)


def wrk(args: list[str]) -> str:
    out = subprocess.run(["wrk", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"wrk {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return out.stdout


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def trivial(base_url: str, seconds: int = TRIVIAL_SECONDS) -> dict[str, float]:
    """Plain wrk against /health/: requests per second, p50/p99 in ms, errors."""
    text = wrk(
        [
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            f"{base_url}/health/",
        ]
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    if socket_errors:
        print(f"  trivial view socket errors: {socket_errors.group(1)}")
    return {
        "rate": rate,
        "p50": p50,
        "p99": p99,
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def flow(base_url: str, tokens: Path, reading_date: str) -> dict[str, Any]:
    text = wrk(
        [
            f"-t{CONNECTIONS}",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "-s",
            str(HERE / "portal_flow.lua"),
            base_url,
            "--",
            str(tokens),
            str(CONNECTIONS),
            reading_date,
        ]
    )
    line = next(line for line in text.splitlines() if line.startswith("BENCH_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    return result


def measure(label: str, database_url: str, work: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TLS_CERT_FILE", "TLS_KEY_FILE", "BASE_URL"}
    }
    env.update(
        ABLESUNG_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        ABLESUNG_VAR_DIR=str(work / "var"),
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="ablesung.settings",
        LOG_LEVEL="WARNING",
    )
    tokens = work / "tokens.txt"
    seeded = run_json(
        [sys.executable, str(HERE / "portal_seed.py"), "seed", str(PROPERTIES), str(tokens)], env
    )
    print(
        f"{label}: seeded {seeded['properties']:,} properties in {seeded['seconds']} s; "
        f"wrk -t{CONNECTIONS} -c{CONNECTIONS} (one connection per thread), "
        f"server {WORKERS} workers",
        flush=True,
    )
    with server(env, work) as base_url:
        trivial(base_url, seconds=WARM_UP_SECONDS)  # first connections, caches: not counted
        before = trivial(base_url)
        ours = flow(base_url, tokens, str(seeded["date"]))
        after = trivial(base_url)
    # this machine's background load moves a single 10 s run by up to ±15 % (once 50 %):
    # the trivial view is measured before and after the flow, and the ratio is taken
    # against the faster of the two, so that a slow trivial run cannot make the flow pass
    best = max(before, after, key=lambda run: run["rate"])
    base = best | {
        "errors": before["errors"] + after["errors"],
        "before": before["rate"],
        "after": after["rate"],
    }
    stored = run_json([sys.executable, str(HERE / "portal_seed.py"), "count"], env)
    report(label, base, ours, stored)


def report(
    label: str, base: dict[str, float], ours: dict[str, Any], stored: dict[str, Any]
) -> None:
    seconds = ours["seconds"]
    completed = int(ours["completed"])
    rate = completed / seconds
    ratio = rate / base["rate"]
    in_flight = int(ours["posts_sent"] - ours["posts_answered"])
    readings = int(stored["readings"])
    socket_errors = sum(int(v) for v in ours["socket_errors"].values())
    errors = int(ours["failed"]) + socket_errors
    lost = readings < completed or readings > completed + in_flight
    steps = ours["steps"]
    ok = ratio >= TARGET_RATIO and ours["p99_ms"] <= TARGET_P99_MS and errors == 0 and not lost
    print(
        f"  trivial /health/  {base['rate']:8,.0f} req/s (before {base['before']:,.0f}, after "
        f"{base['after']:,.0f})  p50 {base['p50']:6.1f} ms  "
        f"p99 {base['p99']:6.1f} ms  non-2xx/3xx {base['errors']:.0f}\n"
        f"  submit flow       {rate:8,.1f} submissions/s ({completed:,} in {seconds:.1f} s, "
        f"{ours['requests'] / seconds:,.0f} req/s)  per request p50 {ours['p50_ms']:6.1f} ms  "
        f"p99 {ours['p99_ms']:6.1f} ms\n"
        f"  ratio             {ratio:.4f} (target ≥ {TARGET_RATIO})  p99 target ≤ {TARGET_P99_MS:.0f} ms\n"
        f"  per step p50/p99  "
        + "  ".join(
            f"{step} {steps[step]['p50']:.1f}/{steps[step]['p99']:.1f} ms"
            for step in ("link", "form", "post", "flow")
        )
        + f"\n  errors            {errors} (failed flows {int(ours['failed'])} "
        f"{ours['failures'] or ''}, socket {ours['socket_errors']})\n"
        f"  readings stored   {readings:,} online rows for {int(stored['registers']):,} registers; "
        f"submissions counted {completed:,}; POSTs unanswered at cut-off {in_flight}"
        f"{' – LOST OR EXTRA READINGS' if lost else ''}\n"
        f"  => {'target met' if ok else 'TARGET MISSED'}",
        flush=True,
    )


def main() -> None:
    if shutil.which("wrk") is None:
        print("portal benchmark skipped: wrk not installed (Debian: apt-get install wrk)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        targets: list[tuple[str, Callable[[Path], str]]] = [
            ("SQLite", lambda work: f"sqlite:///{work / 'db.sqlite3'}")
        ]
        pg = postgres_url()
        if pg:
            targets.append(
                ("PostgreSQL", lambda _work: fresh_postgres(pg, "ablesung_bench_portal"))
            )
        else:
            print("PostgreSQL: skipped (set DATABASE_URL or BENCH_POSTGRES_URL)")
        for label, make_url in targets:
            work = root / label.lower()
            work.mkdir()
            measure(label, make_url(work), work)


if __name__ == "__main__":
    main()
