"""``ablesung worker``: runs background tasks and the periodic schedule (no cron needed).

Several workers may run at once (on PostgreSQL tasks are claimed with
``SELECT … FOR UPDATE SKIP LOCKED``); the schedule enqueues each daily job once a day
and each minute job (the outbox sweep) once a minute, however many workers run.
"""

import logging
import signal
import socket
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from ablesung.core import schedule

logger = logging.getLogger("ablesung.worker")


class Command(BaseCommand):
    help = "Startet den Hintergrund-Worker (Aufgaben, tägliche und minütliche Zeitplan-Jobs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Sekunden zwischen Abfragen"
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Zeitplan prüfen, fällige Aufgaben ausführen, beenden",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.running = True
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        worker_id = f"{socket.gethostname()}-{id(self):x}"[:64]
        self.stdout.write(f"Worker {worker_id} gestartet.")
        while self.running:
            close_old_connections()
            due = schedule.tick()
            if due:
                logger.info("scheduled: %s", ", ".join(due))
            Worker(
                queue_names=["*"],
                interval=0,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            ).run()
            if options["once"]:
                break
            self._sleep(options["interval"])
        self.stdout.write("Worker beendet.")

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            raise SystemExit(1)
        self.running = False

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running and time.monotonic() < deadline:
            time.sleep(min(0.2, seconds))
