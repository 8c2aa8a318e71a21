from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TrashableModel


class Property(TrashableModel):
    """The supplied object: object number, customer number, owner and address."""

    object_number = models.CharField(_("Objektnummer"), max_length=50)
    customer_number = models.CharField(_("Kassenzeichen"), max_length=50)
    owner_last_name = models.CharField(_("Name / Firma"), max_length=200)
    owner_first_name = models.CharField(_("Vorname"), max_length=100, blank=True)
    street = models.CharField(_("Straße"), max_length=200)
    house_number = models.CharField(_("Hausnummer"), max_length=20, blank=True)
    postal_code = models.CharField(_("PLZ"), max_length=10, blank=True)
    city = models.CharField(_("Ort"), max_length=100, blank=True)
    email = models.EmailField(_("E-Mail"), blank=True)

    class Meta(TrashableModel.Meta):
        ordering = ["object_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "object_number"], name="property_object_number_unique"
            ),
            models.UniqueConstraint(
                fields=["organisation", "customer_number"], name="property_customer_number_unique"
            ),
        ]
        verbose_name = _("Objekt")
        verbose_name_plural = _("Objekte")

    def __str__(self) -> str:
        return f"{self.object_number} {self.owner_display}"

    @property
    def owner_display(self) -> str:
        if self.owner_first_name:
            return f"{self.owner_last_name}, {self.owner_first_name}"
        return self.owner_last_name

    @property
    def address(self) -> str:
        street = f"{self.street} {self.house_number}".strip()
        town = f"{self.postal_code} {self.city}".strip()
        return ", ".join(part for part in (street, town) if part)

    def personal_fields(self) -> tuple[str, ...]:
        return (
            "owner_last_name",
            "owner_first_name",
            "street",
            "house_number",
            "postal_code",
            "city",
            "email",
        )
