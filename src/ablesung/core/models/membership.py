from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ablesung.core.models.base import TenantModel


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator:in")
    CLERK = "clerk", _("Sachbearbeiter:in")
    VIEWER = "viewer", _("Nur lesen")


class Membership(TenantModel):
    """A staff user's role in one organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("Rolle"), max_length=10, choices=Role.choices, default=Role.CLERK)
    #: a deactivated member keeps the row (and the audit trail) but has no access
    is_active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="membership_unique")
        ]
        verbose_name = _("Mitgliedschaft")
        verbose_name_plural = _("Mitgliedschaften")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation_id} ({self.role})"
