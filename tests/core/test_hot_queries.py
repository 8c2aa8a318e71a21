"""The portal's hand-written queries return what the ORM queries they stand for return.

Each test builds data that the WHERE clauses must tell apart (another organisation,
another property, the trash, superseded readings, other campaigns) and compares every
field of the returned instances and of their related instances with the ORM's answer.
Accessing the related instances afterwards must not query again.
"""

import datetime
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    Campaign,
    CampaignMeter,
    Meter,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import history, readings
from ablesung.core.services.access import (
    PortalAccess,
    do_issue_access,
    live_grant,
    property_registers,
    resolve_token,
)
from ablesung.core.services.actor import Actor
from ablesung.portal.pages import MeterLines, line_views, meter_lines, property_lines
from tests.conftest import OrgData


def values(instance: Model | None, *paths: str) -> dict[str, Any]:
    """Every concrete field of the instance and of the related instances along ``paths``."""
    if instance is None:
        return {}
    found: dict[str, Any] = {}
    for path in ("", *paths):
        related: Any = instance
        for step in filter(None, path.split("__")):
            related = getattr(related, step)
        deferred = related.get_deferred_fields()
        found[f"{path}.deferred"] = deferred
        for f in related._meta.concrete_fields:
            if f.attname not in deferred:
                found[f"{path}.{f.attname}"] = getattr(related, f.attname)
    return found


def no_queries(instance: Model | None, *paths: str) -> dict[str, Any]:
    with CaptureQueriesContext(connection) as queries:
        found = values(instance, *paths)
    assert queries.captured_queries == []
    return found


def add_meter(data: OrgData, prop: Property, number: str, codes: list[str]) -> list[CampaignMeter]:
    org = data.organisation
    meter = Meter.objects.create(organisation=org, property=prop, number=number, kind="electricity")
    lines = []
    for code in codes:
        register = Register.objects.create(organisation=org, meter=meter, code=code)
        lines.append(
            CampaignMeter.objects.create(
                organisation=org,
                campaign=data.campaign,
                register=register,
                previous_value=Decimal("1234.5"),
                previous_date=datetime.date(2025, 12, 30),
                previous_was_estimate=True,
                previous_year_consumption=Decimal("17.25"),
                row_number=7,
                raw_row=["a", "b"],
            )
        )
    return lines


@pytest.fixture
def rich(org_a: OrgData, org_b: OrgData) -> OrgData:
    """Organisation A's property with three more meters, one of them in the trash."""
    with scopes_disabled():
        add_meter(org_a, org_a.property, "A-HTNT", ["HT", "NT"])
        add_meter(org_a, org_a.property, "A-0001", [""])
        [trashed] = add_meter(org_a, org_a.property, "A-TRASH", [""])
        Meter.objects.filter(pk=trashed.register.meter_id).update(deleted_at=timezone.now())
        other = Property.objects.create(organisation=org_a.organisation, object_number="A-2")
        add_meter(org_a, other, "A-OTHER", [""])
    return org_a


def access_of(data: OrgData) -> PortalAccess:
    with scopes_disabled():
        campaign = Campaign.objects.select_related("organisation").get(pk=data.campaign.pk)
    return PortalAccess(data.organisation, campaign, data.property)


def orm_lines(access: PortalAccess, meter_id: int | None = None) -> list[CampaignMeter]:
    """The ORM query that ``property_lines`` stands for."""
    registers = property_registers(access.property)
    if meter_id is not None:
        registers = registers.filter(meter_id=meter_id)
    return list(
        CampaignMeter.objects.filter(campaign=access.campaign, register__in=registers)
        .defer("raw_row")
        .select_related("register__meter")
        .order_by("register__meter__number", "register__code")
    )


