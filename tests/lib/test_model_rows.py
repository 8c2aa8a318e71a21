"""Rows from hand-written SQL become the model instances the ORM would build."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from ablesung.core.models import Campaign, CampaignMeter, Reading, Register
from ablesung.lib.model_rows import Part, RowShape, insert, table, update
from tests.conftest import OrgData

LINE = RowShape(
    Part(CampaignMeter, "cm"),
    Part(Campaign, "c", parent="cm", via="campaign"),
    Part(Register, "r", parent="cm", via="register"),
)


def test_values_are_converted_like_the_orm_does(org_a: OrgData) -> None:
    with scopes_disabled():
        CampaignMeter.objects.filter(pk=org_a.campaign_meter.pk).update(
            previous_was_estimate=True, raw_row=["1", "Weiß", None]
        )
        expected = CampaignMeter.objects.get(pk=org_a.campaign_meter.pk)
    [line] = LINE.fetch(
        CampaignMeter,
        f"FROM {table(CampaignMeter, 'cm')} JOIN {table(Campaign, 'c')} ON c.id = cm.campaign_id "
        f"JOIN {table(Register, 'r')} ON r.id = cm.register_id WHERE cm.id = %s",
        [org_a.campaign_meter.pk],
    )
    assert line.previous_was_estimate is True
    assert line.raw_row == ["1", "Weiß", None]
    assert isinstance(line.previous_value, Decimal)
    assert line.previous_value == expected.previous_value
    assert line.previous_date == datetime.date(2026, 1, 16)
    assert isinstance(line.created_at, datetime.datetime)
    assert line.created_at == expected.created_at
    assert line._state.adding is False
    assert line._state.db == "default"
    with CaptureQueriesContext(connection) as queries:
        assert line.campaign.key_date == datetime.date(2026, 12, 31)
        assert line.register.meter_id == org_a.meter.pk
    assert queries.captured_queries == []


def fields_of(instance: object) -> dict[str, object]:
    """An instance's stored values, without its state and cached relations."""
    return {key: value for key, value in vars(instance).items() if key != "_state"}


def test_instances_hold_exactly_what_the_orm_builds(org_a: OrgData) -> None:
    with scopes_disabled():
        expected = CampaignMeter.objects.select_related("campaign", "register").get(
            pk=org_a.campaign_meter.pk
        )
    [line] = LINE.fetch(
        CampaignMeter,
        f"FROM {table(CampaignMeter, 'cm')} JOIN {table(Campaign, 'c')} ON c.id = cm.campaign_id "
        f"JOIN {table(Register, 'r')} ON r.id = cm.register_id WHERE cm.id = %s",
        [org_a.campaign_meter.pk],
    )
    assert fields_of(line) == fields_of(expected)
    assert fields_of(line.campaign) == fields_of(expected.campaign)
    assert fields_of(line.register) == fields_of(expected.register)
    for built in (line, line.campaign, line.register):
        assert (built._state.adding, built._state.db) == (False, "default")
        assert built.get_deferred_fields() == set()


def test_init_signal_listeners_are_honoured(org_a: OrgData) -> None:
    """With a ``post_init`` listener for a model its instances go through ``__init__``."""
    seen: list[object] = []

    def listener(sender: type[Register], instance: Register, **kwargs: object) -> None:
        seen.append(instance)

    post_init.connect(listener, sender=Register)
    try:
        [line] = LINE.fetch(
            CampaignMeter,
            f"FROM {table(CampaignMeter, 'cm')} JOIN {table(Campaign, 'c')} "
            f"ON c.id = cm.campaign_id JOIN {table(Register, 'r')} ON r.id = cm.register_id "
            "WHERE cm.id = %s",
            [org_a.campaign_meter.pk],
        )
    finally:
        post_init.disconnect(listener, sender=Register)
    assert seen == [line.register]
    assert line.register._state.adding is False


def test_deferred_fields_load_on_access(org_a: OrgData) -> None:
    shape = RowShape(Part(Reading, "rd", defer=("comment",)))
    [reading] = shape.fetch(
        Reading, f"FROM {table(Reading, 'rd')} WHERE rd.id = %s", [org_a.reading.pk]
    )
    assert reading.get_deferred_fields() == {"comment"}
    assert reading.value == Decimal(76440)
    with scopes_disabled():
        assert reading.comment == "Zähler im Keller"  # one more query, as with .defer()


def test_no_rows_give_an_empty_list(org_a: OrgData) -> None:
    shape = RowShape(Part(Reading, "rd"))
    assert shape.fetch(Reading, f"FROM {table(Reading, 'rd')} WHERE rd.id = %s", [-1]) == []


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="first part"):
        RowShape(Part(Reading, "rd", parent="x", via="campaign"))
    with pytest.raises(ValueError, match="earlier part as parent"):
        RowShape(Part(Reading, "rd"), Part(Campaign, "c", parent="nowhere", via="campaign"))
    with pytest.raises(ValueError, match="earlier part as parent"):
        RowShape(
            Part(CampaignMeter, "cm"),
            Part(Campaign, "c", parent="r", via="campaign"),
            Part(Register, "r", parent="cm", via="register"),
        )
    with pytest.raises(ValueError, match="a foreign key or an attribute"):
        RowShape(Part(CampaignMeter, "cm"), Part(Reading, "rd", parent="cm"))
    with pytest.raises(ValueError, match="a foreign key or an attribute"):
        RowShape(
            Part(CampaignMeter, "cm"),
            Part(Campaign, "c", parent="cm", via="campaign", attribute="campaign_too"),
        )
    with pytest.raises(ValueError, match="earlier part as parent"):  # hangs on an optional one
        RowShape(
            Part(Reading, "rd"),
            Part(CampaignMeter, "cm", parent="rd", attribute="line"),
            Part(Campaign, "c", parent="cm", via="campaign"),
        )
    with pytest.raises(ValueError, match="no such fields"):
        RowShape(Part(Reading, "rd", defer=("raw_row",)))
    with pytest.raises(ValueError, match="first part"):
        RowShape()
    with pytest.raises(TypeError, match="returns Reading"):
        RowShape(Part(Reading, "rd")).fetch(Campaign, "FROM x", [])


