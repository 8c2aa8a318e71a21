"""Production settings: deploy checks, refusal to start half-configured, headers, cookies, CSRF,
error pages without traces, password hashing and validation."""

import json
import logging
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpResponseBase
from django.test import Client
from django_scopes import scopes_disabled
from pytest_django.fixtures import Settings

import ablesung
import ablesung.settings as production_settings
from ablesung.accounts.models import User
from ablesung.core.models import AuditEntry, Role
from tests.conftest import PASSWORD, OrgData
from tests.test_isolation import add_photo, member_client, org_routes, requests_for
from tests.urls_boom import BOOM_MESSAGE

SRC_DIR = Path(ablesung.__file__).resolve().parent.parent
ONE_YEAR = 31_536_000
#: environment variables the child process may inherit (everything else is set explicitly)
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!#%&*+-=?@^_~"
    return "".join(secrets.choice(alphabet) for _ in range(60))


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        {
            "PYTHONPATH": str(SRC_DIR),
            "ABLESUNG_ENV": "production",
            "SECRET_KEY": random_secret_key(),
            "ACCESS_CODE_PEPPER": random_secret_key(),
            "ALLOWED_HOSTS": "ablesung.example",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "ABLESUNG_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "ablesung.settings",
        }
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_ablesung(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ablesung", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- deploy checks and refusal to start --------------------------------------------------------


def test_deploy_checks_pass_with_production_settings(tmp_path: Path) -> None:
    result = run_ablesung(
        production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING", cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert not re.search(r"\(\w+\.[EW]\d+\)", output), output


@pytest.mark.parametrize(
    ("variable", "overrides"),
    [
        ("SECRET_KEY", {"SECRET_KEY": None}),
        ("SECRET_KEY", {"SECRET_KEY": "zu-kurz"}),
        ("ACCESS_CODE_PEPPER", {"ACCESS_CODE_PEPPER": None}),
        ("ACCESS_CODE_PEPPER", {"ACCESS_CODE_PEPPER": "x" * 49}),
        ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": None}),
        ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": " , "}),
    ],
)
def test_production_refuses_to_start_without(
    tmp_path: Path, variable: str, overrides: dict[str, str | None]
) -> None:
    result = run_ablesung(production_env(tmp_path, **overrides), "check", cwd=tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert variable in message, message


# --- headers ---------------------------------------------------------------------------------------


@pytest.fixture
def https_only(settings: Settings) -> Settings:
    """Production's HTTPS redirect; a Client created afterwards builds its middleware with it."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.ROOT_URLCONF = "tests.urls_boom"
    return settings


def csp_directives(response: HttpResponseBase) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        if part.strip():
            name, *values = part.split()
            directives[name] = values
    return directives


def assert_security_headers(response: HttpResponseBase, label: str) -> None:
    headers = response.headers
    hsts = headers.get("Strict-Transport-Security", "")
    max_age = re.search(r"max-age=(\d+)", hsts)
    assert max_age is not None, f"{label}: no HSTS ({hsts!r})"
    assert int(max_age.group(1)) >= ONE_YEAR, f"{label}: {hsts}"
    assert "includesubdomains" in hsts.lower(), f"{label}: {hsts}"
    assert headers.get("X-Content-Type-Options") == "nosniff", label
    assert headers.get("Referrer-Policy") in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }, label
    assert headers.get("X-Frame-Options") == "DENY", label
    csp = csp_directives(response)
    assert csp.get("object-src") == ["'none'"], f"{label}: {csp}"
    assert csp.get("base-uri") == ["'none'"], f"{label}: {csp}"
    assert csp.get("frame-ancestors") == ["'none'"], f"{label}: {csp}"
    nonces = [v for v in csp.get("script-src", []) if v.startswith("'nonce-")]
    full_page = response["Content-Type"].startswith("text/html") and b"<html" in getattr(
        response, "content", b""
    )
    if full_page:  # downloads and htmx fragments run no script of their own
        assert len(nonces) == 1, f"{label}: script-src without nonce: {csp}"
    else:
        assert csp.get("script-src") == ["'self'"], f"{label}: {csp}"
    assert "'unsafe-inline'" not in csp.get("script-src", []), label


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(https_only: Settings) -> None:
    response = Client().get("/konto/anmelden/?next=/o/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/konto/anmelden/?next=/o/"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "status"), [("/konto/anmelden/", 200), ("/gibt-es-nicht/", 404)])
def test_pages_carry_the_security_headers(https_only: Settings, path: str, status: int) -> None:
    response = Client().get(path, secure=True)
    assert response.status_code == status
    assert_security_headers(response, path)
    nonce = csp_directives(response)["script-src"][-1].removeprefix("'nonce-").removesuffix("'")
    assert f'nonce="{nonce}"' in response.text


@pytest.mark.django_db
def test_a_500_shows_an_error_id_and_no_trace(
    https_only: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="ablesung.errors"):
        response = client.get("/boom/", secure=True)
    assert response.status_code == 500
    assert_security_headers(response, "500")
    error_id = re.search(r"<code>([^<]+)</code>", response.text)
    assert error_id is not None, response.text
    for leak in ("Traceback", "RuntimeError", BOOM_MESSAGE, 'File "', ".py", str(SRC_DIR)):
        assert leak not in response.text, leak
    records = [r for r in caplog.records if r.name == "ablesung.errors"]
    assert [r for r in records if error_id.group(1) in r.getMessage() and r.exc_info], records


@pytest.mark.django_db
def test_404_and_403_are_not_logged_as_errors(
    org_a: OrgData, client_a: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Only a real crash gets an error id; a wrong id or a missing permission is no alert."""
    org = org_a.organisation
    viewer = member_client(org, Role.VIEWER)
    with caplog.at_level(logging.INFO, logger="ablesung.errors"):
        missing = client_a.get(f"/o/{org.slug}/ableseaktionen/999999/")
        foreign = client_a.post(f"/o/{org.slug}/loeschen/meter/999999/")
        forbidden = viewer.post(f"/o/{org.slug}/loeschen/meter/{org_a.meter.pk}/")
    assert (missing.status_code, foreign.status_code, forbidden.status_code) == (404, 404, 403)
    assert [r.getMessage() for r in caplog.records if r.name == "ablesung.errors"] == []


@pytest.mark.django_db
def test_backend_pages_are_not_cached(https_only: Settings, org_a: OrgData) -> None:
    org = org_a.organisation
    admin = member_client(org, Role.ADMIN)  # an admin may open every page
    add_photo(org_a)
    checked: set[str] = set()
    for route, path in requests_for(org_routes(), org.slug, org, live_only=True):
        response = admin.get(path, secure=True)
        if response.status_code == 405:  # POST-only endpoint
            continue
        assert response.status_code == 200, path
        assert "no-store" in response.headers.get("Cache-Control", ""), path
        assert_security_headers(response, path)
        checked.add(route.name)
    assert {"backend:dashboard", "backend:campaign_detail", "backend:trash"} <= checked


# --- CSRF, cookies, passwords -----------------------------------------------------------------------


@pytest.mark.django_db
def test_login_without_csrf_token_is_refused_and_changes_nothing(clerk_a: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/konto/anmelden/", {"username": clerk_a.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "Formular abgelaufen" in response.text
    assert 'lang="de"' in response.text
    assert "_auth_user_id" not in client.session
    clerk_a.refresh_from_db()
    assert clerk_a.last_login is None
    with scopes_disabled():
        assert not AuditEntry.objects.filter(action__startswith="auth.").exists()


@pytest.mark.django_db
def test_logout_needs_a_post(client_a: Client) -> None:
    response = client_a.get("/konto/abmelden/")
    assert response.status_code == 405
    assert "_auth_user_id" in client_a.session


@pytest.mark.django_db
def test_session_cookie_is_secure_httponly_and_lax(clerk_a: User) -> None:
    client = Client()
    response = client.post(
        "/konto/anmelden/", {"username": clerk_a.email, "password": PASSWORD}, secure=True
    )
    assert response.status_code == 302
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


PRINT_SETTINGS = """
import json
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE",
    "PASSWORD_HASHERS")}))
"""


def test_production_settings_as_loaded_by_the_process(tmp_path: Path) -> None:
    result = run_ablesung(production_env(tmp_path), "shell", "-c", PRINT_SETTINGS, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["DEBUG"] is False
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert loaded["SESSION_COOKIE_SECURE"] is loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert loaded["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2id() -> None:
    assert production_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )
    user = User.objects.create_user("neu@stadt-a.example", PASSWORD)
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_long_passphrases_pass_and_common_passwords_fail() -> None:
    passphrase = "Mein Zähler steht im Keller neben dem Fahrrad, seit 1998 schon!"
    passphrase = passphrase.ljust(64, "!")
    assert len(passphrase) == 64
    validate_password(passphrase)
    with pytest.raises(ValidationError) as caught:
        validate_password("password123456")
    assert any("üblich" in message for message in caught.value.messages)
