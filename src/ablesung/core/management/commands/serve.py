"""``ablesung serve``: the production web server (granian, WSGI).

Threads per worker are capped so that workers × threads stays below the
database's connection limit: every granian blocking thread keeps its own
database connection (``CONN_MAX_AGE``), and granian's default of up to 512
threads per worker once exhausted PostgreSQL's 100 connections and turned most
writes into 500s. On SQLite more threads only queue for the single writer lock, and
they queue badly: SQLite's busy handler polls with growing sleeps (up to 100 ms), so
with 8 threads per worker the portal benchmark's p99 was about 700 ms; with 2 it was
about 55 ms, and 40 % more submissions per second went through (``make bench``).

The command checks the configuration, then replaces itself with
``python -m granian …`` so that signals (Ctrl-C, SIGTERM) reach granian directly.

``--access-log`` logs every request through granian's access log, whose format has the
path but no route; a logging filter (``--log-config``) rewrites a personal link's
``/r/<token>`` to ``/r/…`` there, as in every other log line.
"""

import copy
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

WSGI_TARGET = "ablesung.wsgi:application"
CONNECTION_RESERVE = 10
"""PostgreSQL connections left for background workers, migrations, admin shells."""
SQLITE_THREADS_PER_WORKER = 2


@dataclass(frozen=True)
class ThreadPlan:
    threads: int
    """Blocking threads per granian worker."""
    capped: bool
    reason: str


def plan_threads(
    *,
    workers: int,
    requested: int,
    vendor: str,
    max_connections: int | None = None,
    reserve: int = CONNECTION_RESERVE,
) -> ThreadPlan:
    """Threads per worker so that workers × threads fits the database's connections.

    PostgreSQL: ``workers × threads ≤ max_connections − reserve``.
    SQLite: at most ``SQLITE_THREADS_PER_WORKER`` per worker.
    Other databases: as requested. Raises ``ValueError`` when not even one
    thread per worker fits.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if requested < 1:
        raise ValueError("threads must be at least 1")
    if vendor == "postgresql":
        if max_connections is None:
            raise ValueError("max_connections is required for PostgreSQL")
        budget = max_connections - reserve
        per_worker = budget // workers if budget > 0 else 0
        if per_worker < 1:
            raise ValueError(
                f"{workers} Worker passen nicht in max_connections={max_connections} "
                f"(abzüglich {reserve} Reserve): weniger Worker starten "
                f"oder max_connections erhöhen"
            )
        if requested > per_worker:
            return ThreadPlan(
                per_worker,
                capped=True,
                reason=(
                    f"PostgreSQL max_connections={max_connections} − {reserve} Reserve "
                    f"= {budget} Verbindungen für {workers} Worker"
                ),
            )
        return ThreadPlan(requested, capped=False, reason="passt in max_connections")
    if vendor == "sqlite":
        if requested > SQLITE_THREADS_PER_WORKER:
            return ThreadPlan(
                SQLITE_THREADS_PER_WORKER,
                capped=True,
                reason=f"SQLite: höchstens {SQLITE_THREADS_PER_WORKER} Threads je Worker",
            )
        return ThreadPlan(requested, capped=False, reason="SQLite")
    return ThreadPlan(requested, capped=False, reason=f"keine Begrenzung für {vendor}")


def granian_arguments(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    cert: Path | None,
    key: Path | None,
    access_log: bool = False,
    log_config: Path | None = None,
) -> list[str]:
    """Command-line arguments for ``python -m granian``."""
    args = [
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--no-ws",  # WSGI has none; silences granian's notice
    ]
    if access_log:
        args.append("--access-log")
    if log_config is not None:
        args += ["--log-config", str(log_config)]
    if cert is not None and key is not None:
        args += ["--ssl-certificate", str(cert), "--ssl-keyfile", str(key)]
    return [*args, WSGI_TARGET]


def access_log_config() -> dict[str, Any]:
    """granian's own logging configuration plus the token filter on its access log."""
    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": "ablesung.lib.log_redact.RedactTokens"}}
    config["loggers"]["granian.access"]["filters"] = ["redact_tokens"]
    return config


