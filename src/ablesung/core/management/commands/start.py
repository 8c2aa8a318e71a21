"""``ablesung start``: web server and background worker together (what ``make run`` calls).

Uses ``TLS_CERT_FILE``/``TLS_KEY_FILE`` when set, otherwise a self-signed
certificate under ``var/tls/`` (created once, renewed before it expires).
Both children run in their own process group: Ctrl-C or SIGTERM reaches this
process only, which then stops each child exactly once (SIGTERM), waits, and
kills what does not stop. If either child dies, the other is stopped and the
command exits non-zero.
"""

import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from ablesung.lib.tls import ensure_self_signed_certificate

STOP_TIMEOUT = 15.0
READY_TIMEOUT = 30.0


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when ``ablesung start`` dies, even by SIGKILL."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Command(BaseCommand):
    help = "Startet Webserver (HTTPS) und Hintergrund-Worker zusammen; Strg+C beendet beide."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Adresse (Standard: 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8443, help="Port (Standard: 8443)")

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        cert, key = self._certificate()
        self.stopping = False
        self.stop_requests = 0
        previous = {
            signum: signal.signal(signum, self._request_stop)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        children: dict[str, subprocess.Popen[bytes]] = {}
        try:
            children["Webserver"] = self._spawn(
                "serve", "--host", host, "--port", str(port), "--cert", str(cert), "--key", str(key)
            )
            children["Worker"] = self._spawn("worker")
            self._announce(children, host, port)
            failed = self._wait(children)
        finally:
            self._stop_all(children)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if failed is not None:
            name, code = failed
            raise CommandError(
                f"{name} wurde unerwartet beendet (Exit-Code {code}); alles gestoppt.",
                returncode=code if code and code > 0 else 1,
            )
        self.stdout.write("Webserver und Worker beendet.")

    def _certificate(self) -> tuple[Path, Path]:
        if settings.TLS_CERT_FILE or settings.TLS_KEY_FILE:
            if not (settings.TLS_CERT_FILE and settings.TLS_KEY_FILE):
                raise CommandError("TLS_CERT_FILE und TLS_KEY_FILE nur zusammen setzen")
            return Path(settings.TLS_CERT_FILE), Path(settings.TLS_KEY_FILE)
        pair = ensure_self_signed_certificate()
        verb = "erzeugt" if pair.created else "vorhanden"
        self.stdout.write(
            f"Selbst signiertes Zertifikat {verb}: {pair.cert_file} "
            f"(gültig bis {pair.not_valid_after:%d.%m.%Y})"
        )
        return pair.cert_file, pair.key_file

    def _spawn(self, *command: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "ablesung", *command],
            process_group=0,
            preexec_fn=_die_with_parent,  # runs between fork and exec; no threads here
        )

    def _announce(self, children: dict[str, subprocess.Popen[bytes]], host: str, port: int) -> None:
        connect_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.stopping and time.monotonic() < deadline:
            if any(child.poll() is not None for child in children.values()):
                return
            try:
                with socket.create_connection((connect_host, port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            if self.stopping:
                return
        base = f"https://localhost:{port}"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Ablesung läuft: {base}"))
        self.stdout.write(f"  Anmeldung: {base}{reverse('accounts:login')}")
        if not settings.TLS_CERT_FILE:
            self.stdout.write(
                "  Das Zertifikat ist selbst signiert: die Warnung des Browsers einmal bestätigen."
            )
        self.stdout.write("  Beenden mit Strg+C.")
        self.stdout.write("")

    def _wait(self, children: dict[str, subprocess.Popen[bytes]]) -> tuple[str, int] | None:
        """Until a stop is requested (None) or a child exits ((name, exit code))."""
        while not self.stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    return name, code
            time.sleep(0.2)
        return None

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requests += 1
        self.stopping = True
        if self.stop_requests == 1:
            self.stderr.write("\nBeende Webserver und Worker …")
        elif self.stop_requests == 2:
            self.stderr.write("Noch einmal Strg+C beendet sofort.")

    def _stop_all(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        running = {name: child for name, child in children.items() if child.poll() is None}
        for child in running.values():
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(child.poll() is None for child in running.values()):
            if time.monotonic() > deadline or self.stop_requests >= 3:
                for name, child in running.items():
                    if child.poll() is None:
                        self.stderr.write(f"{name} reagiert nicht – wird abgebrochen.")
                        child.kill()
                        child.wait()
                return
            time.sleep(0.1)
