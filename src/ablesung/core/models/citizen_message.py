from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class MessageReason(models.TextChoices):
    WRONG_METER_NUMBER = "wrong_meter_number", _("Zählernummer stimmt nicht")
    METER_DEFECT = "meter_defect", _("Zähler defekt")
    OWNER_CHANGE = "owner_change", _("Eigentümerwechsel/Umzug")
    OTHER = "other", _("Sonstiges")


class CitizenMessage(TenantModel):
    """ "Nachricht an die Verwaltung": a citizen's note about a property in a campaign."""

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="citizen_messages",
        verbose_name=_("Ableseaktion"),
    )
    property = models.ForeignKey(
        "core.Property",
        on_delete=models.CASCADE,
        related_name="citizen_messages",
        verbose_name=_("Objekt"),
    )
    reason = models.CharField(_("Anliegen"), max_length=20, choices=MessageReason.choices)
    text = models.TextField(_("Nachricht"), max_length=2000)
    phone = models.CharField(_("Telefon für Rückfragen"), max_length=50, blank=True)
    email = models.EmailField(_("E-Mail für Rückfragen"), blank=True)
    handled_at = models.DateTimeField(_("erledigt am"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("zuständig"),
    )
    note = models.TextField(_("Vermerk der Verwaltung"), max_length=2000, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["campaign", "created_at"], name="citizen_message_campaign")]
        verbose_name = _("Nachricht an die Verwaltung")
        verbose_name_plural = _("Nachrichten an die Verwaltung")

    def __str__(self) -> str:
        return f"{self.property_id}: {self.get_reason_display()}"

    def is_open(self) -> bool:  # a method: the field "property" hides the builtin here
        return self.handled_at is None

    def personal_fields(self) -> tuple[str, ...]:
        return ("text", "phone", "email", "note")
