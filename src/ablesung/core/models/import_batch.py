from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class ImportProfile(TenantModel):
    """An organisation's saved column mapping for meter-list files.

    ``data`` holds ``ablesung.formats.Profile.to_dict()``; the built-in profile
    "FINANZ+ (Standard)" lives in code and is not stored.
    """

    name = models.CharField(_("Name"), max_length=100)
    data = models.JSONField(_("Zuordnung"), default=dict)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="import_profile_unique")
        ]
        verbose_name = _("Importprofil")
        verbose_name_plural = _("Importprofile")

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Hochgeladen – Zuordnung prüfen")
    QUEUED = "queued", _("In Warteschlange")
    RUNNING = "running", _("Läuft")
    SUCCEEDED = "succeeded", _("Importiert")
    REJECTED = "rejected", _("Abgelehnt – nichts importiert")
    FAILED = "failed", _("Fehlgeschlagen – nichts importiert")


class ImportBatch(TenantModel):
    """One uploaded meter-list file and what its import did."""

    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.CASCADE,
        related_name="import_batches",
        editable=False,
        db_index=False,
    )
    campaign = models.ForeignKey(
        "core.Campaign", on_delete=models.CASCADE, related_name="import_batches"
    )
    file = models.FileField(_("Datei"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("Dateiname"), max_length=255)
    size = models.PositiveBigIntegerField(_("Größe"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    profile = models.JSONField(_("Profil"), default=dict)
    layout = models.JSONField(_("Dateiaufbau"), default=dict, blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    counts = models.JSONField(_("Ergebnis"), default=dict, blank=True)
    error_count = models.PositiveIntegerField(_("Fehler"), default=0)
    message = models.TextField(_("Meldung"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("Import")
        verbose_name_plural = _("Importe")

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.SUCCEEDED, ImportStatus.REJECTED, ImportStatus.FAILED}


class ImportRowError(TenantModel):
    """A rejected row of an import: line, column, the value and a German message."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField(_("Zeile"))
    column = models.CharField(_("Spalte"), max_length=200, blank=True)
    value = models.TextField(_("Wert"), blank=True)
    message = models.TextField(_("Meldung"))

    class Meta:
        ordering = ["batch_id", "line", "id"]
        verbose_name = _("Importfehler")
        verbose_name_plural = _("Importfehler")

    def __str__(self) -> str:
        return self.message
