"""The periodic schedule that runs inside ``ablesung worker`` (no cron needed).

Each job runs once per period: a day (``DailyJob``, from a local hour on) or a minute
(``MinuteJob``). Several workers may tick at the same time: the unique ``ScheduledRun``
row of (job, period) decides which one enqueues, so a job is never enqueued twice for
the same period.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ablesung.core.models import ScheduledRun
from ablesung.core.tasks import purge_rate_limit_counters, purge_trash


@dataclass(frozen=True)
class DailyJob:
    name: str
    hour: int  # local time (settings.TIME_ZONE) from which the job is due
    enqueue: Callable[[], Any]

    def period(self, now: datetime.datetime) -> str | None:
        """The local date once the hour has come, else ``None`` (not due yet)."""
        local = timezone.localtime(now)
        return local.date().isoformat() if local.hour >= self.hour else None


@dataclass(frozen=True)
class MinuteJob:
    """A job due every minute; ``enqueue`` should be quick (it runs in the ticking worker)."""

    name: str
    enqueue: Callable[[], Any]
    keep: datetime.timedelta = datetime.timedelta(hours=1)  # older ScheduledRun rows go

    def period(self, now: datetime.datetime) -> str:
        """The UTC minute (``YYYY-MM-DDTHH:MM``): UTC has no repeated hour at DST's end."""
        return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M")


Job = DailyJob | MinuteJob


def _retry_due_mails() -> None:
    from ablesung.mail.tasks import retry_due_mails

    retry_due_mails()


def _purge_finished_mails() -> None:
    from ablesung.mail.tasks import purge_finished_mails

    purge_finished_mails.enqueue()


def _resume_export_runs() -> None:
    from ablesung.exports.tasks import resume_export_runs

    resume_export_runs()


def _start_due_reminders() -> None:
    from ablesung.invitations.tasks import start_due_reminders

    start_due_reminders.enqueue()


def _resume_invitation_runs() -> None:
    from ablesung.invitations.services import resume_stale_runs

    resume_stale_runs()


def _resume_letter_batches() -> None:
    from ablesung.letters.tasks import resume_letter_batches

    resume_letter_batches()


JOBS: tuple[Job, ...] = (
    DailyJob("trash.purge", 3, purge_trash.enqueue),
    DailyJob("mail.purge", 4, _purge_finished_mails),
    DailyJob("ratelimit.purge", 2, purge_rate_limit_counters.enqueue),
    MinuteJob("mail.retry", _retry_due_mails),
    MinuteJob("exports.resume", _resume_export_runs),
    # job names are no audit codes: "mailrun" is not an audit namespace
    DailyJob("mailrun.remind", 8, _start_due_reminders),
    MinuteJob("mailrun.resume", _resume_invitation_runs),
    # not "letters.…": that is the letters' audit namespace
    MinuteJob("letter_batches.resume", _resume_letter_batches),
)


def tick(now: datetime.datetime | None = None, jobs: tuple[Job, ...] = JOBS) -> list[str]:
    """Enqueues every job that is due and not yet enqueued this period; returns their names."""
    now = now or timezone.now()
    enqueued = []
    for job in jobs:
        period = job.period(now)
        if period is None:
            continue
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job.name, period=period, created_at=now)
                if isinstance(job, MinuteJob):
                    # one row a minute would pile up; the unique check only needs recent ones
                    ScheduledRun.objects.filter(
                        job=job.name, created_at__lt=now - job.keep
                    ).delete()
                # a failing minute job is logged and simply runs again next minute
                transaction.on_commit(job.enqueue, robust=isinstance(job, MinuteJob))
        except IntegrityError:
            continue
        enqueued.append(job.name)
    return enqueued
