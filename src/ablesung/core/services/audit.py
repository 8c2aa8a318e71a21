"""The audit log: one entry per write, in the same transaction as the write."""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from ablesung.core import audit_actions
from ablesung.core.models import AuditEntry, Organisation
from ablesung.core.services.actor import Actor

#: keys in an entry's ``data`` that may hold personal data; redacted on purge
PERSONAL_KEYS = frozenset(
    {"label", "owner", "name", "first_name", "address", "email", "comment", "reason", "changes"}
)
REDACTED = "[entfernt]"


def record(
    action: str,
    *,
    actor: Actor,
    organisation: Organisation | None,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Writes one entry; ``action`` must be registered in :mod:`ablesung.core.audit_actions`."""
    entry: AuditEntry = AuditEntry.objects.create(
        organisation=organisation,
        actor=actor.user,
        actor_label=actor.label[:254],
        action=audit_actions.check(action),
        object_type=object_type(obj) if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data or {},
        client_ip=actor.ip,
    )
    return entry


def object_type(obj: models.Model | type[models.Model]) -> str:
    return obj._meta.model_name or ""


def redact_entries(model: type[models.Model], ids: Iterable[Any]) -> int:
    """Removes personal data from the entries about these objects; the entries stay."""
    id_strings = [str(pk) for pk in ids]
    count = 0
    now = timezone.now()
    for chunk_start in range(0, len(id_strings), 500):
        chunk = id_strings[chunk_start : chunk_start + 500]
        entries = AuditEntry.objects.filter(
            object_type=object_type(model), object_id__in=chunk, redacted_at__isnull=True
        )
        for entry in entries:
            entry.data = {
                key: (REDACTED if key in PERSONAL_KEYS else value)
                for key, value in entry.data.items()
            }
            entry.redacted_at = now
            entry.save(redaction=True)  # type: ignore[call-arg]
            count += 1
    return count
