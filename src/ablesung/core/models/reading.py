from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TrashableModel


class ReadingSource(models.TextChoices):
    ONLINE = "online", _("Online (Bürger:in)")
    LETTER = "letter", _("Ablesekarte")
    PHONE = "phone", _("Telefon")
    IN_PERSON = "in_person", _("Persönlich")
    STAFF = "staff", _("Ablesung vor Ort")
    ESTIMATE = "estimate", _("Schätzung (automatisch)")
    MANUAL_ESTIMATE = "estimate_manual", _("Schätzung (manuell)")
    IMPORT = "import", _("Import")


#: what a clerk captures from (the capture screen's choice), in the order offered
CAPTURE_SOURCES = (
    ReadingSource.LETTER,
    ReadingSource.PHONE,
    ReadingSource.IN_PERSON,
    ReadingSource.STAFF,
)
#: estimates never count as readings in later plausibility checks
ESTIMATE_SOURCES = (ReadingSource.ESTIMATE, ReadingSource.MANUAL_ESTIMATE)


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
    """A value of a register at a date, as one version of the register's reading in a
    campaign. Nothing is overwritten: a correction is a new version.

    The versions of a (campaign, register) are numbered 1, 2, 3 … in the order they were
    recorded. The *effective* version is the newest one that is not in the trash; it alone
    carries ``is_effective``, and the database holds at most one such row per campaign and
    register (a partial unique index) and never a trashed one (a check constraint). The
    services keep the flag on the newest live version after every record, trash, restore
    and purge (see :mod:`ablesung.core.services.readings`).
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="readings",
        db_index=False,  # covered by reading_version_unique
    )
    register = models.ForeignKey("core.Register", on_delete=models.CASCADE, related_name="readings")
    version = models.PositiveIntegerField(_("Version"), editable=False)
    is_effective = models.BooleanField(_("gültig"), default=False, editable=False)
    value = models.DecimalField(_("Zählerstand"), max_digits=16, decimal_places=4)
    reading_date = models.DateField(_("Ablesedatum"))
    source = models.CharField(_("Quelle"), max_length=16, choices=ReadingSource.choices)
    comment = models.TextField(_("Bemerkung"), max_length=500, blank=True)
    reason = models.CharField(
        _("Bestätigt wegen"), max_length=20, choices=ConfirmationReason.choices, blank=True
    )
    confirmation_reason = models.CharField(_("Begründung"), max_length=500, blank=True)
    #: the clerk's note: why a released value was replaced, why an implausible one was released
    note = models.TextField(_("Vermerk"), max_length=500, blank=True)
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
    released_at = models.DateTimeField(_("freigegeben am"), null=True, blank=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(TrashableModel.Meta):
        ordering = ["campaign_id", "register_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "register", "version"], name="reading_version_unique"
            ),
            models.UniqueConstraint(
                fields=["campaign", "register"],
                condition=models.Q(is_effective=True),
                name="reading_one_effective",
            ),
            models.CheckConstraint(
                condition=models.Q(is_effective=False) | models.Q(deleted_at__isnull=True),
                name="reading_effective_not_trashed",
            ),
        ]
        verbose_name = _("Zählerstand")
        verbose_name_plural = _("Zählerstände")

    def __str__(self) -> str:
        return f"{self.register_id}: {self.value} ({self.reading_date:%d.%m.%Y})"

    @property
    def is_released(self) -> bool:
        return self.state == ReviewState.RELEASED

    def personal_fields(self) -> tuple[str, ...]:
        return ("comment", "confirmation_reason", "note", "photo")
