"""The lean write path of the meter-list import.

Rows arrive in chunks, already validated column by column (:class:`RowBlock`).
:meth:`BulkWriter.stage` decides per chunk what is new, changed (UPDATE + audit
entry, restore from the trash) or unchanged: row by row when the chunk touches
anything the organisation had before, column by column when everything in it is
new (the first import of a list: ids and flags without per-row Python). Rows with
anything new go into a temporary staging table in one statement (``executemany``
on SQLite, ``COPY`` on PostgreSQL) — only the keys, the raw cells and the values
the database cannot take from the raw cells (see ``RowBlock.from_raw``).
:meth:`BulkWriter.apply` then lets each table take its new rows with one
set-based ``INSERT … SELECT`` (the raw row becomes JSON inside the database) and
writes the changes. The staging table holds one chunk at a time, so memory does
not grow with the file.

Why SQL here (ARCHITECTURE.md, "What we do not write ourselves"): the same writes
through the ORM — ``bulk_create`` and ``bulk_update`` on the scoped managers, see
``tests/core/orm_writer.py`` — took 35 s on SQLite and 42 s on PostgreSQL for the
100,000-row list of ``tests/bench/bench_import.py``, against 3.2 s and 9.1 s with
the statements below (issue 13, this 2-core machine): far beyond the import's
targets (SQLite ≤ 5 × ``csv`` + ``executemany``, PostgreSQL ≤ 2 × the database's
own ``INSERT … SELECT`` floor). The ORM cannot express ``INSERT … SELECT`` from a
staging table, nor take ids from a sequence. So the statements below are SQL, each
with its reason; everything else (reading what the organisation has, the audit
entries) goes through the ORM. All of it runs on the scoped managers' connection,
in the import's transaction, and only inside the organisation's scope (the writer
refuses to start outside it); every row written names the organisation, and the
UPDATE of known rows has it in its WHERE.
``test_bulk_writer_stores_what_the_orm_path_stores`` (tests/core/test_meter_import.py)
compares the result with the ORM writer's.
"""

import csv
import io
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import compress
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Max, Q
from django.utils import timezone
from django_scopes import ScopeError, get_scope

from ablesung.core import audit_actions
from ablesung.core.models import (
    AuditEntry,
    CampaignMeter,
    Meter,
    Property,
    Register,
)
from ablesung.formats import RowBlock
from ablesung.lib.folding import search_key

