"""Log lines never carry a personal link's token: ``/r/<token>`` becomes ``/r/…``; the
same for a staff invitation (``/konto/einladung/<token>/``) and a password-reset link
(``/konto/passwort/neu/<uid>/<token>/``).

:func:`redact` is for code that writes a path into a message itself; :class:`RedactTokens`
is a logging filter for messages others format (Django's ``django.request`` logger,
granian's access log, the console handler). Access codes and meter numbers travel in POST
bodies only, which nothing logs.
"""

import logging
import re

#: a personal link's path segment, wherever it stands (path, full URL, request line)
_TOKEN_PATH = re.compile(r"/r/[^\s/?#\"']+")
REDACTED = "/r/…"
#: staff links: an invitation's token, a password reset's uid and token
_STAFF_TOKEN_PATHS = (
    (re.compile(r"/konto/einladung/[^\s/?#\"']+"), "/konto/einladung/…"),
    (
        re.compile(r"/konto/passwort/neu/(?!fertig/)[^\s/?#\"']+/[^\s/?#\"']+"),
        "/konto/passwort/neu/…",
    ),
)


def redact(text: str) -> str:
    text = _TOKEN_PATH.sub(REDACTED, text)
    for pattern, replacement in _STAFF_TOKEN_PATHS:
        text = pattern.sub(replacement, text)
    return text


class RedactTokens(logging.Filter):
    """Rewrites a record whose message holds ``/r/<token>`` into the redacted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
