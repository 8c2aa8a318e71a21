"""The import service: all or nothing, idempotent, updates next year, never interleaves."""

import datetime
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections
from django.db.models import Q
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    ImportBatch,
    ImportRowError,
    ImportStatus,
    Meter,
    Organisation,
    Property,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import (
    ImportRefused,
    NewCampaign,
    do_start_import,
    do_upload_meter_list,
    run_import,
)
from ablesung.core.services.trash import do_delete_record
from ablesung.formats import FINANZ_PLUS_STANDARD, Limits, RowBlock, Validator

HEADER = (
    "Objektnummer;Kassenzeichen;Name;Vorname;Straße;Hausnummer;PLZ;Ort;Zählernummer;"
    "Zählerart;Stellen;Ablesedatum alt;Zählerstand alt;Vorjahresverbrauch;"
    "Ablesedatum neu;Zählerstand neu;Ableseart;Bemerkung"
)
ROWS = [
    "1-001;K-1;Weiß;Monika;Gartenstraße;138;09111;Musterstadt;M-1;Hauptwasserzähler;5;16.01.2026;76414;28;;;;",
    "1-001;K-1;Weiß;Monika;Gartenstraße;138;09111;Musterstadt;M-2;Gartenwasserzähler;4;16.01.2026;2961;18;;;;",
    '1-002;K-2;=HYPERLINK("http://x");;Ringstraße;2b;09113;Musterstadt;M-3;;;19.12.2025;75173;66;;;;',
]
ACTOR = Actor.system("test")


