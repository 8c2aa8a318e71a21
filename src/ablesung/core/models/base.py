"""Building blocks shared by every tenant table."""

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager


class LiveManager(models.Manager[Any]):
    """Hides soft-deleted rows (those in the trash)."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(deleted_at__isnull=True)


class TenantModel(models.Model):
    """A row that belongs to one organisation; queries need an organisation scope."""

    # No index of its own: tenant queries always combine the organisation with a more
    # selective column, and the unique constraints start with it where it matters. The
    # database constraint is the second line of tenant isolation beside the scoped
    # managers: no row can name an organisation that does not exist.
    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        abstract = True


class TrashableModel(TenantModel):
    """A tenant row that is soft-deleted into the trash and purged after a year."""

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(
        organisation="organisation", _manager_class=LiveManager
    )
    with_trashed: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        abstract = True
        # only trashed rows are indexed: live rows (nearly all) cost the index nothing
        indexes = [
            models.Index(
                fields=["deleted_at"],
                name="%(class)s_trash",
                condition=models.Q(deleted_at__isnull=False),
            )
        ]

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None

    def personal_fields(self) -> tuple[str, ...]:
        """Field names holding personal data; redacted in the audit log on purge."""
        return ()