def test_an_optional_part_is_set_as_an_attribute_or_none(org_a: OrgData) -> None:
    """A ``LEFT JOIN``ed row becomes a plain attribute of its parent: the instance when
    the row is there, ``None`` when it is not."""
    shape = RowShape(
        Part(CampaignMeter, "cm", defer=("raw_row",)),
        Part(Reading, "rd", parent="cm", attribute="a_reading"),
    )
    with scopes_disabled():
        expected = Reading.objects.get(pk=org_a.reading.pk)
    tail = (
        f"FROM {table(CampaignMeter, 'cm')} LEFT JOIN {table(Reading, 'rd')} "
        "ON rd.register_id = cm.register_id AND rd.campaign_id = cm.campaign_id AND rd.id = %s "
        "WHERE cm.id = %s"
    )
    [found] = shape.fetch(CampaignMeter, tail, [org_a.reading.pk, org_a.campaign_meter.pk])
    [missing] = shape.fetch(CampaignMeter, tail, [-1, org_a.campaign_meter.pk])
    assert found.pk == missing.pk == org_a.campaign_meter.pk
    with CaptureQueriesContext(connection) as queries:
        reading = found.a_reading  # type: ignore[attr-defined]
        assert isinstance(reading, Reading)
        assert reading.pk == expected.pk
        assert reading.value == expected.value
        assert reading.codes == expected.codes
        assert reading.created_at == expected.created_at
        assert reading._state.adding is False
    assert queries.captured_queries == []
    assert missing.a_reading is None  # type: ignore[attr-defined]


def test_postgresql_binds_on_the_server_and_prepares_what_ran_five_times(
    org_a: OrgData,
) -> None:
    """Hot reads and the ORM's queries alike are planned once per connection, once they ran
    five times; parameters never become part of the SQL text."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements: PostgreSQL only")
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    shape = RowShape(Part(Reading, "rd"))
    tail = f"FROM {table(Reading, 'rd')} WHERE rd.id = %s"

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    for _ in range(6):
        assert shape.fetch(Reading, tail, [org_a.reading.pk])[0].pk == org_a.reading.pk
    with scopes_disabled():
        for _ in range(6):
            assert Reading.objects.filter(pk=org_a.reading.pk).exists()
        for _ in range(4):  # not yet
            assert Reading.objects.filter(value=org_a.reading.value).count() == 1
    statements = prepared()
    assert any(tail.replace("%s", "$1") in sql for sql in statements), statements
    assert any("LIMIT 1" in sql and "$1" in sql for sql in statements)  # exists()
    assert not any("COUNT(" in sql for sql in statements), statements


def test_insert_stores_what_save_stores(org_a: OrgData) -> None:
    def fields(reading: Reading) -> dict[str, object]:
        return {f.attname: getattr(reading, f.attname) for f in Reading._meta.concrete_fields}

    def new() -> Reading:
        return Reading(
            organisation=org_a.organisation,
            campaign=org_a.campaign,
            register=org_a.register,
            value=Decimal("76440.125"),
            reading_date=datetime.date(2026, 12, 30),
            source="online",
            comment="Zähler „im“ Keller",
            photo="photos/2026/12/a.jpg",
            codes=["rise", "long_gap"],
        )

    by_save, by_insert = new(), insert(new())
    by_save.save()
    assert by_insert.pk is not None
    assert by_insert._state.adding is False
    with scopes_disabled():
        stored = {
            r.pk: fields(r) for r in Reading.objects.filter(pk__in=[by_save.pk, by_insert.pk])
        }
    saved, inserted = stored[by_save.pk], stored[by_insert.pk]
    for row in (saved, inserted):
        row.pop("id")
        row.pop("created_at")
    assert inserted == saved
    assert inserted["codes"] == ["rise", "long_gap"]
    with pytest.raises(ValueError, match="new instances only"):
        insert(by_insert)


def test_update_writes_the_named_fields_only(org_a: OrgData) -> None:
    with scopes_disabled():
        reading = Reading.objects.get(pk=org_a.reading.pk)
        newer = Reading.objects.create(
            organisation=org_a.organisation,
            campaign=org_a.campaign,
            register=org_a.register,
            value=Decimal(76450),
            reading_date=datetime.date(2026, 12, 30),
            source="online",
        )
        reading.superseded_by = newer
        reading.comment = "not written"
        update(reading, "superseded_by")
        stored = Reading.objects.get(pk=reading.pk)
    assert stored.superseded_by_id == newer.pk
    assert stored.comment == "Zähler im Keller"
    with pytest.raises(ValueError, match="stored instances"):
        update(Reading(), "comment")
    with pytest.raises(ValueError, match="stored instances"):
        update(stored)
    with pytest.raises(ValueError, match="no column"):
        update(stored, "supersedes")
