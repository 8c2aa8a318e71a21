"""The daily schedule inside `ablesung worker`: due once a day, safe with several workers."""

import datetime
import threading
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections
from django_tasks_db.models import DBTaskResult

from ablesung.core import schedule
from ablesung.core.models import ScheduledRun

BERLIN_0200 = datetime.datetime(2026, 11, 24, 1, 0, tzinfo=datetime.UTC)  # 02:00 local
BERLIN_0400 = datetime.datetime(2026, 11, 24, 3, 0, tzinfo=datetime.UTC)  # 04:00 local


@pytest.mark.django_db
def test_job_is_due_once_per_day_after_its_hour() -> None:
    calls: list[str] = []
    jobs = (schedule.DailyJob("test.job", 3, lambda: calls.append("run")),)
    assert schedule.tick(BERLIN_0200, jobs) == []
    assert schedule.tick(BERLIN_0400, jobs) == ["test.job"]
    assert schedule.tick(BERLIN_0400 + datetime.timedelta(hours=5), jobs) == []
    assert schedule.tick(BERLIN_0400 + datetime.timedelta(days=1), jobs) == ["test.job"]
    assert ScheduledRun.objects.filter(job="test.job").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_enqueue_the_job_once() -> None:
    calls: list[str] = []
    jobs = (schedule.DailyJob("test.parallel", 0, lambda: calls.append("run")),)
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(schedule.tick(BERLIN_0400, jobs))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 1]
    assert calls == ["run"]


@pytest.mark.django_db(transaction=True)
def test_worker_command_runs_the_daily_purges(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with time_machine.travel(BERLIN_0400, tick=False):
        call_command("worker", "--once")
        call_command("worker", "--once")
    results = sorted(DBTaskResult.objects.values_list("task_path", "status"))
    assert results == [
        ("ablesung.core.tasks.purge_rate_limit_counters", "SUCCESSFUL"),
        ("ablesung.core.tasks.purge_trash", "SUCCESSFUL"),
        ("ablesung.mail.tasks.purge_finished_mails", "SUCCESSFUL"),
    ]
