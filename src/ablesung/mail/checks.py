"""Deploy checks: production mail goes to a real SMTP server with a bounded timeout."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

NON_DELIVERING = ("console", "locmem", "dummy", "filebased")
MAX_TIMEOUT = 10


@register("mail", deploy=True)
def check_mailer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    mailer = getattr(settings, "MAILERS", {}).get("default", {})
    backend = str(mailer.get("BACKEND", "django.core.mail.backends.smtp.EmailBackend"))
    if any(f".{name}." in f"{backend}." for name in NON_DELIVERING):
        return [
            Error(
                f"The default mailer {backend} does not deliver mail.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD).",
                id="mail.E001",
            )
        ]
    timeout = mailer.get("OPTIONS", {}).get("timeout")
    if backend.endswith("smtp.EmailBackend") and (timeout is None or timeout > MAX_TIMEOUT):
        return [
            Warning(
                f"The SMTP timeout is {timeout!r}; a hanging server would block the worker.",
                hint=f"Set OPTIONS['timeout'] to at most {MAX_TIMEOUT} seconds.",
                id="mail.W001",
            )
        ]
    return []
