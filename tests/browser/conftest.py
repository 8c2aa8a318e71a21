"""The real HTTPS server (``ablesung serve``, granian) and Debian's Chromium through Playwright.

The server runs against its own SQLite database in a temporary directory with two
organisations sharing one admin; ``ablesung worker`` runs next to it on the same
database, so imports and other background tasks run for real. Both send mail over SMTP
to a real aiosmtpd server on loopback (``smtp_server``, started first); ``portal_seed``
adds an open campaign with issued links for the citizen portal. Without
``/usr/bin/chromium`` the browser tests are skipped, except under ``CI=true`` where they fail.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from ablesung.lib.tls import ensure_self_signed_certificate
from tests.mail.conftest import SmtpServer
from tests.serving import ablesung_command, free_port, start_serve, stop, wait_until_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_DIR = Path(__file__).resolve().parents[2]
AXE_JS = REPO_DIR / "node_modules" / "axe-core" / "axe.min.js"
SEED_PORTAL = Path(__file__).with_name("seed_portal.py")
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Organisation:
    slug: str
    name: str


class Worker:
    """``ablesung worker --interval 0.2`` on the server's database, output in ``log_file``.

    ``paused()`` stops it gracefully and starts a fresh one afterwards, so that a test
    can look at a queued import before it runs.
    """

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env = env
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, "worker already running"
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [*ablesung_command(), "worker", "--interval", "0.2"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while "gestartet" not in self._log_from(offset):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ablesung worker did not start:\n{self._log_from(offset)}")
            time.sleep(0.1)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _log_from(self, offset: int) -> str:
        with self.log_file.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


@dataclass(frozen=True)
class HttpsServer:
    base_url: str
    email: str
    password: str
    organisations: tuple[Organisation, Organisation]
    cert_file: Path
    log_file: Path
    worker: Worker
    env: dict[str, str]
    smtp: SmtpServer


def run_command(env: dict[str, str], *args: str) -> str:
    """``ablesung <args>`` against the server's database (for tests that need a reset)."""
    return _run(env, *args)


def _run(env: dict[str, str], *args: str) -> str:
    return _checked([*ablesung_command(), *args], env, f"ablesung {' '.join(args)}")


def _checked(command: list[str], env: dict[str, str], label: str) -> str:
    """The command's output; the test fails with its output when it fails."""
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{label} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    if not CHROMIUM.is_file():
        message = f"Chromium not installed at {CHROMIUM}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} missing: run `npm ci` (make install does)")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port; the server and the worker send all mail here."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def https_server(
    chromium_executable: Path, tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
) -> Iterator[HttpsServer]:
    tmp = tmp_path_factory.mktemp("ablesung-browser")
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "TLS_CERT_FILE", "TLS_KEY_FILE", "SECURE_SSL_REDIRECT"}
    }
    env.update(
        ABLESUNG_ENV="development",
        ABLESUNG_VAR_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3",
        DJANGO_SETTINGS_MODULE="ablesung.settings",
        PYTHONUNBUFFERED="1",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        EMAIL_USE_TLS="false",
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        DEFAULT_FROM_EMAIL="Ablesung <ablesung@browsertest.example>",
    )
    email = "verwaltung@example.org"
    organisations = (
        Organisation("nordheim", "Stadtwerke Nordheim"),
        Organisation("suedhausen", "Gemeinde Südhausen"),
    )
    _run(env, "migrate", "--verbosity", "0")
    first = _run(
        env,
        "create_organisation",
        organisations[0].slug,
        "--name",
        organisations[0].name,
        "--admin-email",
        email,
    )
    match = re.search(r"Passwort: (\S+)", first)
    assert match, f"no password in create_organisation output:\n{first}"
    _run(
        env,
        "create_organisation",
        organisations[1].slug,
        "--name",
        organisations[1].name,
        "--admin-email",
        email,
    )
    pair = ensure_self_signed_certificate(tmp / "tls")
    port = free_port()
    log_file = tmp / "serve.log"
    server = start_serve(
        env, workers=1, port=port, cert=pair.cert_file, key=pair.key_file, log_file=log_file
    )
    worker = Worker(env, tmp / "worker.log")
    try:
        worker.start()
        if not wait_until_healthy(server, port, pair.cert_file, START_TIMEOUT):
            pytest.fail(
                f"ablesung serve did not answer on port {port}:\n"
                + log_file.read_text(errors="replace")
            )
        yield HttpsServer(
            base_url=f"https://127.0.0.1:{port}",
            email=email,
            password=match.group(1),
            organisations=organisations,
            cert_file=pair.cert_file,
            log_file=log_file,
            worker=worker,
            env=env,
            smtp=smtp_server,
        )
    finally:
        worker.stop()
        stop(server, timeout=10)


@dataclass(frozen=True)
class PortalLink:
    """One seeded property: its personal link token, access code and single meter."""

    token: str
    code: str
    meter: str
    meter_id: int
    register_id: int


@dataclass(frozen=True)
class PortalSeed:
    links: dict[str, PortalLink]
    plausible: str  # a value the engine calls plausible ("1100")
    warning: str  # a value that needs a confirmation ("1900")
    later_token: str  # the link of a campaign whose online window starts in ten days


#: one property per journey, so that every test starts with an open meter
PORTAL_PROPERTIES = ("phone", "desktop", "keyboard", "nojs", "code")


@pytest.fixture(scope="session")
def portal_seed(https_server: HttpsServer) -> PortalSeed:
    """An open campaign of its own organisation with links issued once (``seed_portal.py``)."""
    output = _checked(
        [sys.executable, str(SEED_PORTAL), *PORTAL_PROPERTIES], https_server.env, "seed_portal.py"
    )
    data = json.loads(output.strip().splitlines()[-1])
    values = data.pop("_values")
    later = data.pop("_later")
    return PortalSeed(
        links={name: PortalLink(**link) for name, link in data.items()},
        plausible=values["plausible"],
        warning=values["warning"],
        later_token=later["token"],
    )


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(chromium_executable: Path, playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=str(chromium_executable), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def new_context(browser: Browser, https_server: HttpsServer, **options: Any) -> BrowserContext:
    """A fresh browser profile: the self-signed certificate is accepted, CSP stays on."""
    context = browser.new_context(
        base_url=https_server.base_url,
        ignore_https_errors=True,
        locale="de-DE",
        **options,
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def small_page(browser: Browser, https_server: HttpsServer) -> Iterator[Page]:
    context = new_context(browser, https_server, viewport={"width": 360, "height": 640})
    yield context.new_page()
    context.close()
