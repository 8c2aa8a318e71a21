"""The worker's minute schedule sweeps the outbox; the mail goes out through the DB queue."""

import datetime
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from ablesung.core import schedule
from ablesung.core.models import ScheduledRun
from ablesung.mail.models import OutboxMail
from ablesung.mail.services import queue_mail
from tests.mail.conftest import SmtpServer

T0 = datetime.datetime(2026, 11, 24, 9, 0, 10, tzinfo=datetime.UTC)
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db
def test_minute_job_runs_once_per_minute_and_prunes_old_runs(
    django_capture_on_commit_callbacks: Any,
) -> None:
    calls: list[str] = []
    jobs = (schedule.MinuteJob("test.minute", lambda: calls.append("run")),)
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.tick(T0, jobs) == ["test.minute"]
        assert schedule.tick(T0 + datetime.timedelta(seconds=40), jobs) == []
        assert schedule.tick(T0 + datetime.timedelta(seconds=50), jobs) == ["test.minute"]
    assert calls == ["run", "run"]
    periods = ScheduledRun.objects.filter(job="test.minute").values_list("period", flat=True)
    assert sorted(periods) == ["2026-11-24T09:00", "2026-11-24T09:01"]

    later = T0 + datetime.timedelta(hours=3)
    assert schedule.tick(later, jobs) == ["test.minute"]
    assert list(
        ScheduledRun.objects.filter(job="test.minute").values_list("period", flat=True)
    ) == ["2026-11-24T12:00"]


@pytest.mark.django_db
def test_minute_periods_are_utc_so_the_repeated_hour_at_dst_end_is_not_skipped() -> None:
    jobs = (schedule.MinuteJob("test.dst", lambda: None),)
    first_0230 = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC)  # 02:30 CEST
    second_0230 = datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC)  # 02:30 CET
    assert schedule.tick(first_0230, jobs) == ["test.dst"]
    assert schedule.tick(second_0230, jobs) == ["test.dst"]


def test_the_worker_schedule_has_the_daily_purges_and_the_sweeps() -> None:
    assert [(type(job).__name__, job.name) for job in schedule.JOBS] == [
        ("DailyJob", "trash.purge"),
        ("DailyJob", "mail.purge"),
        ("DailyJob", "ratelimit.purge"),
        ("MinuteJob", "mail.retry"),
        ("MinuteJob", "exports.resume"),
        ("DailyJob", "mailrun.remind"),
        ("MinuteJob", "mailrun.resume"),
        ("MinuteJob", "letter_batches.resume"),
    ]


@pytest.mark.django_db(transaction=True)
def test_worker_sends_a_queued_mail_and_retries_it_after_an_smtp_outage(
    settings: Any, smtp_down: SmtpServer
) -> None:
    settings.TASKS = DB_TASKS
    with time_machine.travel(T0, tick=False):
        with transaction.atomic():
            queue_mail(key="worker:1", to="a@example.org", subject="Über", text="Text")
        assert DBTaskResult.objects.count() == 1  # enqueued at the commit, not sent yet
        call_command("worker", "--once")  # SMTP is down
    mail = OutboxMail.objects.get(key="worker:1")
    assert (mail.attempts, mail.sent_at) == (1, None)
    assert smtp_down.raw == []

    smtp_down.start()
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        call_command("worker", "--once")  # the minute sweep enqueues, the worker sends
        call_command("worker", "--once")
    mail.refresh_from_db()
    assert mail.attempts == 2
    assert mail.sent_at is not None
    [message] = smtp_down.messages
    assert message["Subject"] == "Über"
    sends = DBTaskResult.objects.filter(task_path="ablesung.mail.tasks.send_outbox_mail")
    assert sorted(sends.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]
    assert sorted(result.return_value for result in sends) == ["retry", "sent"]
