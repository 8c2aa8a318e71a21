"""A personal link's token never reaches a log line: ``/r/<token>`` becomes ``/r/…``."""

import logging

import pytest

from ablesung.lib.log_redact import RedactTokens, redact

TOKEN = "49amArd62CDc1gCJ4zqHWQ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/r/{TOKEN}", "/r/…"),
        (f"/r/{TOKEN}/", "/r/…/"),
        (f"unhandled error 1a2b on /r/{TOKEN}/boom/", "unhandled error 1a2b on /r/…/boom/"),
        (f'"GET /r/{TOKEN}?x=1 HTTP/1.1" 302', '"GET /r/…?x=1 HTTP/1.1" 302'),
        (f"https://ablesung.example/r/{TOKEN}", "https://ablesung.example/r/…"),
        ("/portal/zaehler/12/", "/portal/zaehler/12/"),
        ("/r/", "/r/"),
        # staff links: an invitation's token, a password reset's uid and token
        (f'"GET /konto/einladung/{TOKEN}/ HTTP/1.1" 302', '"GET /konto/einladung/…/ HTTP/1.1" 302'),
        ("/konto/einladung/", "/konto/einladung/"),
        ("/konto/passwort/neu/MQ/ck3x-0a1b2c3d/", "/konto/passwort/neu/…/"),
        ("/konto/passwort/neu/fertig/", "/konto/passwort/neu/fertig/"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_filter_rewrites_a_formatted_record() -> None:
    record = logging.LogRecord(
        "granian.access", logging.INFO, __file__, 1, '"%(method)s %(path)s"', None, None
    )
    record.args = {"method": "GET", "path": f"/r/{TOKEN}"}  # granian passes a mapping
    assert RedactTokens().filter(record) is True
    assert record.getMessage() == '"GET /r/…"'


def test_the_filter_leaves_other_records_as_they_are() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "import %s: %s", (7, "ok"), None)
    assert RedactTokens().filter(record) is True
    assert (record.msg, record.args) == ("import %s: %s", (7, "ok"))
