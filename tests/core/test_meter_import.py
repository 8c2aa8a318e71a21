"""The import service: all or nothing, idempotent, updates next year, never interleaves."""

import datetime
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections
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
        properties = sorted(
            Property.objects.values_list(
                "object_number",
                "customer_number",
                "owner_last_name",
                "owner_first_name",
                "street",
                "house_number",
                "postal_code",
                "city",
                "email",
                "deleted_at",
            )
        )
        meters = sorted(
            Meter.objects.values_list(
                "number", "property__object_number", "kind", "digits", "decimals", "location_hint"
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
            )
            for link in CampaignMeter.objects.select_related("campaign", "register__meter")
        )
        orders = [
            list(model.objects.order_by("id").values_list(key, flat=True))
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
    the thread and the switch interval are gone afterwards."""
    import sys

    from ablesung.core.services import meter_import

    monkeypatch.setattr(meter_import, "CHUNK", 1)
    threads, interval = threading.active_count(), sys.getswitchinterval()
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
    assert sys.getswitchinterval() == interval


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