def csv_bytes(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")


@pytest.fixture
def org(db: Any) -> Organisation:
    return Organisation.objects.create(slug="stadt", name="Stadt")


def import_file(
    org: Organisation, data: bytes, campaign: str = "Ablesung 2026", limits: Limits | None = None
) -> ImportBatch:
    with organisation_scope(org):
        existing = Campaign.objects.filter(name=campaign).first()
    target = existing or NewCampaign(campaign, datetime.date(2026, 12, 31))
    batch, _ = do_upload_meter_list(
        target,
        ContentFile(data, name="liste.csv"),
        original_name="liste.csv",
        profile=FINANZ_PLUS_STANDARD,
        organisation=org,
        actor=ACTOR,
    )
    do_start_import(batch, FINANZ_PLUS_STANDARD, organisation=org, actor=ACTOR, enqueue=False)
    return run_import(batch.pk, limits=limits)


@pytest.mark.django_db
def test_import_creates_properties_meters_and_keeps_raw_rows(org: Organisation) -> None:
    batch = import_file(org, csv_bytes(ROWS))
    assert batch.status == ImportStatus.SUCCEEDED
    assert batch.counts["properties_created"] == 2
    assert batch.counts["meters_created"] == 3
    with organisation_scope(org):
        formula = Property.objects.get(object_number="1-002")
        assert formula.owner_last_name == '=HYPERLINK("http://x")'  # stored as text
        garden = Meter.objects.get(number="M-2")
        assert (garden.kind, garden.digits, garden.property.object_number) == (
            "water_garden",
            4,
            "1-001",
        )
        link = CampaignMeter.objects.get(register__meter=garden)
        assert link.previous_value == 2961
        assert link.previous_date.isoformat() == "2026-01-16"
        assert link.previous_year_consumption == 18
        assert link.raw_row == ROWS[1].split(";")
        assert link.row_number == 3
    assert batch.layout["encoding"] == "cp1252"
    assert batch.layout["line_end"] == "\r\n"
    assert AuditEntry.objects.filter(action="import.succeeded", object_id=str(batch.pk)).exists()


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing(org: Organisation) -> None:
    import_file(org, csv_bytes(ROWS))
    with organisation_scope(org):
        before = list(CampaignMeter.objects.values_list("id", "previous_value", "raw_row"))
    second = import_file(org, csv_bytes(ROWS))
    assert second.counts["properties_unchanged"] == 2
    assert second.counts["meters_unchanged"] == 3
    assert second.counts["properties_created"] == second.counts["meters_created"] == 0
    with organisation_scope(org):
        assert list(CampaignMeter.objects.values_list("id", "previous_value", "raw_row")) == before


@pytest.mark.django_db
def test_next_years_file_updates_owner_and_keeps_history(org: Organisation) -> None:
    import_file(org, csv_bytes(ROWS))
    next_year = [
        ROWS[0].replace("Weiß;Monika", "Schuster;René").replace("76414", "76442"),
        ROWS[2],
        '1-002;K-2;=HYPERLINK("http://x");;Ringstraße;2b;09113;Musterstadt;M-4;;;19.11.2026;100;66;;;;',
    ]
    batch = import_file(org, csv_bytes(next_year), campaign="Ablesung 2027")
    assert batch.status == ImportStatus.SUCCEEDED, batch.message
    assert batch.counts["properties_updated"] == 1
    assert batch.counts["meters_created"] == 1
    with organisation_scope(org):
        prop = Property.objects.get(object_number="1-001")
        assert prop.owner_last_name == "Schuster"
        assert Meter.objects.filter(number="M-2").exists()  # missing from the new file, kept
        old = CampaignMeter.objects.get(
            campaign__name="Ablesung 2026", register__meter__number="M-1"
        )
        assert old.raw_row[2] == "Weiß"  # last year's snapshot keeps the old owner
    change = AuditEntry.objects.get(action="property.updated", object_id=str(prop.pk))
    assert change.data["changes"]["owner_last_name"] == ["Weiß", "Schuster"]


@pytest.mark.django_db
def test_a_single_broken_row_rejects_the_whole_file(org: Organisation) -> None:
    broken = [*ROWS, ROWS[0].replace("M-1", "M-9").replace("16.01.2026", "31.02.2025")]
    batch = import_file(org, csv_bytes(broken))
    assert batch.status == ImportStatus.REJECTED
    assert batch.error_count == 1
    with organisation_scope(org):
        assert not Property.objects.exists()
        assert not Meter.objects.exists()
        error = batch.row_errors.get()
    assert (
        error.message == "Zeile 5, Spalte „Ablesedatum alt“: „31.02.2025“ ist kein gültiges Datum."
    )


@pytest.mark.django_db
def test_meter_in_the_trash_comes_back_with_the_import(org: Organisation) -> None:
    import_file(org, csv_bytes(ROWS))
    with organisation_scope(org):
        meter = Meter.objects.get(number="M-3")
    do_delete_record("property", meter.property_id, organisation=org, actor=ACTOR)
    batch = import_file(org, csv_bytes(ROWS))
    assert batch.counts["restored"] == 2
    with organisation_scope(org):
        assert Meter.objects.filter(number="M-3").exists()


@pytest.mark.django_db
def test_row_limit_gives_a_clear_message(org: Organisation) -> None:
    batch = import_file(org, csv_bytes(ROWS), limits=Limits(max_rows=2))
    assert batch.status == ImportStatus.REJECTED
    assert "2" in batch.message
    with organisation_scope(org):
        assert not Meter.objects.exists()


@pytest.mark.django_db
def test_running_a_finished_batch_again_changes_nothing(org: Organisation) -> None:
    batch = import_file(org, csv_bytes(ROWS))
    entries = AuditEntry.objects.count()
    again = run_import(batch.pk)
    assert again.status == ImportStatus.SUCCEEDED
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_closed_campaign_refuses_imports(org: Organisation) -> None:
    import_file(org, csv_bytes(ROWS))
    with organisation_scope(org):
        Campaign.objects.update(status="closed")
    with pytest.raises(ImportRefused, match="nicht mehr importiert"):
        import_file(org, csv_bytes(ROWS))


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_into_one_campaign_never_interleave(org: Organisation) -> None:
    if (connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:")) or (
        "mode=memory" in str(connection.settings_dict["NAME"])
    ):
        pytest.skip("needs a file or server database shared by two connections")
    first = import_file(org, csv_bytes(ROWS))
    assert first.status == ImportStatus.SUCCEEDED
    rows = [*ROWS, "1-003;K-3;Neu;;Weg;1;;;M-5;;;01.01.2026;1;1;;;;"]
    batches = []
    with organisation_scope(org):
        campaign = Campaign.objects.get()
    for _ in range(2):
        batch, _detected = do_upload_meter_list(
            campaign,
            ContentFile(csv_bytes(rows), name="liste.csv"),
            original_name="liste.csv",
            profile=FINANZ_PLUS_STANDARD,
            organisation=org,
            actor=ACTOR,
        )
        do_start_import(batch, FINANZ_PLUS_STANDARD, organisation=org, actor=ACTOR, enqueue=False)
        batches.append(batch)
    barrier = threading.Barrier(2)
    results: dict[int, ImportBatch] = {}

    def run(batch_id: int) -> None:
        barrier.wait()
        try:
            results[batch_id] = run_import(batch_id)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(b.pk,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status for r in results.values())
    assert statuses in (["rejected", "succeeded"], ["succeeded", "succeeded"])
    with scopes_disabled():
        assert Meter.objects.filter(number="M-5").count() == 1
        assert CampaignMeter.objects.filter(campaign=campaign).count() == 4
    created = [r.counts.get("meters_created", 0) for r in results.values()]
    assert sorted(created)[-1] == 1
    assert sum(created) == 1


TARIFF_HEADER = (
    "Objektnummer;Kassenzeichen;Name;Vorname;Straße;Hausnummer;PLZ;Ort;Zählernummer;"
    "Zählerart;Stellen;Zählwerk;E-Mail;Ablesedatum alt;Zählerstand alt;Vorjahresverbrauch"
)
TARIFF_2026 = [
    "1-001;K-1;Weiß;Monika;Gartenstraße;138;09111;Musterstadt;S-1;Strom;6;HT;a@x.de;16.01.2026;100;28",
    "1-001;K-1;Weiß;Monika;Gartenstraße;138;09111;Musterstadt;S-1;Strom;6;NT;a@x.de;16.01.2026;50;18",
    "1-002;K-2;Öztürk;;Ringstraße;2b;09113;Musterstadt;W-1;;5;;;19.12.2025;75173;66",
    "1-002;K-2;Öztürk;;Ringstraße;2b;09113;Musterstadt;W-2;GWZ;4;;;19.12.2025;12;6",
]
TARIFF_2027 = [
    # chunk 1 (three rows): a known register, a new property, an address change
    "1-001;K-1;Weiß;Monika;Gartenstraße;138;09111;Musterstadt;S-1;Strom;6;HT;a@x.de;16.10.2026;180;80",
    " 1-003 ;K-3;Groß;Jörg;Am Mühlbach;7;09112;Musterstadt;W-3;;5;;;02.01.2026;1;1",
    "1-002;K-2;Öztürk;;Ringstraße;4;09113;Musterstadt;W-1;;5;;;19.10.2026;75200;27",
    # chunk 2: the known meter's other register, then only new meters
    "1-001;K-1;Weiß;Monika;Gartenstraße;138;09111;Musterstadt;S-1;Strom;6;NT;a@x.de;16.10.2026;60;10",
    "1-004;K-4;Köhler;Anna;Lindenallee;1;09111;Musterstadt;S-2;Strom;6;HT;;03.01.2026;5;5",
    "1-004;K-4;Köhler;Anna;Lindenallee;1;09111;Musterstadt;S-3;Strom;6;;;03.01.2026;7;7",
    # chunk 3: all new, including the second register of a meter created in chunk 2
    "1-004;K-4;Köhler;Anna;Lindenallee;1;09111;Musterstadt;S-2;Strom;6;NT;;03.01.2026;3;3",
    "1-005;K-5;Schäfer;René;Schulstraße;9;09111;Musterstadt;W-4;;5;;;04.01.2026;8;8",
    "1-005;K-5;Schäfer;René;Schulstraße;9;09111;Musterstadt;W-5;GWZ;5;;;04.01.2026;9;9",
    # chunk 4: a property created in chunk 3 gets one more meter
    "1-005;K-5;Schäfer;René;Schulstraße;9;09111;Musterstadt;W-6;GWZ;5;;;04.01.2026;9;9",
]


def without_raw_columns(feed_block: Callable[..., RowBlock | None]) -> Callable[..., Any]:
    """feed_block as if no value could be taken from the raw cells (all are staged)."""

    def wrapped(*args: Any) -> RowBlock | None:
        block = feed_block(*args)
        if block is not None:
            block.from_raw = {}
        return block

    return wrapped


def tariff_csv(rows: list[str]) -> bytes:
    return ("\r\n".join([TARIFF_HEADER, *rows]) + "\r\n").encode("cp1252")


def snapshot(org: Organisation) -> dict[str, Any]:
    """The organisation's imported data by natural keys (ids differ between organisations)."""
    with organisation_scope(org):
        trashed = Q(deleted_at__isnull=False)
        properties = sorted(
            Property.with_trashed.annotate(trashed=trashed).values_list(
                "object_number",
                "customer_number",
                "owner_last_name",
                "owner_first_name",
                "street",
                "house_number",
                "postal_code",
                "city",
                "email",
                "trashed",
            )
        )
        meters = sorted(
            Meter.with_trashed.annotate(trashed=trashed).values_list(
                "number",
                "property__object_number",
                "kind",
                "digits",
                "decimals",
                "location_hint",
                "trashed",
            )
        )
        links = sorted(
            (
                link.campaign.name,
                link.register.meter.number,
                link.register.code,
                str(link.previous_value),
                link.previous_date,
                str(link.previous_year_consumption),
                link.raw_row,
                link.row_number,
                link.previous_was_estimate,
            )
            for link in CampaignMeter.objects.select_related("campaign", "register__meter")
        )
        orders = [
            list(model.with_trashed.order_by("id").values_list(key, flat=True))
            for model, key in ((Property, "object_number"), (Meter, "number"))
        ]
    audits = sorted(
        (entry.action, sorted(entry.data["changes"]))
        for entry in AuditEntry.objects.filter(
            organisation=org, action__in=("property.updated", "meter.updated")
        )
    )
    return {
        "properties": properties,
        "meters": meters,
        "links": links,
        "orders": orders,
        "audits": audits,
    }


@pytest.mark.django_db
def test_column_wise_writer_matches_the_row_by_row_writer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks where everything is new skip the row-by-row comparison; the result must be
    the same, also when a chunk mixes known and new rows or a meter's registers are split
    over chunks."""
    from ablesung.core.services import bulk_writer, meter_import

    monkeypatch.setattr(meter_import, "CHUNK", 3)
    monkeypatch.setattr(bulk_writer, "ID_PREFETCH", 1)  # PostgreSQL: ids fetched ahead
    results = []
    for slug, column_wise in (("a", True), ("b", False)):
        if not column_wise:
            monkeypatch.setattr(bulk_writer.BulkWriter, "_all_new", lambda self, block: False)
            monkeypatch.setattr(Validator, "feed_block", without_raw_columns(Validator.feed_block))
        org = Organisation.objects.create(slug=slug, name=slug)
        counts = []
        for campaign, rows in (("Ablesung 2026", TARIFF_2026), ("Ablesung 2027", TARIFF_2027)):
            batch = import_file(org, tariff_csv(rows), campaign=campaign)
            assert batch.status == ImportStatus.SUCCEEDED, batch.message
            counts.append(batch.counts)
        again = import_file(org, tariff_csv(TARIFF_2027), campaign="Ablesung 2027")
        assert again.status == ImportStatus.SUCCEEDED, again.message
        counts.append(again.counts)
        results.append((counts, snapshot(org)))
    assert results[0] == results[1]
    counts, data = results[0]
    assert counts[1]["meters_created"] == 6
    assert counts[1]["properties_updated"] == 1
    assert counts[2]["meters_unchanged"] == 8
    assert data["properties"][2][:2] == ("1-003", "K-3")  # stripped
    assert data["orders"][1] == ["S-1", "W-1", "W-2", "W-3", "S-2", "S-3", "W-4", "W-5", "W-6"]
    assert len(data["links"]) == 4 + 10


@pytest.mark.django_db
def test_errors_found_while_reading_ahead_reject_everything(
    org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next chunk is read and checked in a thread while this one is written: a bad
    row or an unreadable line in a later chunk still rolls back the earlier chunks, and
    the thread is gone afterwards."""
    from ablesung.core.services import meter_import

    monkeypatch.setattr(meter_import, "CHUNK", 1)
    threads = threading.active_count()
    broken_row = [*ROWS, ROWS[0].replace("M-1", "M-9").replace("16.01.2026", "31.02.2025")]
    batch = import_file(org, csv_bytes(broken_row))
    assert batch.status == ImportStatus.REJECTED
    assert batch.error_count == 1
    too_long = import_file(org, csv_bytes(ROWS), campaign="B", limits=Limits(max_rows=2))
    assert too_long.status == ImportStatus.REJECTED
    assert "2" in too_long.message
    calls = []

    def fail_on_the_third_chunk(*args: Any) -> RowBlock | None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return feed_block(*args)

    feed_block = Validator.feed_block
    monkeypatch.setattr(Validator, "feed_block", fail_on_the_third_chunk)
    failed = import_file(org, csv_bytes(ROWS), campaign="C")
    assert failed.status == ImportStatus.FAILED
    assert len(calls) == 3
    with organisation_scope(org):
        assert not Meter.objects.exists()
        assert not Property.objects.exists()
    assert threading.active_count() == threads


@pytest.mark.django_db
def test_a_rejected_import_waits_for_the_inserts_still_running(
    org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL inserts a chunk in a thread while the next one is checked. When that
    check rejects the file, the transaction ends only after the thread's inserts: ended
    under them, they ran in a new transaction without the staging table, and storing the
    rejected rows then failed."""
    if connection.vendor != "postgresql":
        pytest.skip("the insert thread runs on PostgreSQL only")
    from ablesung.core.services import meter_import
    from ablesung.core.services.bulk_writer import BulkWriter

    monkeypatch.setattr(meter_import, "CHUNK", 1)
    execute_later = BulkWriter._execute_later

    def slow(self: BulkWriter, statements: list[tuple[str, list[Any]]]) -> None:
        execute_later(self, [("SELECT pg_sleep(0.3)", []), *statements])

    monkeypatch.setattr(BulkWriter, "_execute_later", slow)
    broken_row = [*ROWS, ROWS[0].replace("M-1", "M-9").replace("16.01.2026", "31.02.2025")]
    batch = import_file(org, csv_bytes(broken_row))
    assert batch.status == ImportStatus.REJECTED
    assert batch.error_count == 1
    with scopes_disabled():
        assert ImportRowError.objects.filter(batch=batch).count() == 1
    with organisation_scope(org):
        assert not Meter.objects.exists()


@pytest.mark.django_db
def test_a_failing_insert_fails_the_whole_import(
    org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the inserts of a chunk run while the next chunk is prepared; their
    error still fails the import and rolls back everything."""
    from ablesung.core.services import bulk_writer, meter_import

    monkeypatch.setattr(meter_import, "CHUNK", 1)
    insert_sql = bulk_writer.BulkWriter._insert_sql

    def broken(self: bulk_writer.BulkWriter, model: Any, bit: int) -> tuple[str, list[Any]]:
        sql, params = insert_sql(self, model, bit)
        if model is CampaignMeter and self.counts.rows == 2:
            return sql.replace("SELECT", "SELECT 1 / 0,", 1), params  # too many columns
        return sql, params

    monkeypatch.setattr(bulk_writer.BulkWriter, "_insert_sql", broken)
    batch = import_file(org, csv_bytes(ROWS))
    assert batch.status == ImportStatus.FAILED
    with organisation_scope(org):
        assert not Property.objects.exists()
        assert not CampaignMeter.objects.exists()


WIDE_EXTRA = 110  # more raw cells than SQLite's json_array() takes: the raw row is staged as JSON
ODD_CELLS = ['Zitat "a"', "Back\\slash", "Tab\there", "Ünïcödé ✓", "", " Leer "]


def wide_csv(rows: list[str]) -> bytes:
    extra = [f"Extra {i}" for i in range(WIDE_EXTRA)]
    lines = [";".join([TARIFF_HEADER, *extra])]
    for number, row in enumerate(rows):
        cells = [ODD_CELLS[(number + i) % len(ODD_CELLS)] for i in range(WIDE_EXTRA)]
        lines.append(";".join([row, *(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in cells)]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def odd_csv(rows: list[str]) -> bytes:
    """The rows with odd characters in the last (unmapped) cell: JSON must escape them."""
    header = f"{TARIFF_HEADER};Bemerkung"
    cells = [f'"{c.replace(chr(34), chr(34) * 2)}"' for c in ODD_CELLS]
    lines = [header, *(f"{row};{cells[i % len(cells)]}" for i, row in enumerate(rows))]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


@pytest.mark.django_db
def test_bulk_writer_stores_what_the_orm_path_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk writer's hand-written SQL (staging, INSERT … SELECT, UPDATE) against plain
    ``bulk_create``/``bulk_update`` through the scoped managers (tests/core/orm_writer.py),
    for the same files: new lists, next year's list, a list imported twice, corrected values
    in the same campaign, a property restored from the trash, rows too wide for SQLite's
    json_array() and cells JSON must escape. Counts, data, id order and audit entries agree."""
    from ablesung.core.services import bulk_writer, meter_import
    from tests.core.orm_writer import OrmWriter

    monkeypatch.setattr(meter_import, "CHUNK", 3)
    monkeypatch.setattr(bulk_writer, "ID_PREFETCH", 1)  # PostgreSQL: ids fetched ahead
    corrected = [row.replace(";16.10.2026;180;80", ";17.10.2026;181;79") for row in TARIFF_2027]
    steps = [
        ("Ablesung 2026", tariff_csv(TARIFF_2026)),
        ("Ablesung 2027", tariff_csv(TARIFF_2027)),
        ("Ablesung 2027", tariff_csv(TARIFF_2027)),
        ("Ablesung 2027", tariff_csv(corrected)),
        ("trash", b""),
        ("Ablesung 2027", tariff_csv(corrected)),
        ("Breit", wide_csv(TARIFF_2027)),
        ("Sonderzeichen", odd_csv(corrected)),
    ]
    results = []
    for slug, writer in (("bulk", bulk_writer.BulkWriter), ("orm", OrmWriter)):
        monkeypatch.setattr(meter_import, "BulkWriter", writer)
        org = Organisation.objects.create(slug=slug, name=slug)
        counts = []
        for campaign, content in steps:
            if campaign == "trash":
                with organisation_scope(org):
                    meter = Meter.objects.get(number="W-1")
                do_delete_record("property", meter.property_id, organisation=org, actor=ACTOR)
                continue
            batch = import_file(org, content, campaign=campaign)
            assert batch.status == ImportStatus.SUCCEEDED, batch.message
            counts.append(batch.counts)
        results.append((counts, snapshot(org)))
    assert results[0] == results[1]
    counts, data = results[0]
    assert [c["meters_created"] for c in counts] == [3, 6, 0, 0, 0, 0, 0]
    assert counts[4]["restored"] == 2  # the property and its meter W-1 (W-2 stays in the trash)
    assert data["audits"] == [
        ("meter.updated", ["deleted_at"]),
        ("property.updated", ["deleted_at"]),
        ("property.updated", ["house_number"]),
    ]
    assert [meter[0] for meter in data["meters"] if meter[-1]] == ["W-2"]  # still in the trash
    corrected_link = next(
        link for link in data["links"] if link[:3] == ("Ablesung 2027", "S-1", "HT")
    )
    assert Decimal(corrected_link[3]) == 181
    assert corrected_link[4] == datetime.date(2026, 10, 17)
    with organisation_scope(Organisation.objects.get(slug="bulk")):
        wide = CampaignMeter.objects.filter(campaign__name="Breit").order_by("row_number")
        assert wide[0].raw_row[-WIDE_EXTRA:][:3] == ODD_CELLS[:3]
        odd = CampaignMeter.objects.filter(campaign__name="Sonderzeichen").order_by("row_number")
        assert [link.raw_row[-1] for link in odd[:6]] == ODD_CELLS


@pytest.mark.django_db
def test_ids_of_purged_rows_are_never_handed_out_again(org: Organisation) -> None:
    """Audit entries name rows by id: a purged property's id (and its meters') must not
    come back for a new one (SQLite: the import hands out the ids after the highest ever)."""
    import_file(org, csv_bytes(ROWS))
    with organisation_scope(org):
        newest = Property.with_trashed.order_by("-id")[0]
        meter_ids = list(Meter.with_trashed.filter(property=newest).values_list("id", flat=True))
        Property.with_trashed.filter(pk=newest.pk).delete()  # as the purge does
    later = ROWS[2].replace("1-002;K-2", "1-009;K-9").replace(";M-3;", ";M-9;")
    batch = import_file(org, csv_bytes([later]), campaign="Ablesung 2027")
    assert batch.status == ImportStatus.SUCCEEDED, batch.message
    with organisation_scope(org):
        new = Property.objects.get(object_number="1-009")
        assert new.pk > newest.pk
        assert Meter.objects.get(number="M-9").pk > max(meter_ids)


@pytest.mark.django_db
def test_the_bulk_writer_stays_inside_its_organisation(org: Organisation) -> None:
    """Its SQL runs only inside the organisation's scope, and its UPDATE names the
    organisation: an id of another organisation's row changes nothing."""
    from django_scopes import ScopeError

    from ablesung.core.services.bulk_writer import PROPERTY_FIELDS, BulkWriter

    other = Organisation.objects.create(slug="andere", name="Andere")
    import_file(org, csv_bytes(ROWS))
    import_file(other, csv_bytes(ROWS))
    with organisation_scope(org):
        campaign = Campaign.objects.get()
    with pytest.raises(ScopeError):
        BulkWriter(org.pk, campaign.pk, 0)
    with organisation_scope(other), pytest.raises(ScopeError):
        BulkWriter(org.pk, campaign.pk, 0)
    with organisation_scope(other):
        foreign = Property.objects.get(object_number="1-001")
    values = tuple("X" for _ in PROPERTY_FIELDS)
    with organisation_scope(org):
        writer = BulkWriter(org.pk, campaign.pk, 0)
        writer._update(Property, PROPERTY_FIELDS, [(*values, foreign.pk)])
    with organisation_scope(other):
        assert Property.objects.get(pk=foreign.pk).owner_last_name == "Weiß"
