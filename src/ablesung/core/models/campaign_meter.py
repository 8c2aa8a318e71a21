from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class CampaignMeter(TenantModel):
    """A meter due for reading in a campaign, with the billing system's snapshot.

    Holds the previous reading and previous-year consumption as imported, and the
    raw import row so that the return file can be written in the file's own layout.
    One row per register (HT and NT are separate lines in the billing file).
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="campaign_meters",
        db_index=False,  # covered by the unique (campaign, register)
    )
    register = models.ForeignKey(
        "core.Register", on_delete=models.CASCADE, related_name="campaign_meters"
    )
    previous_value = models.DecimalField(
        _("Zählerstand alt"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    previous_date = models.DateField(_("Ablesedatum alt"), null=True, blank=True)
    previous_was_estimate = models.BooleanField(_("Vorwert geschätzt"), default=False)
    previous_year_consumption = models.DecimalField(
        _("Vorjahresverbrauch"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    #: the number of the register's newest reading version in this campaign; a version
    #: number is never given twice, not even after its version was purged
    last_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    #: a clerk asked for the meter to be read again (Kontrollablesung): shown in lists and
    #: in the export until the flag is cleared
    control_requested_at = models.DateTimeField(
        _("Kontrollablesung angefordert am"), null=True, blank=True, editable=False
    )
    #: the import that wrote this line's snapshot last: its layout is the return file's
    #: (no index: lines are always read per campaign; a batch is deleted with its campaign)
    import_batch = models.ForeignKey(
        "core.ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    row_number = models.PositiveIntegerField(_("Zeile"), null=True, blank=True)
    raw_row = models.JSONField(_("Importzeile"), default=list, blank=True)

    class Meta:
        ordering = ["campaign_id", "row_number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "register"], name="campaign_meter_register_unique"
            )
        ]
        verbose_name = _("Zähler der Ableseaktion")
        verbose_name_plural = _("Zähler der Ableseaktion")

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.register_id}"

    @property
    def control_requested(self) -> bool:
        return self.control_requested_at is not None
