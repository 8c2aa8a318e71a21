"""``ablesung serve``: thread cap against the database's connections; self-signed TLS."""

import datetime
import itertools
import json
import socket
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from ablesung.core.management.commands.serve import (
    CONNECTION_RESERVE,
    SQLITE_THREADS_PER_WORKER,
    granian_arguments,
    plan_threads,
    postgres_max_connections,
    write_log_config,
)
from ablesung.lib import tls

# --- thread cap ----------------------------------------------------------------------


def test_postgres_default_max_connections_caps_granian_scale_threads() -> None:
    # The incident: 2 workers × 256 threads against max_connections=100.
    plan = plan_threads(workers=2, requested=256, vendor="postgresql", max_connections=100)
    assert plan.capped
    assert plan.threads == 45
    assert 2 * plan.threads <= 100 - CONNECTION_RESERVE
    assert "max_connections=100" in plan.reason


def test_postgres_request_that_fits_is_kept() -> None:
    plan = plan_threads(workers=2, requested=8, vendor="postgresql", max_connections=100)
    assert plan.threads == 8
    assert not plan.capped


def test_postgres_exact_fit_is_kept() -> None:
    plan = plan_threads(workers=3, requested=30, vendor="postgresql", max_connections=100)
    assert (plan.threads, plan.capped) == (30, False)


def test_postgres_rounds_down() -> None:
    plan = plan_threads(workers=4, requested=50, vendor="postgresql", max_connections=100)
    assert plan.threads == 22  # 90 // 4


@pytest.mark.parametrize(("workers", "max_connections"), [(1, 10), (1, 5), (5, 14), (91, 100)])
def test_postgres_refuses_when_not_one_thread_per_worker_fits(
    workers: int, max_connections: int
) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        plan_threads(
            workers=workers, requested=8, vendor="postgresql", max_connections=max_connections
        )


def test_postgres_needs_max_connections() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        plan_threads(workers=1, requested=8, vendor="postgresql", max_connections=None)


def test_custom_reserve() -> None:
    plan = plan_threads(
        workers=2, requested=100, vendor="postgresql", max_connections=100, reserve=20
    )
    assert plan.threads == 40


@pytest.mark.parametrize(
    ("requested", "expected", "capped"),
    [(1, 1, False), (2, 2, False), (3, 2, True), (256, SQLITE_THREADS_PER_WORKER, True)],
)
def test_sqlite_caps_per_worker(requested: int, expected: int, capped: bool) -> None:
    plan = plan_threads(workers=4, requested=requested, vendor="sqlite")
    assert (plan.threads, plan.capped) == (expected, capped)


def test_other_databases_are_not_capped() -> None:
    plan = plan_threads(workers=2, requested=64, vendor="mysql")
    assert (plan.threads, plan.capped) == (64, False)


