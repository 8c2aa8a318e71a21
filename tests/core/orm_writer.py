"""The import's writes through the ORM only: the reference the bulk writer is compared with.

:class:`OrmWriter` has the interface of :class:`ablesung.core.services.bulk_writer.BulkWriter`
(``stage``, ``apply``, ``write``, ``finish``, ``stop``, ``counts``) and decides row by row,
plainly, what is new, changed or unchanged; it writes with the scoped managers'
``bulk_create`` and ``bulk_update``. Put in place of the bulk writer, the import service
must store exactly the same data (tests/core/test_bulk_writer_vs_orm.py); the benchmark
measures it as the ORM alternative (tests/bench/bench_import.py, ``BENCH_WRITER=orm``).
"""

from typing import Any

from django.utils import timezone

from ablesung.core.models import AuditEntry, CampaignMeter, Meter, Property, Register
from ablesung.core.models.search_key import fill_search_keys, search_key_fields
from ablesung.core.services.bulk_writer import METER_FIELDS, PROPERTY_FIELDS, Counts
from ablesung.formats import MeterRow, RowBlock

BATCH = 1000


class OrmWriter:
    """Writes validated rows of one import through the ORM (inside the organisation scope)."""

    def __init__(self, organisation_id: int, campaign_id: int, batch_id: int) -> None:
        self.organisation_id = organisation_id
        self.campaign_id = campaign_id
        self.batch_id = batch_id
        self.counts = Counts()
        self._now = timezone.now()
        self._pending: list[MeterRow] = []
        self._properties: dict[str, Property] = {
            p.object_number: p for p in Property.with_trashed.all()
        }
        self._meters: dict[str, Meter] = {m.number: m for m in Meter.with_trashed.all()}
        self._registers: dict[tuple[int, str], Register] = {
            (r.meter_id, r.code): r for r in Register.objects.all()
        }
        self._links: dict[int, CampaignMeter] = {
            link.register_id: link for link in CampaignMeter.objects.filter(campaign_id=campaign_id)
        }
        self._seen_properties: set[str] = set()
        self._seen_meters: set[str] = set()

    # --- the bulk writer's interface ----------------------------------------------------
    def stage(self, block: RowBlock) -> None:
        self._pending = list(block.rows())

    def apply(self) -> None:
        rows, self._pending = self._pending, []
        self._write(rows)

    def write(self, block: RowBlock) -> None:
        self.stage(block)
        self.apply()

    def finish(self) -> None:
        """Nothing is left over: every chunk was written by :meth:`apply`."""

    def stop(self) -> None:
        """Nothing runs in the background."""

    # --- writing ---------------------------------------------------------------------------
    def _write(self, rows: list[MeterRow]) -> None:
        counts = self.counts
        counts.rows += len(rows)
        audits: list[AuditEntry] = []
        new_properties: list[Property] = []
        changed_properties: list[Property] = []
        for row in rows:
            if row.object_number in self._seen_properties:
                continue  # the first row of an object number decides
            self._seen_properties.add(row.object_number)
            values = {name: getattr(row, name) for name in PROPERTY_FIELDS}
            prop = self._properties.get(row.object_number)
            if prop is None:
                prop = Property(
                    organisation_id=self.organisation_id,
                    object_number=row.object_number,
                    email=row.email,
                    created_at=self._now,
                    **values,
                )
                self._properties[row.object_number] = prop
                new_properties.append(prop)
                counts.properties_created += 1
            elif self._update(prop, values, "property", audits):
                changed_properties.append(prop)
                counts.properties_updated += 1
            else:
                counts.properties_unchanged += 1
        Property.objects.bulk_create(new_properties, batch_size=BATCH)
        Property.with_trashed.bulk_update(
            changed_properties,
            [*PROPERTY_FIELDS, "deleted_at", *(key.name for key in search_key_fields(Property))],
            batch_size=BATCH,
        )

        new_meters: list[Meter] = []
        changed_meters: list[Meter] = []
        for row in rows:
            if row.meter_number in self._seen_meters:
                continue  # a meter's further registers
            self._seen_meters.add(row.meter_number)
            values = {
                "property_id": self._properties[row.object_number].pk,
                "kind": row.meter_kind,
                "digits": row.digits,
                "decimals": row.decimals,
                "location_hint": row.location_hint,
            }
            meter = self._meters.get(row.meter_number)
            if meter is None:
                meter = Meter(
                    organisation_id=self.organisation_id,
                    number=row.meter_number,
                    created_at=self._now,
                    **values,
                )
                self._meters[row.meter_number] = meter
                new_meters.append(meter)
                counts.meters_created += 1
            elif self._update(meter, values, "meter", audits):
                changed_meters.append(meter)
                counts.meters_updated += 1
            else:
                counts.meters_unchanged += 1
        Meter.objects.bulk_create(new_meters, batch_size=BATCH)
        Meter.with_trashed.bulk_update(
            changed_meters, [*METER_FIELDS, "deleted_at"], batch_size=BATCH
        )

        new_registers: list[Register] = []
        for row in rows:
            meter_id = self._meters[row.meter_number].pk
            if (meter_id, row.register_code) not in self._registers:
                register = Register(
                    organisation_id=self.organisation_id,
                    meter_id=meter_id,
                    code=row.register_code,
                    created_at=self._now,
                )
                self._registers[(meter_id, row.register_code)] = register
                new_registers.append(register)
        Register.objects.bulk_create(new_registers, batch_size=BATCH)

        new_links: list[CampaignMeter] = []
        changed_links: list[CampaignMeter] = []
        for row in rows:
            register_id = self._registers[(self._meters[row.meter_number].pk, row.register_code)].pk
            snapshot: dict[str, Any] = {
                "previous_value": row.previous_value,
                "previous_date": row.previous_date,
                "previous_year_consumption": row.previous_year_consumption,
                "raw_row": row.raw,
                "import_batch_id": self.batch_id,
            }
            link = self._links.pop(register_id, None)
            if link is None:
                new_links.append(
                    CampaignMeter(
                        organisation_id=self.organisation_id,
                        campaign_id=self.campaign_id,
                        register_id=register_id,
                        row_number=row.line,
                        created_at=self._now,
                        **snapshot,
                    )
                )
            elif any(getattr(link, name) != value for name, value in snapshot.items()):
                for name, value in snapshot.items():
                    setattr(link, name, value)
                link.row_number = row.line
                changed_links.append(link)
        CampaignMeter.objects.bulk_create(new_links, batch_size=BATCH)
        CampaignMeter.objects.bulk_update(
            changed_links, [*snapshot, "row_number"], batch_size=BATCH
        )
        AuditEntry.objects.bulk_create(audits, batch_size=BATCH)

    def _update(
        self,
        obj: Property | Meter,
        values: dict[str, Any],
        object_type: str,
        audits: list[AuditEntry],
    ) -> bool:
        """Sets the new values of a known row (and takes it out of the trash) with its audit entry."""
        changes: dict[str, Any] = {
            name: [getattr(obj, name), value]
            for name, value in values.items()
            if getattr(obj, name) != value
        }
        trashed = obj.deleted_at is not None
        if not changes and not trashed:
            return False
        if trashed:
            changes["deleted_at"] = ["trash", None]
            self.counts.restored += 1
        for name, value in values.items():
            setattr(obj, name, value)
        fill_search_keys(obj)  # bulk_update does not call the keys' pre_save
        obj.deleted_at = None
        audits.append(
            AuditEntry(
                organisation_id=self.organisation_id,
                actor_label="import",
                action=f"{object_type}.updated",
                object_type=object_type,
                object_id=str(obj.pk),
                data={"changes": changes, "import": self.batch_id},
                created_at=self._now,
            )
        )
        return True
