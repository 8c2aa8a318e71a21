"""The outbox against a real SMTP server: on commit, once, retried with backoff, given up."""

import datetime
import itertools
import logging
import threading
from typing import Any

import pytest
import time_machine
from django.db import connections, transaction

from ablesung.core.models import Organisation
from ablesung.mail import tasks
from ablesung.mail.models import OutboxMail
from ablesung.mail.services import NotInTransaction, failed_mail_count, queue_mail, render_mail
from ablesung.mail.tasks import backoff, retry_due_mails, send_outbox_mail
from tests.conftest import OrgData
from tests.mail.conftest import SmtpServer

T0 = datetime.datetime(2026, 12, 30, 9, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)
TO = "monika.weiss@example.org"
REPLY_TO = "zaehler@stadt-a.example"


class Boom(Exception):
    pass


def queue(
    organisation: Organisation | None = None, key: str = "test:1", **context: Any
) -> OutboxMail:
    subject, text, html = render_mail(
        "mail_test/greeting", {"name": "Monika Weiß", "number": "M1", **context}
    )
    with transaction.atomic():
        return queue_mail(
            key=key,
            to=TO,
            subject=subject,
            text=text,
            html=html,
            organisation=organisation,
            reply_to=REPLY_TO,
        )


def queue_and_fail(key: str) -> None:
    """Queues a mail, then the caller's transaction fails."""
    with transaction.atomic():
        queue(key=key)
        raise Boom


def unsent_row(key: str) -> OutboxMail:
    """A row whose on-commit enqueue got lost (e.g. the web process died right after commit)."""
    mail: OutboxMail = OutboxMail.objects.create(key=key, to=TO, subject="Betreff", text="Text")
    return mail


# --- on commit, once ------------------------------------------------------------------------


@pytest.mark.django_db
def test_queued_mail_is_sent_at_commit_once_with_subject_text_and_html(
    smtp: SmtpServer, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mail = queue(org_a.organisation)
        assert smtp.raw == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert smtp.collector.recipients == [[TO]]
    [message] = smtp.messages
    assert message["Subject"] == "Bestätigung für Monika Weiß – Zählerstand M1"
    assert message["To"] == TO
    assert message["From"] == "Ablesung Stadt A <ablesung@stadt-a.example>"
    assert message["Reply-To"] == REPLY_TO
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].startswith(f"<outbox.{mail.pk}.")
    assert message["Message-ID"].endswith("@stadt-a.example>")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Guten Tag Monika Weiß," in text.get_content()
    assert "Diese E-Mail wurde automatisch erstellt." in text.get_content()
    assert '<html lang="de">' in html.get_content()
    assert "Guten Tag Monika Weiß," in html.get_content()

    mail.refresh_from_db()
    assert mail.sent_at is not None
    assert (mail.attempts, mail.failed_at, mail.organisation) == (1, None, org_a.organisation)

    # the same key again (a retried request): the same row, no second task, no second mail
    with django_capture_on_commit_callbacks(execute=True) as again:
        assert queue(org_a.organisation).pk == mail.pk
    assert again == []
    assert len(smtp.raw) == 1
    assert OutboxMail.objects.count() == 1


