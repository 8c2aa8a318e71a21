from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class ReleaseRun(TenantModel):
    """One release ("Freigabe") of a campaign's readings: who, when, what, and the counts.

    The run re-checks every unreleased effective reading it covers; plausible ones are
    released, the others stay unreleased and get a :class:`ReleaseLogEntry` each. The run
    and its log stay with the campaign (the release log of the export).
    """

    campaign = models.ForeignKey(
        "core.Campaign",
        on_delete=models.CASCADE,
        related_name="release_runs",
        verbose_name=_("Ableseaktion"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("freigegeben von"),
    )
    actor_label = models.CharField(_("freigegeben von"), max_length=254, blank=True)
    scope = models.CharField(_("Umfang"), max_length=200)  # German, for people
    checked = models.PositiveIntegerField(_("geprüft"), default=0)
    released = models.PositiveIntegerField(_("freigegeben"), default=0)
    refused = models.PositiveIntegerField(_("nicht freigegeben"), default=0)
    finished_at = models.DateTimeField(_("beendet am"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("Freigabelauf")
        verbose_name_plural = _("Freigabeläufe")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.created_at:%d.%m.%Y %H:%M}"


class ReleaseLogEntry(TenantModel):
    """A reading that a release run (or a manual release) logged: refused, with the reason,
    or released manually despite its outcome. A snapshot: it stays readable after the
    reading was corrected, trashed or purged."""

    run = models.ForeignKey(
        ReleaseRun, on_delete=models.CASCADE, related_name="entries", verbose_name=_("Freigabelauf")
    )
    reading = models.ForeignKey(
        "core.Reading",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Zählerstand"),
    )
    object_number = models.CharField(_("Objektnummer"), max_length=50, blank=True)
    meter_number = models.CharField(_("Zählernummer"), max_length=50)
    register_code = models.CharField(_("Zählwerk"), max_length=2, blank=True)
    value = models.DecimalField(_("Zählerstand"), max_digits=16, decimal_places=4)
    reading_date = models.DateField(_("Ablesedatum"))
    outcome = models.CharField(_("Plausibilität"), max_length=12)
    released = models.BooleanField(_("freigegeben"), default=False)  # manual release
    reason = models.TextField(_("Grund"), max_length=2000)

    class Meta:
        ordering = ["run_id", "meter_number", "register_code", "id"]
        verbose_name = _("Eintrag im Freigabeprotokoll")
        verbose_name_plural = _("Freigabeprotokoll")

    def __str__(self) -> str:
        return f"{self.meter_number}: {self.reason[:40]}"
