"""Sending the outbox: one task per mail, and a periodic sweep for what is due again.

Delivery guarantee, honestly: SMTP has no transactions, so no mail system can promise
"exactly once" across a crash. What this code does:

1. *Claim* (short transaction, row locked, ``SKIP LOCKED`` on PostgreSQL): a mail that is
   sent, given up or not yet due is skipped. Otherwise ``attempts`` goes up and
   ``next_attempt_at`` moves ``LEASE`` into the future, so a second task for the same mail
   (a duplicate enqueue, a second worker, the periodic sweep) skips it while this one works.
2. *Send* outside any transaction (no row or SQLite write lock is held during the network
   conversation; the SMTP timeout is 10 s per operation, see ``settings.MAILERS``).
3. *Record* (short transaction): ``sent_at`` only after the server accepted the message;
   on an error the backoff time or, after 48 h, ``failed_at``.

So two tasks, a repeated task or a retry after a failure never produce a second mail. The
one window left is a worker killed *after* the SMTP server accepted the message and
*before* step 3 committed: the lease expires, the sweep retries, and the recipient gets the
mail twice (at-least-once, never zero). The duplicate carries the same ``Message-ID``, which
many mail systems use to drop it. A worker killed before or during the conversation simply
leads to a retry after the lease, producing one mail.
"""

import datetime
import hashlib
import logging
import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import connection, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from ablesung.mail.models import OutboxMail
from ablesung.mail.services import CLOCK_SKEW, due_mails

logger = logging.getLogger(__name__)

FIRST_RETRY = datetime.timedelta(minutes=1)
MAX_RETRY = datetime.timedelta(hours=6)
GIVE_UP_AFTER = datetime.timedelta(hours=48)
# how long a claimed mail is left to its worker before the sweep tries again
LEASE = datetime.timedelta(minutes=5)
# a fresh mail's own task was enqueued on commit; the sweep only helps if that got lost
FRESH_GRACE = datetime.timedelta(minutes=5)
# CLOCK_SKEW (in services): a fresh mail whose task arrives "too early" by the worker's
# clock is still sent at once (leases are far longer)
SWEEP_BATCH = 500
ERROR_MAX_LENGTH = 300
INTERRUPTED = "interrupted: no attempt finished before the deadline (worker stopped?)"


def backoff(attempts: int) -> datetime.timedelta:
    """Wait after the ``attempts``-th failed attempt: 1 min, 2, 4, 8, … capped at 6 h."""
    exponent = min(max(attempts, 1) - 1, 16)  # 2**16 min is far beyond the cap
    return min(FIRST_RETRY * (1 << exponent), MAX_RETRY)


@task()
def send_outbox_mail(mail_id: int) -> str:
    """Sends one outbox mail if it is due; returns ``sent``, ``retry``, ``failed`` or ``skipped``.

    Idempotent: running it twice (or in two workers at once) sends the mail once.
    """
    mail = _claim(mail_id)
    if mail is None:
        return "skipped"
    try:
        delivered = mailers.default.send_messages([_message(mail)])
        if not delivered:
            raise smtplib.SMTPException("the mail backend sent nothing")
    except Exception as error:  # every failure is recorded and retried (or given up)
        return _record_failure(mail.pk, error)
    OutboxMail.objects.filter(pk=mail.pk).update(sent_at=timezone.now(), **_erased(mail))
    logger.info("mail sent: id=%s key=%s attempt=%s", mail.pk, mail.key, mail.attempts)
    return "sent"


def retry_due_mails(now: datetime.datetime | None = None) -> int:
    """Enqueues ``send_outbox_mail`` for due mails (every minute from the worker's schedule).

    Catches retries after a backoff, claims whose worker died (expired lease) and fresh mails
    whose on-commit enqueue was lost. Returns how many tasks were enqueued.
    """
    now = now or timezone.now()
    # a deferred mail (queued with ``send_at``) has no task of its own: the sweep sends it
    deferred = Q(next_attempt_at__gt=F("created_at") + CLOCK_SKEW)
    not_fresh = ~Q(attempts=0, created_at__gt=now - FRESH_GRACE) | deferred
    ids = list(due_mails(now).filter(not_fresh).values_list("pk", flat=True)[:SWEEP_BATCH])
    for mail_id in ids:
        send_outbox_mail.enqueue(mail_id)
    if ids:
        logger.info("mail sweep: %s due mails enqueued", len(ids))
    return len(ids)


#: sent and given-up mails hold addresses and bodies; they are deleted after this long
KEEP_FINISHED = datetime.timedelta(days=30)


