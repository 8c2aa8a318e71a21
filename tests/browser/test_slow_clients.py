"""Slow clients cannot take the server's threads away (SQLite caps them at 2 per worker).

granian hands a request to a Python thread only once its body has arrived: uploads that
stall half-way (a phone on a bad connection, or a slowloris attack) wait in granian, and
the next request is answered at once.
"""

import socket
import ssl
import time
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import HttpsServer
from tests.serving import healthy

pytestmark = pytest.mark.browser

STALLED = 8  # more than workers × threads on SQLite


def test_stalled_uploads_do_not_block_other_requests(https_server: HttpsServer) -> None:
    port = urlsplit(https_server.base_url).port
    assert port is not None
    context = ssl.create_default_context(cafile=str(https_server.cert_file))
    stalled = []
    try:
        for _ in range(STALLED):
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            conn.sendall(
                b"POST /zugang/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000000\r\n\r\ncode=" + b"x" * 100
            )
            stalled.append(conn)
        time.sleep(0.5)  # the server has read what was sent
        started = time.monotonic()
        assert healthy(port, https_server.cert_file)
        assert time.monotonic() - started < 2
    finally:
        for conn in stalled:
            conn.close()
