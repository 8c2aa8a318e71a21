"""Sent and given-up mails are deleted after 30 days; waiting mails are kept."""

import datetime
from typing import Any

from django.utils import timezone

from ablesung.mail.models import OutboxMail
from ablesung.mail.tasks import purge_finished, purge_finished_mails

NOW = datetime.datetime(2027, 3, 1, 4, 0, tzinfo=datetime.UTC)


def mail(key: str, **fields: Any) -> OutboxMail:
    created: OutboxMail = OutboxMail.objects.create(
        key=key, to="a@example.org", subject="s", text="t", **fields
    )
    return created


def test_finished_mails_older_than_30_days_are_deleted(db: Any) -> None:
    old = NOW - datetime.timedelta(days=31)
    recent = NOW - datetime.timedelta(days=29)
    mail("sent-old", sent_at=old)
    mail("failed-old", failed_at=old)
    mail("sent-recent", sent_at=recent)
    mail("waiting", next_attempt_at=old)
    assert purge_finished(NOW) == 2
    assert sorted(OutboxMail.objects.values_list("key", flat=True)) == ["sent-recent", "waiting"]
    assert purge_finished(NOW) == 0  # twice changes nothing


def test_the_task_uses_the_current_time(db: Any) -> None:
    mail("sent-long-ago", sent_at=timezone.now() - datetime.timedelta(days=40))
    mail("sent-today", sent_at=timezone.now())
    assert purge_finished_mails.call() == 1
    assert list(OutboxMail.objects.values_list("key", flat=True)) == ["sent-today"]
