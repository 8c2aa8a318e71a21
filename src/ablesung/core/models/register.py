from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class RegisterCode(models.TextChoices):
    SINGLE = "", _("Zählwerk")
    HIGH = "HT", _("Hochtarif (HT)")
    LOW = "NT", _("Niedertarif (NT)")


class Register(TenantModel):
    """One counter of a meter: one for water, HT and NT for dual-tariff meters."""

    meter = models.ForeignKey(
        "core.Meter",
        on_delete=models.CASCADE,
        related_name="registers",
        verbose_name=_("Zähler"),
        db_index=False,  # covered by the unique (meter, code)
    )
    code = models.CharField(
        _("Zählwerk"), max_length=2, choices=RegisterCode.choices, default="", blank=True
    )

    class Meta:
        ordering = ["meter_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "code"], name="register_code_unique")
        ]
        verbose_name = _("Zählwerk")
        verbose_name_plural = _("Zählwerke")

    def __str__(self) -> str:
        return f"{self.meter_id}/{self.code or '-'}"
