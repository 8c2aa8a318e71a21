"""The trash: soft delete, restore within 365 days, purge afterwards.

Deleting a property takes its meters along (same timestamp) and restoring it
brings them back. Purging removes the rows, their files, and the personal data
in their audit entries; the audit entries themselves stay. Reading versions follow
the rule in :mod:`ablesung.core.services.readings`: trash and restore settle which
version is effective under the register's lock, released readings never go to the
trash, and purge touches trashed versions only.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    Meter,
    Organisation,
    Property,
    Reading,
    Register,
)
from ablesung.core.models.base import TrashableModel
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import lock_line_of, refusal_to_trash, settle_effective

RETENTION = datetime.timedelta(days=365)

#: URL/code name of each kind of record that goes to the trash
TRASH_KINDS: dict[str, type[TrashableModel]] = {
    "campaign": Campaign,
    "property": Property,
    "meter": Meter,
    "reading": Reading,
}


class TrashError(Exception):
    """A delete or restore that is not allowed; the message is German and for the user."""


def _get(kind: str, pk: int, *, trashed: bool) -> TrashableModel:
    model = TRASH_KINDS.get(kind)
    if model is None:
        raise ObjectDoesNotExist(kind)
    if model is Reading:  # the register's versions change: its line's lock first
        lock_line_of(Reading.with_trashed.get(pk=pk, deleted_at__isnull=not trashed))
    queryset = model.with_trashed.select_for_update().filter(deleted_at__isnull=not trashed)
    obj: TrashableModel = queryset.get(pk=pk)
    return obj


def _label(obj: TrashableModel) -> str:
    return str(obj)


def do_delete_record(
    kind: str, pk: int, *, organisation: Organisation, actor: Actor
) -> TrashableModel:
    """Moves a record to the trash. Raises ``DoesNotExist`` for unknown or foreign ids."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        obj = _get(kind, pk, trashed=False)
        if isinstance(obj, Reading):
            refusal = refusal_to_trash(obj)
            if refusal:
                raise TrashError(refusal)
        now = timezone.now()
        cascaded: list[int] = []
        if isinstance(obj, Property):
            cascaded = list(obj.meters.filter(deleted_at__isnull=True).values_list("pk", flat=True))
            Meter.with_trashed.filter(property=obj, deleted_at__isnull=True).update(deleted_at=now)
        obj.deleted_at = now
        if isinstance(obj, Reading):
            obj.is_effective = False  # a trashed version is never effective
            obj.save(update_fields=["deleted_at", "is_effective"])
            settle_effective(obj.campaign_id, obj.register_id)
        else:
            obj.save(update_fields=["deleted_at"])
        audit.record(
            f"{kind}.deleted",
            actor=actor,
            organisation=organisation,
            obj=obj,
            data={"label": _label(obj), "meters": cascaded} if cascaded else {"label": _label(obj)},
        )
        return obj


def is_restorable(obj: TrashableModel, now: datetime.datetime) -> bool:
    return obj.deleted_at is not None and now - obj.deleted_at <= RETENTION


def do_restore_record(
    kind: str, pk: int, *, organisation: Organisation, actor: Actor
) -> TrashableModel:
    """Brings a record back from the trash (within 365 days)."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        obj = _get(kind, pk, trashed=True)
        now = timezone.now()
        if not is_restorable(obj, now):
            raise TrashError(_("Die Aufbewahrungsfrist von 365 Tagen ist abgelaufen."))
        if isinstance(obj, Meter) and obj.property.deleted_at is not None:
            raise TrashError(_("Bitte zuerst das Objekt des Zählers wiederherstellen."))
        if isinstance(obj, Reading) and (
            obj.campaign.deleted_at is not None or obj.register.meter.deleted_at is not None
        ):
            raise TrashError(_("Bitte zuerst die Ableseaktion und den Zähler wiederherstellen."))
        restored: list[int] = []
        if isinstance(obj, Property):
            children = obj.meters.model.with_trashed.filter(property=obj, deleted_at=obj.deleted_at)
            restored = list(children.values_list("pk", flat=True))
            children.update(deleted_at=None)
        obj.deleted_at = None
        obj.save(update_fields=["deleted_at"])
        if isinstance(obj, Reading):
            settle_effective(obj.campaign_id, obj.register_id)
        audit.record(
            f"{kind}.restored",
            actor=actor,
            organisation=organisation,
            obj=obj,
            data={"label": _label(obj), "meters": restored} if restored else {"label": _label(obj)},
        )
        return obj


def trash_items(organisation: Organisation) -> dict[str, list[Any]]:
    """What is in an organisation's trash, by kind, newest first."""
    with organisation_scope(organisation):
        return {
            kind: list(
                model.with_trashed.filter(deleted_at__isnull=False).order_by("-deleted_at")[:500]
            )
            for kind, model in TRASH_KINDS.items()
        }


