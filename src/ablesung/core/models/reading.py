from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TrashableModel


class ReadingSource(models.TextChoices):
    ONLINE = "online", _("Online (Bürger:in)")
    LETTER = "letter", _("Ablesekarte")
    PHONE = "phone", _("Telefon")
    IN_PERSON = "in_person", _("Persönlich")
    STAFF = "staff", _("Ableser:in / Mitarbeiter:in")
    ESTIMATE = "estimate", _("Schätzung")
    IMPORT = "import", _("Import")


class Outcome(models.TextChoices):
    OK = "ok", _("plausibel")
    WARNING = "warning", _("Hinweis")
    IMPLAUSIBLE = "implausible", _("unplausibel")
    ERROR = "error", _("Fehler")


class ReviewState(models.TextChoices):
    SUBMITTED = "submitted", _("Eingegangen")
    REVIEWED = "reviewed", _("Geprüft")
    RELEASED = "released", _("Freigegeben")


class ConfirmationReason(models.TextChoices):
    """Why a citizen or clerk confirms a value the plausibility check questioned."""

    VACANCY = "vacancy", _("Leerstand")
    PIPE_BURST = "pipe_burst", _("Rohrbruch")
    MORE_PEOPLE = "more_people", _("mehr Personen im Haushalt")
    POOL_GARDEN = "pool_garden", _("Pool/Garten")
    METER_EXCHANGED = "meter_exchanged", _("Zähler getauscht")
    OTHER = "other", _("Sonstiges")


class Reading(TrashableModel):
    """A value of a register at a date. Corrections supersede; nothing is overwritten."""

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="readings",
        db_index=False,  # covered by reading_campaign_register
    )
    register = models.ForeignKey("core.Register", on_delete=models.CASCADE, related_name="readings")
    value = models.DecimalField(_("Zählerstand"), max_digits=16, decimal_places=4)
    reading_date = models.DateField(_("Ablesedatum"))
    source = models.CharField(_("Quelle"), max_length=10, choices=ReadingSource.choices)
    comment = models.TextField(_("Bemerkung"), max_length=500, blank=True)
    reason = models.CharField(
        _("Bestätigt wegen"), max_length=20, choices=ConfirmationReason.choices, blank=True
    )
    confirmation_reason = models.CharField(_("Begründung"), max_length=500, blank=True)
    photo = models.FileField(_("Foto"), upload_to="photos/%Y/%m/", blank=True)
    outcome = models.CharField(
        _("Plausibilität"), max_length=12, choices=Outcome.choices, default=Outcome.OK
    )
    codes = models.JSONField(_("Prüfcodes"), default=list, blank=True)
    state = models.CharField(
        _("Bearbeitungsstand"),
        max_length=10,
        choices=ReviewState.choices,
        default=ReviewState.SUBMITTED,
    )
    superseded_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="supersedes"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(TrashableModel.Meta):
        ordering = ["register_id", "created_at", "id"]
        indexes = [
            *TrashableModel.Meta.indexes,
            models.Index(fields=["campaign", "register"], name="reading_campaign_register"),
        ]
        verbose_name = _("Zählerstand")
        verbose_name_plural = _("Zählerstände")

    def __str__(self) -> str:
        return f"{self.register_id}: {self.value} ({self.reading_date:%d.%m.%Y})"

    @property
    def is_effective(self) -> bool:
        return self.superseded_by_id is None and self.deleted_at is None

    def personal_fields(self) -> tuple[str, ...]:
        return ("comment", "confirmation_reason", "photo")
