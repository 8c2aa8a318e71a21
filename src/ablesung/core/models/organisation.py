from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    """One tenant: a municipality or utility that runs campaigns."""

    slug = models.SlugField(_("Kurzname"), max_length=60, unique=True)
    name = models.CharField(_("Name"), max_length=200)
    contact_email = models.EmailField(_("Kontakt-E-Mail"), blank=True)
    contact_phone = models.CharField(_("Kontakt-Telefon"), max_length=50, blank=True)
    settings = models.JSONField(_("Einstellungen"), default=dict, blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Organisation")
        verbose_name_plural = _("Organisationen")

    def __str__(self) -> str:
        return self.name

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)