def test_grant_lookups_match_the_orm(rich: OrgData, org_b: OrgData) -> None:
    issued = do_issue_access(rich.campaign, organisation=rich.organisation, actor=Actor.system("t"))
    do_issue_access(org_b.campaign, organisation=org_b.organisation, actor=Actor.system("t"))
    paths = ("campaign", "property", "organisation", "campaign__organisation")
    with scopes_disabled():
        for grant in AccessGrant.objects.all():
            expected = (
                AccessGrant.objects.select_related("campaign", "property", "organisation")
                .filter(pk=grant.pk)
                .first()
            )
            found = live_grant(grant.pk)
            assert found is not None
            assert expected is not None
            assert no_queries(found, *paths) == values(expected, *paths)
    by_token = resolve_token(issued[0].token)
    assert by_token is not None
    assert by_token.pk == issued[0].grant_id
    assert live_grant(10**9) is None
    assert resolve_token("A" * 22) is None


def test_property_lines_match_the_orm(rich: OrgData, org_b: OrgData) -> None:
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        expected = orm_lines(access)
        found = property_lines(access)
        assert len(found) == 4  # the fixture's meter, HT and NT, one more; not the trashed one
        paths = ("register", "register__meter", "campaign", "campaign__organisation")
        assert [no_queries(line, *paths) for line in found] == [
            values(line, *paths) for line in expected
        ]
        assert "raw_row" in found[0].get_deferred_fields()
        for meter in Meter.objects.filter(property=rich.property):
            assert [line.pk for line in property_lines(access, meter.pk)] == [
                line.pk for line in orm_lines(access, meter.pk)
            ]
        assert property_lines(access, org_b.meter.pk) == []
        with transaction.atomic():  # the locking form reads the same lines
            locked = property_lines(access, lock=True)
            assert [no_queries(line, *paths) for line in locked] == [
                values(line, *paths) for line in expected
            ]


def add_reading(data: OrgData, line: CampaignMeter, value: int, **extra: Any) -> Reading:
    reading: Reading = Reading.objects.create(
        organisation=data.organisation,
        campaign=line.campaign,
        register=line.register,
        value=Decimal(value),
        reading_date=datetime.date(2026, 12, 30),
        source=ReadingSource.ONLINE,
        codes=["rise"],
        **extra,
    )
    return reading


def test_effective_readings_match_the_orm(rich: OrgData, org_b: OrgData) -> None:
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        lines = property_lines(access)
        first, second = lines[0], lines[1]
        old = add_reading(rich, second, 1300)
        new = add_reading(rich, second, 1301, state=ReviewState.RELEASED, reason="vacancy")
        Reading.objects.filter(pk=old.pk).update(superseded_by=new)
        trashed = add_reading(rich, lines[2], 1400)
        Reading.with_trashed.filter(pk=trashed.pk).update(deleted_at=timezone.now())
        for line in lines:
            expected = (
                Reading.objects.filter(
                    campaign_id=line.campaign_id,
                    register_id=line.register_id,
                    superseded_by__isnull=True,
                )
                .order_by("-created_at", "-id")
                .first()
            )
            assert values(readings.effective_reading(line)) == values(expected)
        views = {view.line.register_id: view for view in line_views(lines)}
        assert values(views[second.register_id].effective) == values(new)
        assert views[lines[2].register_id].effective is None  # only a reading in the trash
        fixture = Reading.objects.get(pk=rich.reading.pk)
        assert values(views[rich.register.pk].effective) == values(fixture)
        assert first.register_id in views


def test_locked_line_matches_the_orm(rich: OrgData) -> None:
    paths = ("campaign", "campaign__organisation", "register", "register__meter")
    with organisation_scope(rich.organisation):
        for line in CampaignMeter.objects.all():
            expected = (
                CampaignMeter.objects.select_related("campaign__organisation", "register__meter")
                .defer("raw_row")
                .get(pk=line.pk)
            )
            assert no_queries(readings._lock_line(line), *paths) == values(expected, *paths)