@pytest.mark.django_db
def test_umlauts_in_the_subject_travel_encoded_and_arrive_intact(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    subject = "Größe, Übersicht, Zählerstände: ÄÖÜß"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queue_mail(key="umlaut", to=TO, subject=subject, text="ä")
    [raw] = smtp.raw
    header_block = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    assert "ö".encode() not in header_block  # RFC 2047 encoded, not raw 8-bit in the header
    assert b"=?utf-8?" in header_block.lower()
    [message] = smtp.messages
    assert message["Subject"] == subject
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().rstrip() == "ä"


@pytest.mark.django_db
def test_rolled_back_transaction_queues_and_sends_nothing(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        queue_and_fail("rolled-back")
    assert callbacks == []
    assert not OutboxMail.objects.exists()
    assert smtp.raw == []


@pytest.mark.django_db(transaction=True)
def test_real_commit_sends_and_real_rollback_does_not(smtp: SmtpServer) -> None:
    with transaction.atomic():
        queue(key="committed")
        assert smtp.raw == []
    assert len(smtp.raw) == 1  # the Immediate task backend ran the task at the commit
    with pytest.raises(Boom):
        queue_and_fail("rolled-back")
    assert len(smtp.raw) == 1
    assert list(OutboxMail.objects.values_list("key", flat=True)) == ["committed"]


@pytest.mark.django_db(transaction=True)
def test_queue_mail_outside_a_transaction_is_refused(smtp: SmtpServer) -> None:
    with pytest.raises(NotInTransaction):
        queue_mail(key="autocommit", to=TO, subject="Betreff", text="Text")
    assert not OutboxMail.objects.exists()
    assert smtp.raw == []


# --- idempotent task ------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_task_twice_sends_one_mail(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        mail = queue()
    assert send_outbox_mail.call(mail.pk) == "skipped"
    assert send_outbox_mail.enqueue(mail.pk).return_value == "skipped"
    assert send_outbox_mail.call(mail.pk + 1000) == "skipped"  # a vanished row
    assert len(smtp.raw) == 1
    mail.refresh_from_db()
    assert mail.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_mail_at_once_send_it_once(smtp: SmtpServer) -> None:
    mail = unsent_row("parallel")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(send_outbox_mail.call(mail.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["sent", "skipped"]
    assert len(smtp.raw) == 1


@pytest.mark.django_db
def test_a_worker_killed_mid_job_leaves_a_lease_and_the_sweep_sends_one_mail(
    smtp: SmtpServer,
) -> None:
    with time_machine.travel(T0, tick=False):
        mail = unsent_row("killed")
        # the state a worker leaves when it dies after claiming, before SMTP answered
        assert tasks._claim(mail.pk) is not None
    with time_machine.travel(T0 + MINUTE, tick=False):
        assert retry_due_mails() == 0  # still leased to the dead worker
        assert send_outbox_mail.call(mail.pk) == "skipped"
    assert smtp.raw == []
    with time_machine.travel(T0 + tasks.LEASE, tick=False):
        assert retry_due_mails() == 1
        assert retry_due_mails() == 0
    assert len(smtp.raw) == 1
    mail.refresh_from_db()
    assert (mail.attempts, mail.sent_at) == (2, T0 + tasks.LEASE)


@pytest.mark.django_db
def test_the_sweep_sends_a_fresh_mail_whose_task_got_lost_after_a_grace_period(
    smtp: SmtpServer,
) -> None:
    with time_machine.travel(T0, tick=False):
        unsent_row("lost-enqueue")
    with time_machine.travel(T0 + MINUTE, tick=False):
        assert retry_due_mails() == 0  # its own task is probably still in the queue
    with time_machine.travel(T0 + tasks.FRESH_GRACE, tick=False):
        assert retry_due_mails() == 1
    assert len(smtp.raw) == 1


# --- SMTP down: backoff, retry, give up ---------------------------------------------------------


@pytest.mark.django_db
def test_smtp_down_keeps_the_mail_and_sends_it_once_when_smtp_is_back(
    smtp_down: SmtpServer, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        time_machine.travel(T0, tick=False),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        mail = queue(org_a.organisation)
    assert len(callbacks) == 1
    mail.refresh_from_db()
    assert (mail.attempts, mail.sent_at, mail.failed_at) == (1, None, None)
    assert mail.next_attempt_at == T0 + MINUTE
    assert mail.last_error.startswith("ConnectionRefusedError: ")
    assert "\n" not in mail.last_error

    smtp_down.start()
    with time_machine.travel(T0 + MINUTE / 2, tick=False):
        assert retry_due_mails() == 0  # not due yet
    assert smtp_down.raw == []
    with time_machine.travel(T0 + MINUTE, tick=False):
        assert retry_due_mails() == 1
        assert retry_due_mails() == 0
        assert send_outbox_mail.call(mail.pk) == "skipped"
    assert len(smtp_down.raw) == 1
    [message] = smtp_down.messages
    assert message["Subject"] == "Bestätigung für Monika Weiß – Zählerstand M1"
    mail.refresh_from_db()
    assert (mail.attempts, mail.sent_at, mail.failed_at) == (2, T0 + MINUTE, None)
    assert failed_mail_count(org_a.organisation) == 0


def test_backoff_doubles_from_one_minute_and_is_capped_at_six_hours() -> None:
    minutes = [backoff(attempt) / MINUTE for attempt in range(1, 14)]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360, 360]
    assert backoff(0) == MINUTE
    assert backoff(10_000) == datetime.timedelta(hours=6)


@pytest.mark.django_db
def test_mail_is_given_up_after_48_hours_with_an_error_log_and_no_more_attempts(
    smtp_down: SmtpServer,
    org_a: OrgData,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        time_machine.travel(T0, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        mail = queue(org_a.organisation)
    attempt_times = [T0]
    deadline = T0 + datetime.timedelta(hours=48)
    mail.refresh_from_db()
    while mail.failed_at is None:
        assert mail.next_attempt_at <= deadline
        assert len(attempt_times) < 30
        with time_machine.travel(mail.next_attempt_at, tick=False):
            assert retry_due_mails() == 1
        attempt_times.append(mail.next_attempt_at)
        mail.refresh_from_db()

    gaps = [(b - a) / MINUTE for a, b in itertools.pairwise(attempt_times)]
    assert gaps == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360, 360, 360, 360, 209]
    assert attempt_times[-1] == deadline  # the last attempt is exactly at 48 h
    assert (mail.attempts, mail.failed_at, mail.sent_at) == (17, deadline, None)
    assert mail.last_error.startswith("ConnectionRefusedError: ")
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(given_up) == 1
    assert "mail given up" in given_up[0].getMessage()
    assert f"id={mail.pk}" in given_up[0].getMessage()
    assert failed_mail_count(org_a.organisation) == 1
    assert failed_mail_count(None) == 0

    smtp_down.start()  # even with SMTP back, a given-up mail is not sent by itself
    with time_machine.travel(deadline + datetime.timedelta(days=3), tick=False):
        assert retry_due_mails() == 0
        assert send_outbox_mail.call(mail.pk) == "skipped"
    mail.refresh_from_db()
    assert mail.attempts == 17
    assert smtp_down.raw == []


@pytest.mark.django_db
def test_a_recipient_the_server_refuses_permanently_is_given_up_at_once(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mail = queue_mail(key="bad-address", to="unknown@example.org", subject="S", text="T")
    mail.refresh_from_db()
    assert (mail.attempts, mail.sent_at) == (1, None)
    assert mail.failed_at is not None
    assert mail.last_error.startswith("SMTPRecipientsRefused: ")
    assert "550" in mail.last_error
    assert smtp.raw == []
    assert failed_mail_count(None) == 1