PROPERTY_FIELDS = (
    "customer_number",
    "owner_last_name",
    "owner_first_name",
    "street",
    "house_number",
    "postal_code",
    "city",
)
METER_FIELDS = ("property_id", "kind", "digits", "decimals", "location_hint")
LINK_FIELDS = (
    "previous_value",
    "previous_date",
    "previous_year_consumption",
    "raw_row",
    "row_number",
    "import_batch_id",
)
STAGE = "ablesung_import_stage"
# bits of the staged column "new": which tables take the staged row
NEW_PROPERTY, NEW_METER, NEW_REGISTER, NEW_LINK = 1, 2, 4, 8
_STAGE_KEYS = ("line", "new", "property_id", "meter_id", "register_id")
# the staged values of a row: stage column → RowBlock attribute
_STAGE_DATA = (
    ("object_number", "object_number"),
    *((name, name) for name in PROPERTY_FIELDS),
    ("email", "email"),
    ("meter_number", "meter_number"),
    ("kind", "meter_kind"),
    ("digits", "digits"),
    ("decimals", "decimals"),
    ("location_hint", "location_hint"),
    ("register_code", "register_code"),
    ("previous_value", "previous_value"),
    ("previous_date", "previous_date"),
    ("previous_year_consumption", "previous_year_consumption"),
)
# a chunk where all rows share one value of these passes it as a parameter instead
_CONSTANT_OK = frozenset(("email", "kind", "digits", "decimals", "location_hint", "register_code"))
# the search keys of new properties and meters (core/models/search_key.py): stage column →
# the RowBlock attributes it is folded from, in Python when the chunk is staged
_PROPERTY_KEYS = (
    ("object_key", ("object_number",)),
    ("customer_key", ("customer_number",)),
    ("owner_key", ("owner_last_name", "owner_first_name")),
    ("street_key", ("street", "house_number")),
)
_METER_KEYS = (("number_key", ("meter_number",)),)
_SEARCH_KEYS = (*_PROPERTY_KEYS, *_METER_KEYS)
# the keys an UPDATE of a known property sets again, from PROPERTY_FIELDS' values
_PROPERTY_UPDATE_KEYS = tuple(
    (name, tuple(PROPERTY_FIELDS.index(source) for source in sources))
    for name, sources in _PROPERTY_KEYS
    if set(sources) <= set(PROPERTY_FIELDS)
)
_STAGE_NAMES = (
    *_STAGE_KEYS,
    *(name for name, _attr in _STAGE_DATA),
    *(name for name, _sources in _SEARCH_KEYS),
)
_PG_TYPES = {
    "line": "integer",
    "new": "smallint",
    "property_id": "bigint",
    "meter_id": "bigint",
    "register_id": "bigint",
    "digits": "integer",
    "decimals": "integer",
    "previous_value": "numeric",
    "previous_date": "date",
    "previous_year_consumption": "numeric",
}
STAGE_TYPES = {
    False: tuple(_STAGE_NAMES),  # SQLite: no declared type, values stay as bound
    True: tuple(f"{name} {_PG_TYPES.get(name, 'text')}" for name in _STAGE_NAMES),
}
# SQL for a value derived from its raw column (see RowBlock.from_raw). SQLite stores
# the decimal text into an INTEGER/NUMERIC column as the number, like the value itself.
_FROM_RAW = {
    False: {
        "text": "{}",
        "int": "{}",
        "number": "{}",
        "dmy": "substr({0}, 7, 4) || '-' || substr({0}, 4, 2) || '-' || substr({0}, 1, 2)",
    },
    True: {
        "text": "{}",
        "int": "{}::integer",
        "number": "{}::numeric",
        "dmy": "to_date({}, 'DD.MM.YYYY')",
    },
}
SQLITE_JSON_ARGS = 100  # json_array() takes at most 127 arguments on older SQLite builds
ID_PREFETCH = 1000  # PostgreSQL: from this many ids per chunk on, fetch more ahead


@dataclass
class Counts:
    rows: int = 0
    properties_created: int = 0
    properties_updated: int = 0
    properties_unchanged: int = 0
    meters_created: int = 0
    meters_updated: int = 0
    meters_unchanged: int = 0
    restored: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _raw_json(cells: list[str]) -> str:
    """The raw cells as the JSON text the database stores (``json_array()`` / ``to_jsonb``)."""
    return json.dumps(cells, ensure_ascii=False)


