import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TrashableModel


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Entwurf")
    OPEN = "open", _("Offen")
    CLOSED = "closed", _("Abgeschlossen")
    EXPORTED = "exported", _("Exportiert")


class Campaign(TrashableModel):
    """One reading round with a key date, an online window and a status."""

    name = models.CharField(_("Name"), max_length=200)
    key_date = models.DateField(_("Stichtag"))
    online_from = models.DateField(_("Online-Erfassung ab"), null=True, blank=True)
    online_until = models.DateField(_("Online-Erfassung bis"), null=True, blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    settings = models.JSONField(_("Abweichende Einstellungen"), default=dict, blank=True)

    class Meta(TrashableModel.Meta):
        ordering = ["-key_date", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="campaign_name_unique"),
            models.CheckConstraint(
                condition=models.Q(online_from__isnull=True)
                | models.Q(online_until__isnull=True)
                | models.Q(online_from__lte=models.F("online_until")),
                name="campaign_window_ordered",
            ),
        ]
        verbose_name = _("Ableseaktion")
        verbose_name_plural = _("Ableseaktionen")

    def __str__(self) -> str:
        return self.name

    def is_online(self, today: datetime.date) -> bool:
        if self.status != CampaignStatus.OPEN:
            return False
        if self.online_from and today < self.online_from:
            return False
        return not (self.online_until and today > self.online_until)
