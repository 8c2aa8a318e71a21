"""The real ``ablesung serve`` for the browser tests and the portal benchmark.

No pytest and no Django here: the benchmark imports it from a plain script.
"""

import http.client
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path


def ablesung_command() -> list[str]:
    """``.venv/bin/ablesung`` next to the running interpreter, else ``python -m ablesung``."""
    script = shutil.which("ablesung", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ablesung"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def healthy(port: int, cert_file: Path) -> bool:
    """GET /health/ over a verified TLS connection (the self-signed cert as trust anchor)."""
    context = ssl.create_default_context(cafile=str(cert_file))
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=context)
    try:
        conn.request("GET", "/health/")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def start_serve(
    env: dict[str, str], *, workers: int, port: int, cert: Path, key: Path, log_file: Path
) -> "subprocess.Popen[bytes]":
    """``ablesung serve`` on ``port``; its output goes to ``log_file``."""
    with log_file.open("wb") as log:
        return subprocess.Popen(
            [
                *ablesung_command(),
                "serve",
                "--workers",
                str(workers),
                "--port",
                str(port),
                "--cert",
                str(cert),
                "--key",
                str(key),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_healthy(
    process: "subprocess.Popen[bytes]", port: int, cert_file: Path, timeout: float
) -> bool:
    """True once /health/ answers; False when the server exits or the time is up."""
    deadline = time.monotonic() + timeout
    while not healthy(port, cert_file):
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stop(process: "subprocess.Popen[bytes]", timeout: float = 15) -> None:
    """SIGTERM (granian shuts down gracefully), then kill if it does not."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