def write_log_config(directory: Path) -> Path:
    """The configuration as the JSON file granian's ``--log-config`` reads."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "granian-logging.json"
    path.write_text(json.dumps(access_log_config(), indent=2))
    return path


def postgres_max_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        row = cursor.fetchone()
    if row is None:
        raise CommandError("SHOW max_connections lieferte kein Ergebnis")
    return int(row[0])


class Command(BaseCommand):
    help = "Startet den Webserver (granian, WSGI); Threads werden an die Datenbank angepasst."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Adresse (Standard: 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8443, help="Port (Standard: 8443)")
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.SERVE_WORKERS,
            help="Prozesse (Standard: ABLESUNG_WORKERS)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.SERVE_THREADS,
            help="Threads je Prozess, höchstens so viele wie die Datenbank erlaubt "
            "(Standard: ABLESUNG_THREADS)",
        )
        parser.add_argument(
            "--cert",
            type=Path,
            default=Path(settings.TLS_CERT_FILE) if settings.TLS_CERT_FILE else None,
            help="TLS-Zertifikat, PEM (Standard: TLS_CERT_FILE)",
        )
        parser.add_argument(
            "--key",
            type=Path,
            default=Path(settings.TLS_KEY_FILE) if settings.TLS_KEY_FILE else None,
            help="privater Schlüssel, PKCS#8-PEM (Standard: TLS_KEY_FILE)",
        )
        parser.add_argument(
            "--access-log",
            action="store_true",
            help="Zugriffe protokollieren (Pfade persönlicher Links gekürzt)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers: int = options["workers"]
        requested: int = options["threads"]
        cert: Path | None = options["cert"]
        key: Path | None = options["key"]
        if workers < 1 or requested < 1:
            raise CommandError("--workers und --threads müssen mindestens 1 sein")
        if (cert is None) != (key is None):
            raise CommandError("--cert und --key nur zusammen angeben")
        for path in (cert, key):
            if path is not None and not path.is_file():
                raise CommandError(f"Datei {path} nicht gefunden")
        self._check_static_files()

        plan = self._plan(workers, requested)
        if plan.capped:
            self.stderr.write(
                f"Threads je Worker auf {plan.threads} begrenzt (angefordert {requested}): "
                f"{plan.reason}."
            )
        scheme = "https" if cert is not None else "http"
        self.stdout.write(
            f"Webserver: {scheme}://{_url_host(options['host'])}:{options['port']}/ – "
            f"{workers} Worker × {plan.threads} Threads"
        )
        if cert is None:
            self.stderr.write(
                "Kein Zertifikat angegeben (--cert/--key, TLS_CERT_FILE/TLS_KEY_FILE): "
                "der Server spricht unverschlüsseltes HTTP. Nur hinter einem Proxy "
                "betreiben, der TLS beendet."
            )
        argv = [
            sys.executable,
            "-m",
            "granian",
            *granian_arguments(
                host=options["host"],
                port=options["port"],
                workers=workers,
                threads=plan.threads,
                cert=cert,
                key=key,
                access_log=options["access_log"],
                log_config=(
                    write_log_config(Path(settings.VAR_DIR)) if options["access_log"] else None
                ),
            ),
        ]
        self.stdout.flush()
        self.stderr.flush()
        connection.close()
        os.execv(sys.executable, argv)  # noqa: S606 - fixed program, arguments from us

    def _plan(self, workers: int, requested: int) -> ThreadPlan:
        vendor = connection.vendor
        max_connections = None
        if vendor == "postgresql":
            try:
                max_connections = postgres_max_connections()
            except CommandError:
                raise
            except Exception as exc:
                raise CommandError(f"Datenbank nicht erreichbar: {exc}") from exc
        try:
            return plan_threads(
                workers=workers,
                requested=requested,
                vendor=vendor,
                max_connections=max_connections,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _check_static_files(self) -> None:
        """In production the hashed static files must have been collected first."""
        if not settings.PRODUCTION:
            return
        manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
        if not manifest.is_file():
            raise CommandError(
                f"{manifest} fehlt: vor dem Start `ablesung collectstatic --noinput` ausführen."
            )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