@dataclass
class BulkWriter:
    """Writes validated rows of one import; call ``write(chunk)`` repeatedly, then ``finish()``."""

    organisation_id: int
    campaign_id: int
    batch_id: int
    counts: Counts = field(default_factory=Counts)
    _properties: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _meters: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _registers: dict[tuple[int, str], int] = field(default_factory=dict)
    _links: dict[int, tuple[int, int]] = field(default_factory=dict)
    _property_ids: dict[str, int] = field(default_factory=dict)
    _meter_ids: dict[str, int] = field(default_factory=dict)
    _now: Any = None
    _width: int = 0
    _raw_in_columns: bool = True
    _stage_columns: list[str] = field(default_factory=list)
    _expressions: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)
    _old_meter_numbers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        current = get_scope()
        if not current.get("_enabled") or current.get("organisation") != self.organisation_id:
            raise ScopeError("the bulk writer runs inside its organisation's scope")
        # the connection the scoped managers use: the ORM's own connection and transaction
        self.connection: BaseDatabaseWrapper = connections[Property.objects.db]
        self._pending: tuple[int, _Changes] = (0, _Changes())
        self._background: threading.Thread | None = None
        self._background_error: BaseException | None = None
        self.postgres = self.connection.vendor == "postgresql"
        self._created_at = timezone.now()
        self._now = self._created_at if self.postgres else _sqlite_datetime(self._created_at)
        self._next_id: dict[str, int] = {}
        self._id_blocks: dict[str, list[int]] = {}
        self._sequences: dict[str, str] = {}
        self._load_existing()

    def _new_ids(self, model: type[models.Model], needed: int) -> list[int]:
        """At least ``needed`` new primary keys, so that no inserted row is read back.

        The ``INSERT … SELECT`` of a chunk gives each row its parent's id from the staging
        table, so the ids are handed out before the rows are written. PostgreSQL takes
        them from the table's sequence, fetched only when the writer has too few left; on
        SQLite the import's transaction holds the write lock, so the ids after the highest
        one ever used are ours. Ids are shared by all organisations. Call
        :meth:`_used_ids` afterwards.
        """
        table = model._meta.db_table
        block = self._id_blocks.setdefault(table, [])
        if len(block) >= needed:
            return block
        self._wait()
        missing = needed - len(block)
        if not self.postgres:
            if table not in self._next_id:
                self._next_id[table] = self._sqlite_next_id(model)
            start = self._next_id[table]
            block.extend(range(start, start + missing))
            self._next_id[table] = start + missing
            return block
        if needed >= ID_PREFETCH:
            # two chunks ahead, so that the next chunks' Python need not wait for the
            # database still inserting this one (see apply); unused ids stay a gap
            missing += 2 * needed
        with self.connection.cursor() as cursor:
            if table not in self._sequences:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                self._sequences[table] = cursor.fetchone()[0]
            # SQL: the ORM cannot take values from a sequence without inserting rows
            cursor.execute(
                "SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s) ORDER BY id",
                [self._sequences[table], missing],
            )
            block.extend(id_ for (id_,) in cursor.fetchall())
        return block

    def _sqlite_next_id(self, model: type[models.Model]) -> int:
        """The id after the highest one the table ever had: the ids of purged rows are never
        handed out again (audit entries name them), as SQLite's AUTOINCREMENT does."""
        highest = model._base_manager.using(self.connection.alias).aggregate(top=Max("id"))["top"]
        with self.connection.cursor() as cursor:
            # SQL: the ORM does not read SQLite's sqlite_sequence (no tenant table)
            cursor.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table]
            )
            row = cursor.fetchone()
        return max(highest or 0, row[0] if row else 0) + 1

    def _used_ids(self, model: type[models.Model], used: int) -> None:
        table = model._meta.db_table
        del self._id_blocks[table][:used]

    # --- existing data -------------------------------------------------------
    def _load_existing(self) -> None:
        """What the organisation has already: keys → (id, in trash, compared values)."""
        trashed = Q(deleted_at__isnull=False)
        properties = Property.with_trashed.annotate(trashed=trashed).values_list(
            "object_number", "id", "trashed", *PROPERTY_FIELDS
        )
        for number, pk, in_trash, *values in properties:
            self._properties[number] = (pk, in_trash, tuple(values))
        meters = Meter.with_trashed.annotate(trashed=trashed).values_list(
            "number", "id", "trashed", *METER_FIELDS
        )
        for number, pk, in_trash, *values in meters:
            self._meters[number] = (pk, in_trash, tuple(values))
        for meter_id, code, pk in Register.objects.values_list("meter_id", "code", "id"):
            self._registers[(meter_id, code)] = pk
        links = CampaignMeter.objects.filter(campaign_id=self.campaign_id).values_list(
            "register_id",
            "id",
            "previous_value",
            "previous_date",
            "previous_year_consumption",
            "raw_row",
        )
        for register_id, pk, value, day, consumption, raw in links:
            self._links[register_id] = (pk, _fingerprint(value, day, consumption, raw))

    # --- writing -------------------------------------------------------------
    def write(self, block: RowBlock) -> None:
        """Decides per row what is new, changed or unchanged, then writes the chunk."""
        self.stage(block)
        self.apply()

    def stage(self, block: RowBlock) -> None:
        """Decides per row what is new, changed or unchanged; stages the rows with anything new.

        Rows with anything new go into the staging table in one statement; :meth:`apply`
        then lets each table take its new rows with one set-based ``INSERT … SELECT``
        (the raw cells become JSON in the database) and writes the changes of known rows.
        """
        self._pending = (0, _Changes())
        n = len(block)
        if not n:
            return
        if not self._width:
            self._create_stage(len(block.raw[0]))
        self.counts.rows += n
        if self._all_new(block):
            keys, tables = self._keys_of_new_rows(block)
            staged: list[bool] | None = None
            changes = _Changes()
        else:
            keys, tables, staged, changes = self._keys_row_by_row(block)
        stage_rows: Iterator[tuple[Any, ...]] = zip(
            block.line, *keys, *self._stage_values(block), strict=True
        )
        if staged is not None:
            stage_rows = compress(stage_rows, staged)
        self._stage(stage_rows, bool(tables))
        self._pending = (tables, changes)

    def apply(self) -> None:
        """Writes what :meth:`stage` found: mostly SQL, little Python.

        On PostgreSQL a chunk with new rows only is inserted by a helper thread on the
        same connection (same transaction; psycopg serialises its use), so that the
        next chunk's Python runs while the server checks keys and fills indexes. The
        next use of the database waits for it (:meth:`_wait`) and raises its error.
        """
        tables, changes = self._pending
        self._pending = (0, _Changes())
        inserts = [
            (bit, self._insert_sql(model, bit))
            for model, bit in (
                (Property, NEW_PROPERTY),
                (Meter, NEW_METER),
                (Register, NEW_REGISTER),
                (CampaignMeter, NEW_LINK),
            )
            if tables & bit
        ]
        if self.postgres and not (changes.properties or changes.meters or changes.links):
            self._execute_later([statement for _bit, statement in inserts])
            return
        statements = dict(inserts)
        with self.connection.cursor() as cursor:
            if NEW_PROPERTY in statements:
                cursor.execute(*statements[NEW_PROPERTY])
            if changes.properties:
                self._update(
                    Property,
                    (*PROPERTY_FIELDS, *(name for name, _sources in _PROPERTY_UPDATE_KEYS)),
                    [_with_search_keys(row) for row in changes.properties],
                )
                self._audit("property.updated", "property", changes.property_audits)
            if NEW_METER in statements:
                cursor.execute(*statements[NEW_METER])
            if changes.meters:
                self._update(Meter, METER_FIELDS, changes.meters)
                self._audit("meter.updated", "meter", changes.meter_audits)
            for bit in (NEW_REGISTER, NEW_LINK):
                if bit in statements:
                    cursor.execute(*statements[bit])
            if changes.links:
                self._update(CampaignMeter, LINK_FIELDS, changes.links, json_field="raw_row")

    def _execute_later(self, statements: list[tuple[str, list[Any]]]) -> None:
        self._wait()
        raw = self.connection.connection  # the psycopg connection: same transaction

        def run() -> None:
            try:
                with raw.cursor() as cursor:
                    for sql, params in statements:
                        cursor.execute(sql, params)
            except BaseException as exc:  # raised again by _wait
                self._background_error = exc

        self._background = threading.Thread(target=run, name="import-insert", daemon=True)
        self._background.start()

    def _wait(self) -> None:
        """Waits for the statements :meth:`apply` left running; raises their error."""
        if self._background is not None:
            self._background.join()
            self._background = None
        if self._background_error is not None:
            error, self._background_error = self._background_error, None
            raise error

    def _all_new(self, block: RowBlock) -> bool:
        """No row of the chunk touches what the organisation had before this import.

        Then every property and meter is either new or created earlier in this import
        (nothing to compare), and every register and campaign link is new: a meter of
        this import has no registers yet, and the validator lets each (meter, register)
        pair occur only once in the file.
        """
        numbers = block.meter_number
        return (
            self._properties.keys().isdisjoint(block.object_number)
            and self._meters.keys().isdisjoint(numbers)
            and self._old_meter_numbers.isdisjoint(numbers)
        )

    def _keys_of_new_rows(self, block: RowBlock) -> tuple[list[list[int]], int]:
        """Flags and ids of a chunk where everything is new, column by column; and
        which tables take rows (the flags of all rows or-ed)."""
        n = len(block)
        counts = self.counts
        tables = NEW_REGISTER | NEW_LINK
        new = [tables] * n
        id_columns: list[list[int]] = []
        for model, values, ids_of, bit in (
            (Property, block.object_number, self._property_ids, NEW_PROPERTY),
            (Meter, block.meter_number, self._meter_ids, NEW_METER),
        ):
            # the first row of each key not seen before creates it
            first_row = dict(zip(reversed(values), range(n - 1, -1, -1), strict=True))
            # ids ascending in file order (fromkeys keeps the order of first appearance)
            created = [key for key in dict.fromkeys(values) if key not in ids_of]
            ids_of.update(zip(created, self._new_ids(model, len(created)), strict=False))
            self._used_ids(model, len(created))
            for i in map(first_row.__getitem__, created):
                new[i] |= bit
            if created:
                tables |= bit
            if model is Property:
                counts.properties_created += len(created)
            else:
                counts.meters_created += len(created)
            id_columns.append(list(map(ids_of.__getitem__, values)))
        # Registers of this import's meters are not remembered: no later row can ask
        # for the same (meter, register) pair again.
        register_ids = self._new_ids(Register, n)[:n]
        self._used_ids(Register, n)
        return [new, *id_columns, register_ids], tables

    def _keys_row_by_row(
        self, block: RowBlock
    ) -> tuple[list[list[int]], int, list[bool], "_Changes"]:
        """Flags and ids row by row, comparing with what the organisation already has."""
        n = len(block)
        counts = self.counts
        properties, meters, registers, links = (
            self._properties,
            self._meters,
            self._registers,
            self._links,
        )
        property_ids, meter_ids = self._property_ids, self._meter_ids
        # exactly as many new ids as there are new keys (registers: at most one per row)
        new_property = iter(
            self._new_ids(
                Property, len(set(block.object_number) - property_ids.keys() - properties.keys())
            )
        )
        new_meter = iter(
            self._new_ids(Meter, len(set(block.meter_number) - meter_ids.keys() - meters.keys()))
        )
        new_register = iter(self._new_ids(Register, n))
        created = (counts.properties_created, counts.meters_created)
        registers_created = 0
        new_col: list[int] = []
        property_col: list[int] = []
        meter_col: list[int] = []
        register_col: list[int] = []
        changes = _Changes()
        tables = 0
        for i, (number, meter_number, code) in enumerate(
            zip(block.object_number, block.meter_number, block.register_code, strict=True)
        ):
            new = 0
            # property: the first row of an object number decides (the validator checked the rest)
            property_id = property_ids.get(number)
            if property_id is None:
                existing = properties.pop(number, None)
                if existing is None:
                    property_id = next(new_property)
                    new = NEW_PROPERTY
                    counts.properties_created += 1
                else:
                    property_id = existing[0]
                    values = _property_values(block, i)
                    if _queue_update(
                        existing,
                        values,
                        PROPERTY_FIELDS,
                        changes.properties,
                        changes.property_audits,
                    ):
                        counts.properties_updated += 1
                        counts.restored += existing[1]
                    else:
                        counts.properties_unchanged += 1
                property_ids[number] = property_id
            # meter
            meter_id = meter_ids.get(meter_number)
            if meter_id is None:
                existing = meters.pop(meter_number, None)
                if existing is None:
                    meter_id = next(new_meter)
                    new |= NEW_METER
                    counts.meters_created += 1
                else:
                    self._old_meter_numbers.add(meter_number)
                    meter_id = existing[0]
                    meter_values = (
                        property_id,
                        block.meter_kind[i],
                        block.digits[i],
                        block.decimals[i],
                        block.location_hint[i],
                    )
                    if _queue_update(
                        existing, meter_values, METER_FIELDS, changes.meters, changes.meter_audits
                    ):
                        counts.meters_updated += 1
                        counts.restored += existing[1]
                    else:
                        counts.meters_unchanged += 1
                meter_ids[meter_number] = meter_id
            # register
            key = (meter_id, code)
            register_id = registers.get(key)
            if register_id is None:
                register_id = registers[key] = next(new_register)
                new |= NEW_REGISTER
                registers_created += 1
            # the campaign's link with the billing snapshot and the raw row
            existing_link = links.pop(register_id, None)
            if existing_link is None:
                new |= NEW_LINK
            elif existing_link[1] != _fingerprint(
                block.previous_value[i],
                block.previous_date[i],
                block.previous_year_consumption[i],
                block.raw[i],
            ):
                changes.links.append((*self._link_values(block, i), existing_link[0]))
            tables |= new
            new_col.append(new)
            property_col.append(property_id)
            meter_col.append(meter_id)
            register_col.append(register_id)
        self._used_ids(Property, counts.properties_created - created[0])
        self._used_ids(Meter, counts.meters_created - created[1])
        self._used_ids(Register, registers_created)
        staged = list(map(bool, new_col))
        return [new_col, property_col, meter_col, register_col], tables, staged, changes

    def _link_values(self, block: RowBlock, i: int) -> tuple[Any, ...]:
        postgres = self.postgres
        return (
            block.previous_value[i] if postgres else str(block.previous_value[i]),
            block.previous_date[i] if postgres else block.previous_date[i].isoformat(),
            (
                block.previous_year_consumption[i]
                if postgres
                else str(block.previous_year_consumption[i])
            ),
            _raw_json(block.raw[i]),
            block.line[i],
            self.batch_id,
        )

    # --- staging ---------------------------------------------------------------
    def _stage_values(self, block: RowBlock) -> list[Iterable[Any]]:
        """The chunk's staged columns after the keys, then the raw cells.

        A value column that is exactly a raw column (nothing was stripped) is not staged
        twice: the ``INSERT … SELECT`` reads the raw column; a column with one value for
        the whole chunk becomes a parameter. Sets the column list and the expressions
        for this chunk.
        """
        postgres = self.postgres
        n = len(block)
        from_raw = block.from_raw if self._raw_in_columns else {}
        names = list(_STAGE_KEYS)
        columns: list[Iterable[Any]] = []
        expressions: dict[str, tuple[str, list[Any]]] = {}
        for name, attr in _STAGE_DATA:
            values: Sequence[Any] = getattr(block, attr)
            if attr in from_raw:
                index, how = from_raw[attr]
                expressions[name] = (_FROM_RAW[self.postgres][how].format(f"c{index}"), [])
                continue
            if name in _CONSTANT_OK and values.count(values[0]) == n:
                expressions[name] = ("%s", [values[0]])
                continue
            expressions[name] = (name, [])
            names.append(name)
            if postgres:
                columns.append(values)
            elif name == "previous_date":
                columns.append(map(date.isoformat, values))
            elif name in ("previous_value", "previous_year_consumption"):
                columns.append(map(str, values))
            else:
                columns.append(values)
        for name, sources in _SEARCH_KEYS:
            expressions[name] = (name, [])
            names.append(name)
            columns.append(list(map(search_key, *(getattr(block, attr) for attr in sources))))
        if self._raw_in_columns:
            names.extend(f"c{i}" for i in range(self._width))
            columns.extend(zip(*block.raw, strict=True))
        else:
            names.append("raw")
            columns.append(map(_raw_json, block.raw))
        self._stage_columns = names
        self._expressions = expressions
        return columns

    def _create_stage(self, width: int) -> None:
        """A temporary table for one chunk at a time (emptied after each chunk).

        Not a tenant table: it lives in this connection's session only. SQL: the ORM
        has no temporary tables.
        """
        self._width = width
        # PostgreSQL builds the JSON array from any number of columns; SQLite's
        # json_array() takes at most 127 arguments, so wide rows arrive as JSON text.
        self._raw_in_columns = self.postgres or width <= SQLITE_JSON_ARGS
        raw = (
            [f"c{i} {'text' if self.postgres else ''}".rstrip() for i in range(width)]
            if self._raw_in_columns
            else ["raw text"]
        )
        columns = ", ".join([*STAGE_TYPES[self.postgres], *raw])
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            suffix = " ON COMMIT DROP" if self.postgres else ""
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({columns}){suffix}")

    def _stage(self, rows: Iterator[tuple[Any, ...]], any_rows: bool) -> None:
        """The chunk's rows into the staging table: ``COPY`` on PostgreSQL (through the
        ORM's connection), the driver's ``executemany`` on SQLite."""
        buffer = io.StringIO()
        if self.postgres and any_rows:
            csv.writer(buffer, lineterminator="\n").writerows(rows)
        self._wait()  # the previous chunk's inserts still read the staging table
        with self.connection.cursor() as cursor:
            # PostgreSQL: DELETE would leave the dead rows of every chunk for the following
            # scans (no autovacuum on temporary tables); SQLite truncates on DELETE anyway
            cursor.execute(f"TRUNCATE {STAGE}" if self.postgres else f"DELETE FROM {STAGE}")  # noqa: S608
        if not any_rows:
            return
        names = ", ".join(self._stage_columns)
        if self.postgres:
            raw = self.connection.connection.cursor()  # same connection, same transaction
            # text columns: an empty field is "", never NULL (nothing staged is NULL)
            with raw.copy(
                f"COPY {STAGE} ({names}) FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({names}))"
            ) as copy:
                copy.write(buffer.getvalue())
            return
        marks = ", ".join(["?"] * len(self._stage_columns))
        # the driver's own executemany on the ORM's connection: Django's cursor wrapper
        # copies every row once more (100,000 rows of 25 columns: 0.47 s instead of 0.36 s)
        self.connection.ensure_connection()
        self.connection.connection.executemany(
            f"INSERT INTO {STAGE} ({names}) VALUES ({marks})",  # noqa: S608
            rows,
        )

    def _insert_sql(self, model: type[models.Model], bit: int) -> tuple[str, list[Any]]:
        """The ``INSERT … SELECT`` that gives ``model`` its new rows from the staging table.

        SQL: the ORM has no ``INSERT … SELECT`` (see the module's docstring for the
        measured ORM alternative). The organisation is a parameter of every row.
        """
        org, now = self.organisation_id, self._now
        fields: tuple[tuple[str, str], ...]  # (column of the table, its value: SQL or field)
        if model is Property:
            fields = (
                ("id", "property_id"),
                ("object_number", "=object_number"),
                ("email", "=email"),
                *((name, f"={name}") for name in PROPERTY_FIELDS),
                *((name, f"={name}") for name, _sources in _PROPERTY_KEYS),
            )
        elif model is Meter:
            fields = (
                ("id", "meter_id"),
                ("number", "=meter_number"),
                ("property_id", "property_id"),
                ("kind", "=kind"),
                ("digits", "=digits"),
                ("decimals", "=decimals"),
                ("location_hint", "=location_hint"),
                *((name, f"={name}") for name, _sources in _METER_KEYS),
            )
        elif model is Register:
            fields = (("id", "register_id"), ("meter_id", "meter_id"), ("code", "=register_code"))
        else:
            fields = (
                ("campaign_id", "%s"),
                ("register_id", "register_id"),
                ("previous_was_estimate", "false" if self.postgres else "0"),
                ("previous_value", "=previous_value"),
                ("previous_date", "=previous_date"),
                ("previous_year_consumption", "=previous_year_consumption"),
                ("raw_row", self._raw_json_sql()),
                ("row_number", "line"),
                ("import_batch_id", "%batch"),
            )
        columns = ["organisation_id", "created_at"]
        select = ["%s", "%s"]
        params: list[Any] = [org, now]
        for column, value in fields:
            columns.append(column)
            if value.startswith("="):
                expression, values = self._expressions[value[1:]]
                select.append(expression)
                params.extend(values)
            elif value == "%batch":
                select.append("%s")
                params.append(self.batch_id)
            else:
                select.append(value)
                if value == "%s":
                    params.append(self.campaign_id)
        return (
            f"INSERT INTO {self._table(model)} ({self._cols(columns)}) "  # noqa: S608
            f"SELECT {', '.join(select)} FROM {STAGE} WHERE (new & {bit}) <> 0",
            params,
        )

    def _raw_json_sql(self) -> str:
        if not self._raw_in_columns:
            return "raw"
        cells = ", ".join(f"c{i}" for i in range(self._width))
        return f"to_jsonb(ARRAY[{cells}]::text[])" if self.postgres else f"json_array({cells})"

    def stop(self) -> None:
        """Waits for inserts still running on this connection, so that the transaction ends
        after them, never under them (which would run them in a new transaction without
        the staging table). For the end of a failed import: their error no longer matters."""
        if self._background is not None:
            self._background.join()
            self._background = None
        self._background_error = None

    def finish(self) -> None:
        """Waits for the last inserts; drops the staging table (PostgreSQL drops it at
        commit anyway)."""
        self._wait()
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")

    def _update(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        *,
        json_field: str = "",
    ) -> None:
        """The new values of known rows: ``rows`` are ``(*values, id)``.

        SQL, because the ORM's ``bulk_update`` (one ``CASE WHEN id = …`` per column and
        batch) is too slow for a corrected list: 20,000 changed campaign meters took
        11.3 s on SQLite and 8.6 s on PostgreSQL with ``bulk_update(batch_size=1000)``,
        0.35 s and 1.9 s with this ``executemany`` (issue 13, this 2-core machine). The
        organisation is written out: a row of another organisation is never changed.
        """

        def mark(name: str) -> str:
            cast = "::jsonb" if self.postgres and name == json_field else ""
            return f"{self.connection.ops.quote_name(name)} = %s{cast}"

        self._wait()
        sets = ", ".join(mark(name) for name in columns)
        deleted = ", deleted_at = NULL" if model in (Property, Meter) else ""
        org = self.organisation_id
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {self._table(model)} SET {sets}{deleted} "  # noqa: S608
                "WHERE id = %s AND organisation_id = %s",
                [(*row, org) for row in rows],
            )

    def _audit(
        self, action: str, object_type: str, entries: list[tuple[int, dict[str, Any]]]
    ) -> None:
        """One audit entry per changed row, as ``audit.record`` writes them."""
        self._wait()
        AuditEntry.objects.using(self.connection.alias).bulk_create(
            AuditEntry(
                organisation_id=self.organisation_id,
                actor_label="import",
                action=audit_actions.check(action),
                object_type=object_type,
                object_id=str(pk),
                data={"changes": changes, "import": self.batch_id},
                created_at=self._created_at,
            )
            for pk, changes in entries
        )

    def _table(self, model: type[models.Model]) -> str:
        return self.connection.ops.quote_name(model._meta.db_table)

    def _cols(self, names: Sequence[str]) -> str:
        return ", ".join(self.connection.ops.quote_name(name) for name in names)


