"""Settings, read from the environment (see README for every variable).

Development (the default) needs nothing: SQLite under ``var/``, a generated
secret key, mail printed to the console. ``ABLESUNG_ENV=production`` refuses
to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on the HTTPS
redirect.
"""

import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from ablesung.lib.env import env_bool, env_int, env_list, env_str

django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(env_str("ABLESUNG_VAR_DIR", str(REPO_DIR / "var"))).resolve()

ENVIRONMENT = env_str("ABLESUNG_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("ABLESUNG_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", False) and not PRODUCTION


def _development_secret(name: str) -> str:
    """A random value kept in ``var/<name>`` so that it survives a restart."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = env_str("SECRET_KEY")
#: the key of the access codes' HMAC (ablesung.core.services.access.code_hash): not the
#: secret key, so that rotating SECRET_KEY leaves every printed letter working
ACCESS_CODE_PEPPER = env_str("ACCESS_CODE_PEPPER")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if PRODUCTION:
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be set (at least 50 characters) in production")
    if len(ACCESS_CODE_PEPPER) < 50:
        raise ImproperlyConfigured(
            "ACCESS_CODE_PEPPER must be set (at least 50 random characters) in production"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
else:
    SECRET_KEY = SECRET_KEY or _development_secret("secret_key")
    ACCESS_CODE_PEPPER = ACCESS_CODE_PEPPER or _development_secret("access_code_pepper")
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]

BASE_URL = env_str("BASE_URL", "https://localhost:8443").rstrip("/")
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    "ablesung.accounts",
    "ablesung.core",
    "ablesung.backend",
    "ablesung.portal",
    "ablesung.mail",
    "ablesung.exports",
    "ablesung.letters",
    "ablesung.invitations",
    "ablesung.accounts.admin_apps.OperatorAdminConfig",  # django.contrib.admin, login with 2FA
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates for FORM_RENDERER (TemplatesSetting)
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ablesung.core.language.GermanFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ablesung.accounts.middleware.SessionTimeoutMiddleware",
    "ablesung.accounts.middleware.TwoFactorSetupMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # 413 before anything reads the body: CsrfViewMiddleware reads POST data in
    # process_view, which runs after every middleware's __call__; before the scope's 404
    "ablesung.core.body_limit.RequestBodyLimitMiddleware",
    "ablesung.core.scoping.OrganisationScopeMiddleware",
    "ablesung.core.errors.ErrorIdMiddleware",
]

ROOT_URLCONF = "ablesung.urls"
WSGI_APPLICATION = "ablesung.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
#: ModelBackend that also refuses accounts without an active membership (operators aside)
AUTHENTICATION_BACKENDS = ["ablesung.accounts.backends.StaffBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ablesung.core.scoping.organisation_context",
            ],
        },
    }
]

#: form fields in KERN's markup (templates/includes/field.html) through TEMPLATES
FORM_RENDERER = "ablesung.core.form_rendering.FormRenderer"

# --- database --------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ablesung.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA cache_size=-32000; PRAGMA temp_store=MEMORY;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, caches, limits -----------------------------------------------------
# Rate-limit counters (ablesung.core.ratelimit) live in Redis when REDIS_URL is set, else
# in a table of their own: never in a cache, which may evict them (the database cache
# deletes a third of its keys once it holds 300). Nothing uses the default cache.
REDIS_URL = env_str("REDIS_URL")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Import progress is written while the import's transaction holds SQLite's write
# lock, so it lives outside the database: Redis when configured, else files.
CACHES["progress"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache" / "progress"),
    }
)

#: request bodies above this size get 413 before they are read; upload views allow more
#: (ablesung.core.body_limit.body_limit)
REQUEST_BODY_MAX_BYTES = 64 * 1024
#: confirmation mails a visitor may trigger per day: per letter (or property) and per address
CONFIRMATION_MAILS_PER_GRANT_PER_DAY = 3
CONFIRMATION_MAILS_PER_ADDRESS_PER_DAY = 3
#: invitation and reminder mails per minute, for the whole platform (they share one SMTP
#: server and its limits): a run's mails are spread over time when they are queued
BULK_MAILS_PER_MINUTE = env_int("ABLESUNG_BULK_MAILS_PER_MINUTE", 60)

# --- background jobs ---------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- passwords, sessions, cookies ---------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    # Django's English list and our German one, each also without leading/trailing digits
    # and punctuation ("passwort12345" is "passwort")
    {"NAME": "ablesung.accounts.passwords.CommonPasswordValidator"},
    {
        "NAME": "ablesung.accounts.passwords.CommonPasswordValidator",
        "OPTIONS": {"password_list_path": PACKAGE_DIR / "accounts" / "common-passwords-de.txt"},
    },
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
#: longest password accepted (long passphrases welcome; Argon2 hashes any length)
PASSWORD_MAX_LENGTH = 1024
SESSION_COOKIE_AGE = 10 * 60 * 60  # absolute limit for staff sessions
SESSION_ABSOLUTE_TIMEOUT = 10 * 60 * 60
SESSION_IDLE_TIMEOUT = 30 * 60
#: every staff member and operator must set up two-factor login (else per organisation)
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", False)
OTP_TOTP_ISSUER = "Ablesung"
#: the login throttle (ablesung.core.ratelimit, 5 failures per account in 5 minutes) limits
#: second-factor tries; django-otp's own growing delay would refuse the right code typed a
#: second after a typo
OTP_TOTP_THROTTLE_FACTOR = 0
#: a staff invitation's link is valid this long
INVITATION_VALID_HOURS = 72
#: password-reset mails per address and per client address a day
PASSWORD_RESET_MAILS_PER_ADDRESS_PER_DAY = 3
PASSWORD_RESET_MAILS_PER_IP_PER_DAY = 20
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "__Host-session" if PRODUCTION else "sessionid"
#: the citizen portal's session: a signed cookie (see ablesung.portal.session)
PORTAL_COOKIE_NAME = "__Host-portal" if PRODUCTION else "portal"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "ablesung.core.errors.csrf_failure"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- HTTPS and headers ---------------------------------------------------------
SECURE_SSL_REDIRECT = PRODUCTION or env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not "no-referrer": Chromium then sends `Origin: null` on form POSTs and the CSRF
# check rejects them. Referrers still never leave the site; the citizen's token
# link answers with its own `Referrer-Policy: no-referrer`.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
TLS_CERT_FILE = env_str("TLS_CERT_FILE")
TLS_KEY_FILE = env_str("TLS_KEY_FILE")

# --- language ------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Berlin"
USE_TZ = True

# --- static files and uploads -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = REPO_DIR / "node_modules"
STATICFILES_DIRS = [
    ("kern", NODE_MODULES / "@kern-ux" / "native" / "dist"),
    ("htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.is_dir()]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from finders here

# --- mail (sent through the outbox; SMTP when EMAIL_HOST is set, else the console) ---
# production never falls back to the console backend (check --deploy: mail.E001)
_email_host = env_str("EMAIL_HOST", "localhost" if PRODUCTION else "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ablesung@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- web server ---------------------------------------------------------------------
SERVE_WORKERS = env_int("ABLESUNG_WORKERS", 2)
SERVE_THREADS = env_int("ABLESUNG_THREADS", 8)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # no personal link's token in any line (django.request logs the path of a 500)
    "filters": {"redact_tokens": {"()": "ablesung.lib.log_redact.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR", "filters": ["redact_tokens"]},
        "django_tasks_db": {"level": "WARNING"},
    },
}

# --- operator (imprint, privacy policy, accessibility feedback) ------------------------
OPERATOR = {
    "name": env_str("OPERATOR_NAME", "Betreiber der Ablesung-Installation"),
    "address": env_str("OPERATOR_ADDRESS", ""),
    "email": env_str("OPERATOR_EMAIL", "kontakt@localhost"),
    "phone": env_str("OPERATOR_PHONE", ""),
}

# --- reading letters -------------------------------------------------------------------
#: letters per chunk: one transaction and one stored PDF part each (letters.services)
LETTER_CHUNK_SIZE = env_int("LETTER_CHUNK_SIZE", 250)