@dataclass
class PurgeResult:
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _ids(queryset: models.QuerySet[Any]) -> list[int]:
    return list(queryset.values_list("pk", flat=True))


def purge_expired(
    organisation: Organisation, *, now: datetime.datetime | None = None
) -> PurgeResult:
    """Deletes for good what has been in the trash longer than 365 days.

    Safe to run twice or in several workers at once: the expired rows are locked first,
    a second run finds nothing and writes nothing. Everything else is selected by
    subqueries, never by long id lists, so a year's trash fits one statement each.
    """
    now = now or timezone.now()
    cutoff = now - RETENTION
    result = PurgeResult()
    with transaction.atomic(durable=True), organisation_scope(organisation):
        expired = {
            kind: model.with_trashed.filter(deleted_at__lt=cutoff)
            for kind, model in TRASH_KINDS.items()
        }
        locked = {kind: _ids(queryset.select_for_update()) for kind, queryset in expired.items()}
        if not any(locked.values()):
            return result
        # everything that disappears with them through CASCADE
        meters = Meter.with_trashed.filter(
            models.Q(deleted_at__lt=cutoff) | models.Q(property__deleted_at__lt=cutoff)
        )
        registers = Register.objects.filter(meter__in=meters.values("pk"))
        readings = Reading.with_trashed.filter(
            models.Q(deleted_at__lt=cutoff)
            | models.Q(register__in=registers.values("pk"))
            | models.Q(campaign__deleted_at__lt=cutoff)
        )
        campaign_meters = CampaignMeter.objects.filter(
            models.Q(register__in=registers.values("pk"))
            | models.Q(campaign__deleted_at__lt=cutoff)
        )
        files = list(readings.exclude(photo="").values_list("photo", flat=True))
        reading_ids, meter_ids = _ids(readings), _ids(meters)
        for model, ids in (
            (Reading, reading_ids),
            (Meter, meter_ids),
            (Register, _ids(registers)),
            (CampaignMeter, _ids(campaign_meters)),
            (Property, locked["property"]),
            (Campaign, locked["campaign"]),
        ):
            audit.redact_entries(model, ids)
        readings.delete()  # trashed versions and versions of purged meters and campaigns only
        for kind in ("meter", "property", "campaign"):
            expired[kind].delete()
        result.counts = {
            "campaign": len(locked["campaign"]),
            "property": len(locked["property"]),
            "meter": len(meter_ids),
            "reading": len(reading_ids),
        }
        result.files = len(files)
        audit.record(
            "trash.purged",
            actor=Actor.system("trash purge"),
            organisation=organisation,
            data={"counts": result.counts, "files": result.files, "cutoff": cutoff.isoformat()},
        )
        transaction.on_commit(lambda: _delete_files(files))
    return result


def _delete_files(names: list[str]) -> None:
    for name in names:
        if default_storage.exists(name):
            default_storage.delete(name)


def purge_all_organisations(*, now: datetime.datetime | None = None) -> dict[str, PurgeResult]:
    return {org.slug: purge_expired(org, now=now) for org in Organisation.objects.all()}
