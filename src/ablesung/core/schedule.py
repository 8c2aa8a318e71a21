"""The periodic schedule that runs inside ``ablesung worker`` (no cron needed).

Each job runs once per period. Several workers may tick at the same time: the
unique ``ScheduledRun`` row decides which one enqueues, so a job is never
enqueued twice for the same day.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ablesung.core.models import ScheduledRun
from ablesung.core.tasks import purge_trash


@dataclass(frozen=True)
class DailyJob:
    name: str
    hour: int  # local time (settings.TIME_ZONE) from which the job is due
    enqueue: Callable[[], Any]


JOBS: tuple[DailyJob, ...] = (DailyJob("trash.purge", 3, purge_trash.enqueue),)


def tick(now: datetime.datetime | None = None, jobs: tuple[DailyJob, ...] = JOBS) -> list[str]:
    """Enqueues every job that is due and not yet enqueued today; returns their names."""
    local = timezone.localtime(now or timezone.now())
    enqueued = []
    for job in jobs:
        if local.hour < job.hour:
            continue
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job.name, period=local.date().isoformat())
                transaction.on_commit(job.enqueue)
        except IntegrityError:
            continue
        enqueued.append(job.name)
    return enqueued
