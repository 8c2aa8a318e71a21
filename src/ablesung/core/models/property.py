from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TrashableModel
from ablesung.core.models.search_key import SearchKeyField, SearchKeys


class Property(SearchKeys, TrashableModel):
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
    # folded copies for the clerks' search and sorting (core/models/search_key.py)
    object_key = SearchKeyField(sources=("object_number",))
    customer_key = SearchKeyField(sources=("customer_number",))
    owner_key = SearchKeyField(sources=("owner_last_name", "owner_first_name"))
    street_key = SearchKeyField(sources=("street", "house_number"))

    class Meta(TrashableModel.Meta):
        ordering = ["object_number"]
        # with the id: a page sorted by a key walks the index in the list's order (SQLite
        # keeps the row id in every index anyway, PostgreSQL only when it is named)
        indexes = [
            *TrashableModel.Meta.indexes,
            models.Index(fields=["organisation", "object_key", "id"], name="property_object_key"),
            models.Index(
                fields=["organisation", "customer_key", "id"], name="property_customer_key"
            ),
            models.Index(fields=["organisation", "owner_key", "id"], name="property_owner_key"),
            models.Index(fields=["organisation", "street_key", "id"], name="property_street_key"),
        ]
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
