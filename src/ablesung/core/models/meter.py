from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TrashableModel
from ablesung.core.models.search_key import SearchKeyField, SearchKeys


class MeterKind(models.TextChoices):
    WATER_MAIN = "water_main", _("Hauptwasserzähler")
    WATER_GARDEN = "water_garden", _("Gartenwasserzähler")
    WATER_SUB = "water_sub", _("Unterzähler")
    ELECTRICITY = "electricity", _("Stromzähler")
    GAS = "gas", _("Gaszähler")
    HEAT = "heat", _("Wärmezähler")


class Meter(SearchKeys, TrashableModel):
    """A physical meter; its counters are registers."""

    property = models.ForeignKey(
        "core.Property", on_delete=models.CASCADE, related_name="meters", verbose_name=_("Objekt")
    )
    number = models.CharField(_("Zählernummer"), max_length=50)
    kind = models.CharField(
        _("Zählerart"), max_length=20, choices=MeterKind.choices, default=MeterKind.WATER_MAIN
    )
    digits = models.PositiveSmallIntegerField(
        _("Stellen"), default=5, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    decimals = models.PositiveSmallIntegerField(
        _("Nachkommastellen"), default=0, validators=[MaxValueValidator(4)]
    )
    location_hint = models.CharField(_("Einbauort"), max_length=200, blank=True)
    # a folded copy for the clerks' search and sorting (core/models/search_key.py)
    number_key = SearchKeyField(sources=("number",))

    class Meta(TrashableModel.Meta):
        ordering = ["number"]
        indexes = [
            *TrashableModel.Meta.indexes,
            models.Index(fields=["organisation", "number_key"], name="meter_number_key"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="meter_number_unique")
        ]
        verbose_name = _("Zähler")
        verbose_name_plural = _("Zähler")

    def __str__(self) -> str:
        return self.number