@pytest.mark.parametrize(("workers", "requested"), [(0, 8), (1, 0), (-1, 8)])
def test_rejects_nonsense(workers: int, requested: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        plan_threads(workers=workers, requested=requested, vendor="sqlite")


@given(
    workers=st.integers(min_value=1, max_value=64),
    requested=st.integers(min_value=1, max_value=1024),
    max_connections=st.integers(min_value=1, max_value=5000),
)
def test_postgres_plan_never_exceeds_connections(
    workers: int, requested: int, max_connections: int
) -> None:
    budget = max_connections - CONNECTION_RESERVE
    try:
        plan = plan_threads(
            workers=workers,
            requested=requested,
            vendor="postgresql",
            max_connections=max_connections,
        )
    except ValueError:
        assert budget < workers
        return
    assert 1 <= plan.threads <= requested
    assert workers * plan.threads <= budget
    # As many threads as fit: one more per worker would overshoot or exceed the request.
    assert plan.threads == requested or workers * (plan.threads + 1) > budget
    assert plan.capped == (plan.threads < requested)


def test_granian_arguments_https() -> None:
    args = granian_arguments(
        host="127.0.0.1",
        port=8443,
        workers=2,
        threads=45,
        cert=Path("/c.pem"),
        key=Path("/k.pem"),
    )
    assert args[-1] == "ablesung.wsgi:application"
    pairs = {a: b for a, b in itertools.pairwise(args) if a.startswith("--")}
    assert pairs["--interface"] == "wsgi"
    assert pairs["--workers"] == "2"
    assert pairs["--blocking-threads"] == "45"
    assert pairs["--port"] == "8443"
    assert pairs["--ssl-certificate"] == "/c.pem"
    assert pairs["--ssl-keyfile"] == "/k.pem"


def test_granian_arguments_plain_http() -> None:
    args = granian_arguments(
        host="192.0.2.1", port=8000, workers=1, threads=8, cert=None, key=None, access_log=True
    )
    assert "--ssl-certificate" not in args
    assert "--access-log" in args
    assert "--blocking-threads" in args


def test_the_access_log_goes_through_the_token_filter(tmp_path: Path) -> None:
    """granian's access log prints paths: its logger gets the filter that redacts /r/<token>."""
    config_file = write_log_config(tmp_path)
    args = granian_arguments(
        host="127.0.0.1",
        port=8443,
        workers=1,
        threads=2,
        cert=None,
        key=None,
        access_log=True,
        log_config=config_file,
    )
    assert args[args.index("--log-config") + 1] == str(config_file)
    config = json.loads(config_file.read_text())
    assert config["loggers"]["granian.access"]["filters"] == ["redact_tokens"]
    assert config["filters"]["redact_tokens"]["()"] == "ablesung.lib.log_redact.RedactTokens"
    # granian's own handlers and formats are kept (its configuration is replaced per key)
    assert set(config["handlers"]) >= {"console", "access"}
    assert config["loggers"]["_granian"]["handlers"] == ["console"]


def test_serve_refuses_cert_without_key(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(CommandError, match="nur zusammen"):
        call_command("serve", "--cert", str(cert))


def test_serve_refuses_missing_cert_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="nicht gefunden"):
        call_command("serve", "--cert", str(tmp_path / "no.pem"), "--key", str(tmp_path / "no.key"))


@pytest.mark.django_db
def test_postgres_max_connections_is_read() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    assert postgres_max_connections() > CONNECTION_RESERVE


# --- self-signed certificate -----------------------------------------------------------


def _load(pair: tls.CertificatePair) -> tuple[x509.Certificate, Any]:
    cert = x509.load_pem_x509_certificate(pair.cert_file.read_bytes())
    key = serialization.load_pem_private_key(pair.key_file.read_bytes(), password=None)
    return cert, key


def test_creates_pkcs8_key_and_certificate_for_localhost(tmp_path: Path) -> None:
    pair = tls.ensure_self_signed_certificate(tmp_path / "tls")
    assert pair.created
    assert pair.cert_file == tmp_path / "tls" / "cert.pem"
    assert pair.key_file == tmp_path / "tls" / "key.pem"
    assert stat.S_IMODE(pair.key_file.stat().st_mode) == 0o600
    assert pair.key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    cert, key = _load(pair)
    assert cert.public_key() == key.public_key()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    now = datetime.datetime.now(datetime.UTC)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > datetime.timedelta(days=300)
    assert pair.not_valid_after == cert.not_valid_after_utc


@pytest.mark.parametrize("server_name", ["localhost", "127.0.0.1"])
def test_certificate_verifies_as_its_own_trust_anchor(tmp_path: Path, server_name: str) -> None:
    """A real handshake with Python's strict X.509 checks: tests can verify, not ignore."""
    pair = tls.ensure_self_signed_certificate(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pair.cert_file, pair.key_file)
    client_context = ssl.create_default_context(cafile=str(pair.cert_file))
    errors: list[BaseException] = []

    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve_one() -> None:
            try:
                raw, _ = listener.accept()
                with server_context.wrap_socket(raw, server_side=True) as conn:
                    conn.sendall(b"ok")
            except (OSError, ssl.SSLError) as exc:
                errors.append(exc)

        thread = threading.Thread(target=serve_one)
        thread.start()
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_context.wrap_socket(raw, server_hostname=server_name) as conn,
        ):
            assert conn.recv(2) == b"ok"
            assert conn.version() in {"TLSv1.2", "TLSv1.3"}
        thread.join(5)
    assert not errors


def test_reuses_a_valid_pair(tmp_path: Path) -> None:
    first = tls.ensure_self_signed_certificate(tmp_path)
    cert_bytes, key_bytes = first.cert_file.read_bytes(), first.key_file.read_bytes()
    second = tls.ensure_self_signed_certificate(tmp_path)
    assert not second.created
    assert second.cert_file.read_bytes() == cert_bytes
    assert second.key_file.read_bytes() == key_bytes


def test_renews_when_expiring_within_30_days(tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    old = tls.ensure_self_signed_certificate(tmp_path, now=now - datetime.timedelta(days=340))
    assert old.not_valid_after - now < datetime.timedelta(days=30)
    renewed = tls.ensure_self_signed_certificate(tmp_path)
    assert renewed.created
    assert renewed.not_valid_after - now > datetime.timedelta(days=300)


def test_keeps_a_pair_valid_for_more_than_30_days(tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    tls.ensure_self_signed_certificate(tmp_path, now=now - datetime.timedelta(days=330))
    assert not tls.ensure_self_signed_certificate(tmp_path).created


def test_replaces_a_pair_whose_key_does_not_match(tmp_path: Path) -> None:
    tls.ensure_self_signed_certificate(tmp_path / "a")
    other = tls.ensure_self_signed_certificate(tmp_path / "b")
    (tmp_path / "a" / "key.pem").write_bytes(other.key_file.read_bytes())
    pair = tls.ensure_self_signed_certificate(tmp_path / "a")
    assert pair.created
    cert, key = _load(pair)
    assert cert.public_key() == key.public_key()


@pytest.mark.parametrize("broken", ["cert.pem", "key.pem"])
def test_replaces_missing_or_garbled_files(tmp_path: Path, broken: str) -> None:
    tls.ensure_self_signed_certificate(tmp_path)
    (tmp_path / broken).write_text("kaputt")
    assert tls.ensure_self_signed_certificate(tmp_path).created
    (tmp_path / broken).unlink()
    assert tls.ensure_self_signed_certificate(tmp_path).created


def test_tightens_key_permissions(tmp_path: Path) -> None:
    pair = tls.ensure_self_signed_certificate(tmp_path)
    pair.key_file.chmod(0o644)
    assert not tls.ensure_self_signed_certificate(tmp_path).created
    assert stat.S_IMODE(pair.key_file.stat().st_mode) == 0o600


def test_default_directory_is_under_var_dir(tmp_path: Path, settings: Any) -> None:
    settings.VAR_DIR = tmp_path
    pair = tls.ensure_self_signed_certificate()
    assert pair.cert_file == tmp_path / "tls" / "cert.pem"
    assert pair.key_file.is_file()
    assert not list((tmp_path / "tls").glob(".*"))  # no temporary files left behind