@task()
def purge_finished_mails() -> int:
    """Daily: deletes sent and given-up mails older than 30 days (data minimisation)."""
    return purge_finished(timezone.now())


def purge_finished(now: datetime.datetime) -> int:
    cutoff = now - KEEP_FINISHED
    finished = Q(sent_at__lt=cutoff) | Q(failed_at__lt=cutoff)
    deleted, _ = OutboxMail.objects.filter(finished).delete()
    if deleted:
        logger.info("mail purge: %s finished mails deleted", deleted)
    return deleted


def _claim(mail_id: int) -> OutboxMail | None:
    now = timezone.now()
    # PostgreSQL: a row another worker holds is skipped, not waited for (SQLite has no row
    # locks; its IMMEDIATE transactions serialise the claims instead)
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        mail = (
            OutboxMail.objects.select_for_update(skip_locked=skip_locked).filter(pk=mail_id).first()
        )
        if (
            mail is None
            or mail.sent_at
            or mail.failed_at
            or mail.next_attempt_at > now + CLOCK_SKEW
        ):
            return None  # locked by another worker, done, given up, or not due
        if mail.attempts and now >= mail.created_at + GIVE_UP_AFTER + LEASE:
            # the last regular attempt is due at 48 h; this one is later because attempts were
            # interrupted (or no worker ran): no more attempts, the operator sees the alert
            _give_up(
                mail, now, f"{INTERRUPTED}; {mail.last_error}" if mail.last_error else INTERRUPTED
            )
            return None
        mail.attempts += 1
        mail.next_attempt_at = now + LEASE
        mail.save(update_fields=["attempts", "next_attempt_at"])
    return mail


def _record_failure(mail_id: int, error: Exception) -> str:
    now = timezone.now()
    description = _describe(error)
    with transaction.atomic():
        mail = OutboxMail.objects.select_for_update().get(pk=mail_id)
        deadline = mail.created_at + GIVE_UP_AFTER
        if now >= deadline or _is_permanent(error):
            _give_up(mail, now, description)
            return "failed"
        mail.last_error = description
        mail.next_attempt_at = min(now + backoff(mail.attempts), deadline)
        mail.save(update_fields=["last_error", "next_attempt_at"])
    logger.warning(
        "mail not sent: id=%s key=%s attempt=%s next=%s error=%s",
        mail.pk,
        mail.key,
        mail.attempts,
        mail.next_attempt_at.isoformat(),
        description,
    )
    return "retry"


#: what an ``erase_after`` mail's text becomes once it was sent or given up
ERASED_TEXT = "[Inhalt gelöscht: Die E-Mail enthielt persönliche Links zum Portal.]"


def _erased(mail: OutboxMail) -> dict[str, str]:
    """The fields that blank an ``erase_after`` mail's content (else nothing)."""
    return {"text": ERASED_TEXT, "html": ""} if mail.erase_after else {}


def _give_up(mail: OutboxMail, now: datetime.datetime, reason: str) -> None:
    mail.failed_at = now
    mail.last_error = reason[:ERROR_MAX_LENGTH]
    fields = ["failed_at", "last_error"]
    for name, value in _erased(mail).items():
        setattr(mail, name, value)
        fields.append(name)
    mail.save(update_fields=fields)
    logger.error(
        "mail given up: id=%s key=%s organisation=%s attempts=%s error=%s",
        mail.pk,
        mail.key,
        mail.organisation_id,
        mail.attempts,
        mail.last_error,
    )


def _is_permanent(error: Exception) -> bool:
    """Every recipient refused with a 5xx code: retrying cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return False


def _describe(error: Exception) -> str:
    """Class and message, one line, short; the SMTP password never appears in either."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:ERROR_MAX_LENGTH]


def _message(mail: OutboxMail) -> EmailMultiAlternatives:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(mail.key.encode()).hexdigest()[:20]
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        reply_to=[mail.reply_to] if mail.reply_to else None,
        headers={
            # the same id on every attempt: a rare duplicate (see above) can be recognised
            "Message-ID": f"<outbox.{mail.pk}.{digest}@{domain}>",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation replies
        },
    )
    if mail.html:
        message.attach_alternative(mail.html, "text/html")
    for attachment in mail.attachments:
        # read at every attempt: the outbox row names the stored file, it does not copy it
        with default_storage.open(attachment["path"], "rb") as file:
            message.attach(attachment["name"], file.read(), attachment["content_type"])
    return message
