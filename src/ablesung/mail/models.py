"""The outbox: every mail is a row first and an SMTP conversation later."""

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMail(models.Model):
    """One mail to one recipient, written in the caller's transaction and sent by a task.

    ``key`` makes queueing idempotent ("reading-confirmation:<id>"). A row is due while
    ``sent_at`` and ``failed_at`` are empty and ``next_attempt_at`` has passed.

    Not a tenant model: operator mails have no organisation, and only the worker, the
    operator admin and explicit per-organisation counts read this table.
    """

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("Organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    key = models.CharField(_("Schlüssel"), max_length=200, unique=True)
    to = models.EmailField(_("Empfänger"), max_length=254)
    subject = models.CharField(_("Betreff"), max_length=255)
    text = models.TextField(_("Text"))
    html = models.TextField(_("HTML"), blank=True)
    reply_to = models.EmailField(_("Antwortadresse"), max_length=254, blank=True)
    #: files attached when the mail is sent: ``[{"name", "path", "content_type"}]``, ``path``
    #: in the default storage (the files stay where they are; the mail only names them)
    attachments = models.JSONField(_("Anhänge"), default=list, blank=True)
    created_at = models.DateTimeField(_("erstellt am"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("nächster Versuch"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("Versuche"), default=0)
    last_error = models.CharField(_("letzter Fehler"), max_length=300, blank=True)
    #: the text holds secrets (personal portal links): it is replaced by a note once the
    #: mail was sent or given up, so the link lives in the outbox only while it waits
    erase_after = models.BooleanField(_("Inhalt nach dem Versand löschen"), default=False)
    sent_at = models.DateTimeField(_("gesendet am"), null=True, blank=True)
    failed_at = models.DateTimeField(_("aufgegeben am"), null=True, blank=True)

    objects: ClassVar[models.Manager["OutboxMail"]] = models.Manager()

    class Meta:
        verbose_name = _("E-Mail im Postausgang")
        verbose_name_plural = _("Postausgang")
        indexes = [
            # only waiting mails are indexed: sent and given-up ones (nearly all) cost nothing
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=models.Q(sent_at__isnull=True, failed_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "failed_at"],
                name="outbox_failed",
                condition=models.Q(failed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.to}"

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "waiting"