def refresh_statistics() -> None:
    """Fresh planner statistics for the tables an import fills, after it committed.

    Without them both databases plan the clerks' meter list badly (``campaign_id = ?``
    looks selective to SQLite without statistics; PostgreSQL's autovacuum analyzes only a
    while after a large import, and not at all where it is switched off). Measured on the
    list over 100,000 freshly imported meters (issue 14, this 2-core machine): the page of
    one meter looked up by its number took 82 ms on SQLite before ``ANALYZE`` and 10 ms
    after; a name search on PostgreSQL did not finish within a minute before. ``ANALYZE``
    of the four tables takes about 0.2 s (SQLite) and 0.3 s (PostgreSQL) at that size.
    SQL: the ORM has no statement for it; it reads no tenant's rows and writes none.
    """
    connection = connections[Property.objects.db]
    with connection.cursor() as cursor:
        for model in (Property, Meter, Register, CampaignMeter):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


@dataclass
class _Changes:
    """Updates of known rows found in one chunk, with their audit entries."""

    properties: list[tuple[Any, ...]] = field(default_factory=list)
    property_audits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    meters: list[tuple[Any, ...]] = field(default_factory=list)
    meter_audits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)


def _with_search_keys(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A property's UPDATE row ``(*PROPERTY_FIELDS values, id)`` with its search keys
    before the id."""
    *values, pk = row
    keys = (search_key(*(values[i] for i in sources)) for _name, sources in _PROPERTY_UPDATE_KEYS)
    return (*values, *keys, pk)


def _property_values(block: RowBlock, i: int) -> tuple[str, ...]:
    return (
        block.customer_number[i],
        block.owner_last_name[i],
        block.owner_first_name[i],
        block.street[i],
        block.house_number[i],
        block.postal_code[i],
        block.city[i],
    )


def _fingerprint(
    value: Decimal | None, day: date | None, consumption: Decimal | None, raw: list[str]
) -> int:
    """Compares a link's snapshot without keeping 100,000 raw rows in memory."""
    return hash((value, day, consumption, tuple(raw)))


def _queue_update(
    existing: tuple[Any, ...],
    values: tuple[Any, ...],
    fields: Sequence[str],
    updates: list[tuple[Any, ...]],
    audits: list[tuple[int, dict[str, Any]]],
) -> bool:
    """Queues the UPDATE and its audit entry when a known row changed or was trashed."""
    pk, trashed, old = existing
    if old == values and not trashed:
        return False
    updates.append((*values, pk))
    audits.append((pk, _changes(fields, old, values, trashed)))
    return True


def _changes(
    names: Sequence[str], old: tuple[Any, ...], new: tuple[Any, ...], trashed: bool
) -> dict[str, Any]:
    changes = {name: [o, n] for name, o, n in zip(names, old, new, strict=True) if o != n}
    if trashed:
        changes["deleted_at"] = ["trash", None]
    return changes


def _sqlite_datetime(value: datetime) -> str:
    return value.astimezone(tz=UTC).replace(tzinfo=None).isoformat(sep=" ")
