"""Queueing and rendering mails. Sending happens in ``ablesung.mail.tasks``.

The portal (or any service) writes its data and queues the mail in one transaction::

    with transaction.atomic():
        reading = ...  # the write
        subject, text, html = render_mail("portal/mail/confirmation", {"reading": reading})
        queue_mail(
            key=f"reading-confirmation:{reading.pk}",
            to=email,
            subject=subject,
            text=text,
            html=html,
            organisation=organisation,
            reply_to=organisation.contact_email,
        )

The send task is enqueued on commit: a rolled-back transaction leaves neither a row nor a
task behind, and an SMTP outage only delays the mail.
"""

import contextlib
import datetime
import logging
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template import Context, TemplateDoesNotExist, engines
from django.template.backends.django import DjangoTemplates
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ablesung.core.models import Organisation
from ablesung.mail.models import OutboxMail

logger = logging.getLogger(__name__)

SUBJECT_MAX_LENGTH = OutboxMail._meta.get_field("subject").max_length or 255
# web and worker machines may disagree a little about the time: a mail due within this much
# is "due now" (its task is enqueued at once, and the task sends it)
CLOCK_SKEW = datetime.timedelta(seconds=30)


class NotInTransaction(RuntimeError):
    """``queue_mail`` was called outside a transaction (the mail would not be atomic)."""


def queue_mail(
    *,
    key: str,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    organisation: Organisation | None = None,
    reply_to: str = "",
    attachments: list[dict[str, str]] | None = None,
    send_at: datetime.datetime | None = None,
    erase_after: bool = False,
) -> OutboxMail:
    """Writes the mail into the outbox and enqueues its sending when the transaction commits.

    Must run inside the caller's ``transaction.atomic()``. Queueing an existing ``key`` again
    returns the existing mail unchanged (and enqueues nothing new), so a retried request or
    job produces one mail. ``attachments`` name files in the default storage
    (``{"name", "path", "content_type"}``); they are read when the mail is sent.

    ``send_at`` defers the mail (bulk mails are spread over time, see
    ``ablesung.invitations.pace``): no task is enqueued, the minute sweep sends it when it
    is due. ``erase_after`` replaces the text with a note once the mail is sent or given up
    (for mails that carry secrets such as personal portal links).
    """
    if not transaction.get_connection().in_atomic_block:
        raise NotInTransaction("queue_mail() must be called inside transaction.atomic()")
    existing = OutboxMail.objects.filter(key=key).first()
    if existing is not None:
        return existing
    mail = OutboxMail(
        key=key,
        to=to.strip(),
        subject=_single_line(subject)[:SUBJECT_MAX_LENGTH],
        text=text,
        html=html,
        organisation=organisation,
        reply_to=reply_to.strip(),
        attachments=list(attachments or []),
        erase_after=erase_after,
    )
    deferred = send_at is not None and send_at > timezone.now() + CLOCK_SKEW
    if send_at is not None:
        mail.next_attempt_at = send_at
    try:
        # a savepoint: a parallel insert of the same key must not break the caller's transaction
        with transaction.atomic():
            mail.save(force_insert=True)
    except IntegrityError:
        return OutboxMail.objects.get(key=key)
    if not deferred:
        _enqueue_on_commit(mail.pk)
    logger.info("mail queued: id=%s key=%s", mail.pk, key)
    return mail


def _enqueue_on_commit(mail_id: int) -> None:
    from ablesung.mail.tasks import send_outbox_mail

    transaction.on_commit(lambda: send_outbox_mail.enqueue(mail_id))


def render_mail(
    template_prefix: str, context: dict[str, Any], *, language: str | None = None
) -> tuple[str, str, str]:
    """Renders ``<prefix>_subject.txt``, ``<prefix>.txt`` and ``<prefix>.html``.

    The subject and the text part are rendered without autoescaping (plain text: a name like
    ``<b>`` stays as typed); the HTML part escapes as every Django template does. The subject
    becomes one line. The HTML template is optional (missing → ``""``). ``language`` renders
    in that language instead of the active one.
    """
    with translation.override(language) if language else contextlib.nullcontext():
        subject = _single_line(_render_plain(f"{template_prefix}_subject.txt", context))
        text = _render_plain(f"{template_prefix}.txt", context).strip() + "\n"
        html: str
        try:
            html = render_to_string(f"{template_prefix}.html", context)
        except TemplateDoesNotExist:
            html = ""
    return subject, text, html


def _render_plain(template_name: str, context: dict[str, Any]) -> str:
    backend = engines["django"]
    assert isinstance(backend, DjangoTemplates)
    template = backend.engine.get_template(template_name)
    return template.render(Context(context, autoescape=False))


def _single_line(value: str) -> str:
    return " ".join(value.split())


def failed_mail_count(organisation: Organisation | None) -> int:
    """Mails of this organisation that were given up (for an alert on the dashboard).

    ``None`` counts the operator's own mails (those without an organisation).
    """
    return OutboxMail.objects.filter(organisation=organisation, failed_at__isnull=False).count()


def due_mails(now: datetime.datetime | None = None) -> "QuerySet[OutboxMail]":
    """Unsent mails whose next attempt is due, oldest first."""
    return OutboxMail.objects.filter(
        sent_at__isnull=True,
        failed_at__isnull=True,
        next_attempt_at__lte=now or timezone.now(),
    ).order_by("next_attempt_at", "pk")


def do_retry_given_up_mails(mails: "QuerySet[OutboxMail]") -> list[int]:
    """One more attempt for each given-up mail among ``mails`` (the 48 h deadline has
    passed: a failure gives up again at once); returns their ids. Sent mails stay sent."""
    from ablesung.mail.tasks import send_outbox_mail

    with transaction.atomic(durable=True):
        # a mail whose text was erased (it held personal links) is re-sent by its own
        # feature with fresh links, never as the erased note
        given_up = mails.filter(failed_at__isnull=False, sent_at__isnull=True, erase_after=False)
        ids = list(given_up.select_for_update().values_list("pk", flat=True))
        given_up.update(failed_at=None, attempts=0, next_attempt_at=timezone.now())
        for mail_id in ids:
            transaction.on_commit(partial(send_outbox_mail.enqueue, mail_id))
    return ids
