from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("In Warteschlange")
    RUNNING = "running", _("Wird erstellt")
    SUCCEEDED = "succeeded", _("Erstellt")
    FAILED = "failed", _("Fehlgeschlagen")


class ExportSelection(models.TextChoices):
    """Which effective readings go into the return file."""

    RELEASED_AND_ESTIMATED = "released", _("freigegebene und geschätzte")
    ALL_CURRENT = "all", _("alle aktuellen")


class ExportRun(TenantModel):
    """One export of a campaign: the return file(s) and the Excel report, who made it,
    when, from what, the statistics, and the mails that carried it.

    A run is never overwritten: exporting again (after a reopen) makes a new run with the
    next number. The files are written by a task (:func:`ablesung.exports.build.build_run`)
    to fixed names under ``exports/``; a retried task replaces its own half-written files
    and queues its mails under fixed keys, so a run has one set of files and one mail per
    recipient and send.
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="export_runs",
        verbose_name=_("Ableseaktion"),
        db_index=False,  # covered by export_run_number_unique
    )
    number = models.PositiveIntegerField(_("Lauf"))
    status = models.CharField(
        _("Status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    selection = models.CharField(
        _("Exportiert werden"),
        max_length=10,
        choices=ExportSelection.choices,
        default=ExportSelection.RELEASED_AND_ESTIMATED,
    )
    estimated = models.PositiveIntegerField(_("vor dem Export geschätzt"), default=0)
    send_mail = models.BooleanField(_("per E-Mail senden"), default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("erstellt von"),
    )
    actor_label = models.CharField(_("erstellt von"), max_length=254, blank=True)
    #: the import profiles (names) and layouts the return files were written in
    layouts = models.JSONField(_("Dateiaufbau"), default=list, blank=True)
    counts = models.JSONField(_("Übernahmestatistik"), default=dict, blank=True)
    return_file = models.FileField(_("Rückgabedatei"), max_length=300, blank=True)
    return_name = models.CharField(_("Name der Rückgabedatei"), max_length=200, blank=True)
    return_sha256 = models.CharField(_("SHA-256 der Rückgabedatei"), max_length=64, blank=True)
    report_file = models.FileField(_("Ergebnisbericht"), max_length=300, blank=True)
    report_name = models.CharField(_("Name des Ergebnisberichts"), max_length=200, blank=True)
    report_sha256 = models.CharField(_("SHA-256 des Ergebnisberichts"), max_length=64, blank=True)
    message = models.TextField(_("Meldung"), blank=True)
    attempts = models.PositiveIntegerField(_("Versuche"), default=0)
    #: a running build is left to its worker until then; afterwards the schedule retries it
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("begonnen am"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fertig am"), null=True, blank=True)
    #: how often the files were sent by mail (the first send included)
    sends = models.PositiveIntegerField(_("Versand"), default=0)

    class Meta:
        ordering = ["campaign_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="export_run_number_unique")
        ]
        indexes = [
            models.Index(
                fields=["status"],
                name="export_run_pending",
                condition=models.Q(status__in=["queued", "running"]),
            )
        ]
        verbose_name = _("Exportlauf")
        verbose_name_plural = _("Exportläufe")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.number}"

    @property
    def is_finished(self) -> bool:
        return self.status in {ExportStatus.SUCCEEDED, ExportStatus.FAILED}

    @property
    def is_pending(self) -> bool:
        return not self.is_finished