def test_locked_line_of_another_organisation_is_not_found(rich: OrgData, org_b: OrgData) -> None:
    foreign = org_b.campaign_meter
    foreign.organisation_id = rich.organisation.pk  # as if a caller mixed them up
    with pytest.raises(CampaignMeter.DoesNotExist):
        readings._lock_line(foreign)


def add_other_campaigns(data: OrgData, register_ids: list[int]) -> dict[int, Campaign]:
    """Campaigns of 2024, 2025, 2023 (in the trash) and 2027 listing these registers, each
    with the year's previous-year consumption; by year."""
    org = data.organisation
    campaigns = {}
    with scopes_disabled():
        for year, deleted in ((2024, False), (2025, False), (2023, True), (2027, False)):
            campaign = campaigns[year] = Campaign.objects.create(
                organisation=org,
                name=f"Ablesung {year}",
                key_date=datetime.date(year, 12, 31),
                deleted_at=timezone.now() if deleted else None,
            )
            for register_id in register_ids:
                CampaignMeter.objects.create(
                    organisation=org,
                    campaign=campaign,
                    register_id=register_id,
                    previous_year_consumption=Decimal(year - 2000),
                )
    return campaigns


def test_history_lines_match_the_orm(rich: OrgData) -> None:
    org = rich.organisation
    add_other_campaigns(rich, [rich.register.pk])
    with organisation_scope(org):
        line = CampaignMeter.objects.select_related("campaign").get(pk=rich.campaign_meter.pk)
        expected = list(
            CampaignMeter.objects.filter(
                register_id=line.register_id,
                campaign__deleted_at__isnull=True,
                campaign__key_date__lte=line.campaign.key_date,
            )
            .select_related("campaign")
            .defer("raw_row")
            .order_by("campaign__key_date", "campaign_id")
        )
        found = history._LINES.fetch(
            CampaignMeter,
            history._lines_sql(),
            [org.pk, line.register_id, history._date(line.campaign.key_date)],
        )
        assert [no_queries(x, "campaign") for x in found] == [
            values(x, "campaign") for x in expected
        ]
        points = history.consumption_history(line, None)
        assert [point.label for point in points] == ["2023", "2024", "2025"]


def test_meter_lines_match_the_separate_queries(rich: OrgData, org_b: OrgData) -> None:
    """The meter page's one query gives the same lines as ``property_lines``, the same
    effective readings as ``effective_readings`` and, per register, the same history
    lines as the history service's own query."""
    org = rich.organisation
    with scopes_disabled():
        registers = list(
            CampaignMeter.objects.filter(campaign=rich.campaign).values_list(
                "register_id", flat=True
            )
        )
    campaigns = add_other_campaigns(rich, registers)
    with scopes_disabled():
        for register_id in registers:  # an earlier campaign's reading is not this one's
            Reading.objects.create(
                organisation=org,
                campaign=campaigns[2025],
                register_id=register_id,
                value=Decimal(1),
                reading_date=datetime.date(2025, 12, 30),
                source=ReadingSource.ONLINE,
            )
    access = access_of(rich)
    paths = ("register", "register__meter", "campaign", "campaign__organisation")
    with organisation_scope(org):
        lines = property_lines(access)
        # HT: superseded by a released correction; NT: only one in the trash
        old = add_reading(rich, lines[1], 1300)
        new = add_reading(rich, lines[1], 1301, state=ReviewState.RELEASED, reason="vacancy")
        Reading.objects.filter(pk=old.pk).update(superseded_by=new)
        trashed = add_reading(rich, lines[2], 1400)
        Reading.with_trashed.filter(pk=trashed.pk).update(deleted_at=timezone.now())
        meters = list(Meter.objects.filter(property=rich.property))
        assert len(meters) == 3
        effective_seen = 0
        for meter in meters:
            found = meter_lines(access, meter.pk)
            expected = property_lines(access, meter.pk)
            assert found.lines
            assert [no_queries(line, *paths) for line in found.lines] == [
                values(line, *paths) for line in expected
            ]
            separate = readings.effective_readings(expected)
            assert {k: values(v) for k, v in found.effective.items()} == {
                k: values(v) for k, v in separate.items()
            }
            effective_seen += len(separate)
            assert set(found.history) == {line.register_id for line in found.lines}
            for line in found.lines:
                alone = history._LINES.fetch(
                    CampaignMeter,
                    history._lines_sql(),
                    [org.pk, line.register_id, history._date(line.campaign.key_date)],
                )
                together = found.history[line.register_id]
                assert [no_queries(x, "campaign") for x in together] == [
                    values(x, "campaign") for x in alone
                ]
                assert [x.campaign.name for x in together] == [
                    "Ablesung 2024",
                    "Ablesung 2025",
                    rich.campaign.name,
                ]
                assert history.consumption_history(line, None, together) == (
                    history.consumption_history(line, None)
                )
        assert effective_seen == 2  # the fixture's reading and the released correction
        assert meter_lines(access, org_b.meter.pk) == MeterLines([], {}, {})


