"""A real SMTP server (aiosmtpd) on a free local port, and the mailer pointed at it."""

import copy
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.serving import free_port

TEMPLATE_DIR = Path(__file__).parent / "templates"


class Collector:
    """aiosmtpd handler: keeps every accepted message (raw bytes)."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Mailboxes named ``unknown@…`` do not exist (a permanent 550, like a real server)."""
        if address.startswith("unknown@"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(content)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A local SMTP server that can be down (nothing listens on the port) or up."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.collector = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
            for raw in self.collector.received
        ]

    @property
    def raw(self) -> list[bytes]:
        return list(self.collector.received)


@pytest.fixture
def smtp_down(settings: Any) -> Iterator[SmtpServer]:
    """The mailer points at a port where no server listens (yet): ``start()`` brings it up."""
    server = SmtpServer(free_port())
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": server.port,
                "use_tls": False,
                "timeout": 10,
            },
        }
    }
    settings.DEFAULT_FROM_EMAIL = "Ablesung Stadt A <ablesung@stadt-a.example>"
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEMPLATE_DIR]
    settings.TEMPLATES = templates
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp(smtp_down: SmtpServer) -> SmtpServer:
    """A running SMTP server that the default mailer sends to."""
    smtp_down.start()
    return smtp_down
