"""The real ``ablesung serve --access-log``: no token, code or meter number in its output, and
413 for a large body before it is read.

One server per module on its own SQLite database (``tests/browser/seed_portal.py`` seeds an
open campaign and issues a letter); a citizen's journey runs over HTTPS, then a forced error
(the rate-limit table is dropped under the running server) answers the link with a 500.
"""

import datetime
import http.cookiejar
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from ablesung.lib.tls import ensure_self_signed_certificate
from tests.serving import ablesung_command, free_port, stop, wait_until_healthy

SEED_PORTAL = Path(__file__).resolve().parents[1] / "browser" / "seed_portal.py"
WRONG_CODE = "ABCD-EFGH-JKM"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Served:
    base_url: str
    port: int
    context: ssl.SSLContext
    env: dict[str, str]
    log_file: Path
    database: Path
    letter: dict[str, str]
    value: str


def run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve-security")
    database = tmp / "db.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TLS_CERT_FILE", "TLS_KEY_FILE"}
    }
    env.update(
        ABLESUNG_ENV="development",
        ABLESUNG_VAR_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="ablesung.settings",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    run([*ablesung_command(), "migrate", "--verbosity", "0"], env)
    seeded = json.loads(run([sys.executable, str(SEED_PORTAL), "buerger"], env).splitlines()[-1])
    pair = ensure_self_signed_certificate(tmp / "tls")
    port = free_port()
    log_file = tmp / "serve.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [
                *ablesung_command(),
                "serve",
                "--access-log",
                "--workers",
                "1",
                "--port",
                str(port),
                "--cert",
                str(pair.cert_file),
                "--key",
                str(pair.key_file),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if not wait_until_healthy(process, port, pair.cert_file, timeout=30):
            pytest.fail(f"ablesung serve did not start:\n{log_file.read_text(errors='replace')}")
        yield Served(
            base_url=f"https://127.0.0.1:{port}",
            port=port,
            context=ssl.create_default_context(cafile=str(pair.cert_file)),
            env=env,
            log_file=log_file,
            database=database,
            letter=seeded["buerger"],
            value=seeded["_values"]["plausible"],
        )
    finally:
        stop(process)


class Browser:
    """Cookies, CSRF tokens and the Origin header, as a browser sends them."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.HTTPSHandler(context=served.context),
        )

    def get(self, path: str) -> tuple[int, str]:
        # https to the test server only
        return self._open(urllib.request.Request(self.served.base_url + path))  # noqa: S310

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        status, page = self.get(path)
        assert status == 200, page
        token = CSRF_FIELD.search(page)
        assert token is not None, page
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields})
        request = urllib.request.Request(  # noqa: S310 (https to the test server)
            self.served.base_url + path,
            data=body.encode(),
            headers={"Origin": self.served.base_url, "Referer": self.served.base_url + path},
        )
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def test_no_token_code_or_meter_number_in_the_server_output(served: Served) -> None:
    letter = served.letter
    citizen = Browser(served)
    # the letter's link leads to the portal
    status, page = citizen.get(f"/r/{letter['token']}")
    assert status == 200
    assert letter["meter"] in page
    # typed access: a wrong code for the meter, the right code with a wrong meter number
    stranger = Browser(served)
    for code, meter in ((WRONG_CODE, letter["meter"]), (letter["code"], "31009999")):
        status, page = stranger.post_form("/zugang/", {"code": code, "meter_number": meter})
        assert status == 200
        assert "stimmen nicht" in page
    # a reading, submitted
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Berlin")).date()
    status, page = citizen.post_form(
        f"/portal/zaehler/{letter['meter_id']}/",
        {f"value_{letter['register_id']}": served.value, "reading_date": today.isoformat()},
    )
    assert status == 200, page  # the redirect to the overview, followed
    # the forced error: the rate-limit table is gone, the link answers 500
    with closing(sqlite3.connect(served.database)) as db:
        db.execute("DROP TABLE core_ratelimitcounter")
    status, page = Browser(served).get(f"/r/{letter['token']}")
    assert status == 500
    assert "Fehlernummer" in page
    output = served.log_file.read_text(errors="replace")
    # the lines are there: access log, the error with its id, Django's own error line
    assert re.search(r'"GET /r/… HTTP/1.1" 302', output), output
    assert re.search(r"unhandled error \w+ on /r/…", output), output
    assert "Internal Server Error: /r/…" in output, output
    assert "no such table" in output
    # and none of the secrets
    secrets_typed = {
        "token": letter["token"],
        "code": letter["code"],
        "code without dashes": letter["code"].replace("-", ""),
        "meter number": letter["meter"],
        "wrong meter number": "31009999",
    }
    for name, secret in secrets_typed.items():
        assert secret not in output, f"the {name} is in the server output"


def test_the_server_answers_413_before_reading_a_large_body(served: Served) -> None:
    """200 MB announced, 64 KiB sent: the answer comes without the rest being read."""
    for headers in (
        f"Content-Length: {200 * 1024 * 1024}\r\nContent-Type: multipart/form-data; boundary=x",
        "Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded",
    ):
        with (
            socket.create_connection(("127.0.0.1", served.port), timeout=30) as raw,
            served.context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
        ):
            conn.sendall(
                f"POST /zugang/ HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n{headers}\r\n\r\n".encode()
            )
            if "chunked" in headers:
                conn.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
            else:
                conn.sendall(b"x" * 0x10000)
            answer = conn.recv(65536).decode(errors="replace")
        status_line = answer.splitlines()[0]
        assert status_line.startswith("HTTP/1.1 413"), answer[:500]