def _in_own_connection(work: Any) -> BaseException | None:
    """Runs ``work`` in a thread (its own database connection); returns what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # handed to the caller
            raised.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return raised[0] if raised else None


@contextmanager
def line_locked_elsewhere(data: OrgData, line: CampaignMeter) -> Iterator[None]:
    """The readings service's lock on ``line``, held by another connection meanwhile."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with organisation_scope(data.organisation), transaction.atomic():
            readings._lock_line(line)
            holding.set()
            release.wait(timeout=20)

    holder = threading.Thread(target=lambda: _in_own_connection(hold))
    holder.start()
    try:
        assert holding.wait(timeout=10)
        yield
    finally:
        release.set()
        holder.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_the_write_lock_holds_one_line_not_its_campaign_or_organisation(rich: OrgData) -> None:
    """PostgreSQL: while one reading is written, another register of the same campaign can
    be written (its foreign-key checks share-lock the campaign and organisation rows), and
    the same register waits."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite's write transaction is one lock)")
    with organisation_scope(rich.organisation):
        first, second = list(CampaignMeter.objects.select_related("campaign", "register")[:2])

    def write_second() -> None:
        with organisation_scope(rich.organisation), transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '3s'")
            readings._lock_line(second)
            add_reading(rich, second, 1500)

    def lock_first() -> None:
        with organisation_scope(rich.organisation), transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '200ms'")
            readings._lock_line(first)

    with line_locked_elsewhere(rich, first):
        assert _in_own_connection(write_second) is None
        assert isinstance(_in_own_connection(lock_first), OperationalError)
    with scopes_disabled():
        assert Reading.objects.filter(register=second.register, value=1500).exists()


@pytest.mark.django_db(transaction=True)
def test_the_portal_locks_a_meters_lines_against_a_clerks_write(rich: OrgData) -> None:
    """PostgreSQL: the portal's locked lines (``property_lines(lock=True)``) and the readings
    service's line lock are the same row lock: a clerk writing a register makes the portal
    wait for that meter, not for another meter of the property."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite's write transaction is one lock)")
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        line = CampaignMeter.objects.select_related("campaign").get(pk=rich.campaign_meter.pk)
        other_meter = Meter.objects.filter(property=rich.property).exclude(pk=rich.meter.pk).first()
    assert other_meter is not None

    def portal_locks(meter_id: int) -> None:
        with organisation_scope(rich.organisation), transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '200ms'")
            assert property_lines(access, meter_id, lock=True)

    with line_locked_elsewhere(rich, line):  # a clerk writing that register
        assert _in_own_connection(lambda: portal_locks(other_meter.pk)) is None
        assert isinstance(_in_own_connection(lambda: portal_locks(rich.meter.pk)), OperationalError)
