from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """Audit entries are never changed except by redaction, and never deleted one by one."""


class AuditEntry(models.Model):
    """Append-only record of who changed what, when, from where (UTC)."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("Akteur"), max_length=254, blank=True)
    action = models.CharField(_("Aktion"), max_length=60, db_index=True)
    object_type = models.CharField(_("Objektart"), max_length=60, blank=True)
    object_id = models.CharField(_("Objekt-ID"), max_length=60, blank=True)
    data = models.JSONField(_("Daten"), default=dict, blank=True)
    client_ip = models.GenericIPAddressField(_("Client-IP"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    redacted_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        verbose_name = _("Protokolleintrag")
        verbose_name_plural = _("Protokoll")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.pop("redaction", False):
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are append-only")
