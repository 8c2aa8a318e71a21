from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessMethod(models.TextChoices):
    """The pairs a citizen may type on ``/zugang/`` (the link needs none of them)."""

    CODE_METER = "code_meter", _("Zugangscode und Zählernummer")
    CUSTOMER_METER = "customer_meter", _("Kassenzeichen und Zählernummer")
    CUSTOMER_NAME = "customer_name", _("Kassenzeichen und Nachname")


class AccentColour(models.TextChoices):
    """Accent colours of the portal header; each keeps at least 4.5:1 against white text."""

    BLUE = "#1d4f91", _("Blau")
    PETROL = "#00606b", _("Petrol")
    GREEN = "#2f6b2f", _("Grün")
    RED = "#a4161a", _("Rot")
    VIOLET = "#5b2a86", _("Violett")
    ANTHRACITE = "#343a40", _("Anthrazit")


def default_access_methods() -> list[str]:
    return [AccessMethod.CODE_METER.value]


class Organisation(models.Model):
    """One tenant: a municipality or utility that runs campaigns."""

    slug = models.SlugField(_("Kurzname"), max_length=60, unique=True)
    name = models.CharField(_("Name"), max_length=200)
    #: members without two-factor login are led through its setup at their next login
    two_factor_required = models.BooleanField(
        _("Zwei-Faktor-Anmeldung für alle Mitglieder verlangen"), default=False
    )
    contact_email = models.EmailField(_("Kontakt-E-Mail"), blank=True)
    contact_phone = models.CharField(_("Kontakt-Telefon"), max_length=50, blank=True)
    contact_address = models.TextField(_("Anschrift und Sprechzeiten"), max_length=1000, blank=True)
    imprint_url = models.URLField(_("Impressum (Link)"), blank=True)
    privacy_url = models.URLField(_("Datenschutzerklärung (Link)"), blank=True)
    logo = models.FileField(_("Logo"), upload_to="logos/", blank=True)
    accent_colour = models.CharField(
        _("Akzentfarbe"), max_length=7, choices=AccentColour.choices, default=AccentColour.BLUE
    )
    access_methods = models.JSONField(
        _("Zugang im Portal"), default=default_access_methods, blank=True
    )
    settings = models.JSONField(_("Einstellungen"), default=dict, blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Organisation")
        verbose_name_plural = _("Organisationen")

    def __str__(self) -> str:
        return self.name

    @property
    def branding_missing(self) -> list[str]:
        """What a campaign needs before it can open: contact, imprint and privacy policy."""
        missing = []
        if not (self.contact_email or self.contact_phone):
            missing.append(str(_("Kontakt (E-Mail oder Telefon)")))
        if not self.imprint_url:
            missing.append(str(_("Impressum (Link)")))
        if not self.privacy_url:
            missing.append(str(_("Datenschutzerklärung (Link)")))
        return missing

    def accepts(self, method: str) -> bool:
        return method in (self.access_methods or [])

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)
