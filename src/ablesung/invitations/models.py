"""Invitation and reminder mails of a campaign: runs, their recipients, the reminder setting."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class RunKind(models.TextChoices):
    INVITATION = "invitation", _("Einladung")
    REMINDER = "reminder", _("Erinnerung")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("In Warteschlange")
    DONE = "done", _("E-Mails im Postausgang")
    FAILED = "failed", _("Fehlgeschlagen")


class RecipientStatus(models.TextChoices):
    """A recipient's state, read from its outbox mail."""

    QUEUED = "queued", _("wartet")
    SENT = "sent", _("gesendet")
    FAILED = "failed", _("fehlgeschlagen")
    PURGED = "purged", _("nicht mehr im Postausgang")


class InvitationRun(TenantModel):
    """One sending of invitation or reminder mails for a campaign: one mail per person.

    The run's job issues the links (new access grants, in addition to the letters' ones)
    and queues the mails in one transaction; the outbox sends them, paced over time.
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="invitation_runs",
        verbose_name=_("Ableseaktion"),
    )
    kind = models.CharField(_("Art"), max_length=12, choices=RunKind.choices)
    #: started by the worker's schedule (at most one automatic reminder per campaign)
    automatic = models.BooleanField(_("automatisch"), default=False)
    status = models.CharField(
        _("Status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    recipients_count = models.PositiveIntegerField(_("Empfänger:innen"), default=0)
    properties_count = models.PositiveIntegerField(_("Objekte"), default=0)
    message = models.TextField(_("Meldung"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gestartet von"),
    )
    actor_label = models.CharField(_("gestartet von"), max_length=254, blank=True)
    started_at = models.DateTimeField(_("begonnen am"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fertig am"), null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign"],
                condition=models.Q(kind="reminder", automatic=True),
                name="invitation_run_one_automatic_reminder",
            )
        ]
        verbose_name = _("E-Mail-Lauf")
        verbose_name_plural = _("E-Mail-Läufe")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_prepared(self) -> bool:
        return self.status in {RunStatus.DONE, RunStatus.FAILED}


class InvitationRecipient(TenantModel):
    """One person (one e-mail address) of a run, with their properties and their mail."""

    run = models.ForeignKey(
        InvitationRun, on_delete=models.CASCADE, related_name="recipients", verbose_name=_("Lauf")
    )
    email = models.EmailField(_("E-Mail"), max_length=254)
    #: the properties listed in the mail: ``[{"id", "object_number", "address"}]``
    properties = models.JSONField(_("Objekte"), default=list)
    #: the access grants whose links the mail carries (revoked when a failed mail is re-sent)
    grant_ids = models.JSONField(_("Zugänge"), default=list)
    attempt = models.PositiveIntegerField(_("Versand"), default=1)
    mail = models.ForeignKey(
        "mail.OutboxMail",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("E-Mail im Postausgang"),
    )

    class Meta:
        ordering = ["run_id", "email", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "email"], name="invitation_recipient_unique")
        ]
        verbose_name = _("Empfänger:in")
        verbose_name_plural = _("Empfänger:innen")

    def __str__(self) -> str:
        return f"{self.run_id}: {self.email}"

    @property
    def status(self) -> RecipientStatus:
        if self.mail is None:
            return RecipientStatus.PURGED
        if self.mail.sent_at is not None:
            return RecipientStatus.SENT
        if self.mail.failed_at is not None:
            return RecipientStatus.FAILED
        return RecipientStatus.QUEUED


DEFAULT_REMINDER_DAYS = 7


class ReminderSetting(TenantModel):
    """Whether the schedule sends a campaign's reminder, and how many days before the end."""

    campaign = models.OneToOneField(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="reminder_setting",
        verbose_name=_("Ableseaktion"),
    )
    enabled = models.BooleanField(_("automatisch erinnern"), default=False)
    days_before = models.PositiveSmallIntegerField(
        _("Tage vor Ende der Online-Erfassung"), default=DEFAULT_REMINDER_DAYS
    )

    class Meta:
        verbose_name = _("Erinnerung")
        verbose_name_plural = _("Erinnerungen")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.enabled} {self.days_before}"


class MailPace(models.Model):
    """The platform's next free sending slot for bulk mails (one row, locked while queueing).

    Not a tenant model: the SMTP server is the platform's, so its pace is shared by all
    organisations.
    """

    next_slot = models.DateTimeField(_("nächster freier Sendezeitpunkt"), null=True, blank=True)

    objects: ClassVar[models.Manager["MailPace"]] = models.Manager()

    class Meta:
        verbose_name = _("Sendetakt")
        verbose_name_plural = _("Sendetakt")

    def __str__(self) -> str:
        return str(self.next_slot)
