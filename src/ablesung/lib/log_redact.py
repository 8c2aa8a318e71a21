"""Log lines never carry a personal link's token: ``/r/<token>`` becomes ``/r/…``.

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


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites a record whose message holds ``/r/<token>`` into the redacted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
