"""What the portal's reads return and what the write path locks.

Each test builds data that the queries must tell apart (another organisation, another
property, the trash, older versions, other campaigns).
"""

import datetime
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
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
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import history, readings
from ablesung.core.services.access import PortalAccess, do_issue_access, live_grant, resolve_token
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import joined_effective
from ablesung.portal.pages import (
    MeterLines,
    line_views,
    meter_lines,
    property_lines,
    property_lines_query,
)
from tests.conftest import OrgData

TODAY = datetime.date(2026, 12, 30)


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
                previous_year_consumption=Decimal("17.25"),
                raw_row=["a", "b"],
            )
        )
    return lines


@pytest.fixture
def rich(org_a: OrgData, org_b: OrgData) -> OrgData:
    """Organisation A's property with three more meters, one of them in the trash, and a
    meter of another property."""
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


def record(line: CampaignMeter, value: int, source: str = ReadingSource.PHONE) -> Reading:
    with scopes_disabled():
        line = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=line.pk)
    return readings.do_record_reading(
        line,
        readings.Submission(str(value), TODAY, confirmed=True, note="Rückruf"),
        source=source,
        actor=Actor.system("test"),
        today=TODAY,
    ).reading


def test_grant_lookup_brings_campaign_property_and_organisation(
    rich: OrgData, org_b: OrgData, django_assert_num_queries: Any
) -> None:
    issued = do_issue_access(rich.campaign, organisation=rich.organisation, actor=Actor.system("t"))
    do_issue_access(org_b.campaign, organisation=org_b.organisation, actor=Actor.system("t"))
    with scopes_disabled():
        grant_ids = list(AccessGrant.objects.values_list("pk", flat=True))
    for grant_id in grant_ids:
        with django_assert_num_queries(1):
            found = live_grant(grant_id)
            assert found is not None
            assert found.campaign.organisation == found.organisation
            assert found.property.organisation_id == found.organisation.pk
    by_token = resolve_token(issued[0].token)
    assert by_token is not None
    assert by_token.pk == issued[0].grant_id
    assert live_grant(10**9) is None
    assert resolve_token("A" * 22) is None


def test_property_lines_are_the_propertys_live_meters_in_this_campaign(
    rich: OrgData, org_b: OrgData, django_assert_num_queries: Any
) -> None:
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        with django_assert_num_queries(1):
            found = property_lines(access)
            numbers = [(line.register.meter.number, line.register.code) for line in found]
            assert all(line.campaign.organisation == rich.organisation for line in found)
        # not the trashed meter, not the other property's, not organisation B's
        assert numbers == [("A-0001", ""), ("A-HTNT", "HT"), ("A-HTNT", "NT"), ("stadt-a-M1", "")]
        assert "raw_row" in found[0].get_deferred_fields()
        htnt = Meter.objects.get(number="A-HTNT")
        assert [line.register.code for line in property_lines(access, htnt.pk)] == ["HT", "NT"]
        assert property_lines(access, org_b.meter.pk) == []
        trashed = Meter.with_trashed.get(number="A-TRASH")
        assert property_lines(access, trashed.pk) == []


def test_effective_readings_are_the_newest_live_versions(rich: OrgData) -> None:
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        lines = property_lines(access)
    ht, nt = lines[1], lines[2]
    record(ht, 1300)
    newer = record(ht, 1301)
    only_trashed = record(nt, 1400)
    with scopes_disabled():
        Reading.with_trashed.filter(pk=only_trashed.pk).update(
            deleted_at=timezone.now(), is_effective=False
        )
    with organisation_scope(rich.organisation):
        lines = property_lines(access)  # read with their effective readings, one query
        views = {view.line.register_id: view for view in line_views(lines)}
        effective = views[ht.register_id].effective
        assert effective is not None
        assert (effective.pk, effective.value) == (newer.pk, Decimal(1301))
        assert views[nt.register_id].effective is None  # only a reading in the trash
        fixture = views[rich.register.pk].effective
        assert fixture is not None
        assert fixture.pk == rich.reading.pk
        assert views[lines[0].register_id].effective is None


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


def test_history_comes_from_live_campaigns_up_to_the_key_date(rich: OrgData) -> None:
    add_other_campaigns(rich, [rich.register.pk])
    with organisation_scope(rich.organisation):
        line = CampaignMeter.objects.select_related("campaign").get(pk=rich.campaign_meter.pk)
        lines = list(history.register_lines([line.register_id], line.campaign.key_date))
        # not 2023 (in the trash), not 2027 (after this campaign's key date)
        assert [other.campaign.name for other in lines] == [
            "Ablesung 2024",
            "Ablesung 2025",
            rich.campaign.name,
        ]
        points = history.consumption_history(line, None)
        assert [(point.label, point.value) for point in points] == [
            ("2023", Decimal(24)),
            ("2024", Decimal(25)),
            ("2025", Decimal(28)),
        ]


def test_meter_page_reads_lines_readings_and_history_of_one_meter(
    rich: OrgData, org_b: OrgData, django_assert_max_num_queries: Any
) -> None:
    with scopes_disabled():
        registers = list(
            CampaignMeter.objects.filter(campaign=rich.campaign).values_list(
                "register_id", flat=True
            )
        )
    add_other_campaigns(rich, registers)
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        htnt = Meter.objects.get(number="A-HTNT")
        with django_assert_max_num_queries(1):  # lines, their readings and history together
            found = meter_lines(access, htnt.pk)
            assert [line.register.code for line in found.lines] == ["HT", "NT"]
            assert joined_effective(found.lines) == {}
            assert [line.campaign.name for line in found.history[found.lines[0].register_id]]
        assert set(found.history) == {line.register_id for line in found.lines}
        for line in found.lines:
            assert [x.campaign.name for x in found.history[line.register_id]] == [
                "Ablesung 2024",
                "Ablesung 2025",
                rich.campaign.name,
            ]
        fixture = meter_lines(access, rich.meter.pk)
        effective = joined_effective(fixture.lines)
        assert [reading.pk for reading in effective.values()] == [rich.reading.pk]
        # the history's lines of other campaigns are not this campaign's readings
        assert all(
            getattr(line, "effective_reading", None) is None
            for line in fixture.history[rich.register.pk]
            if line.campaign_id != rich.campaign.pk
        )
        assert meter_lines(access, org_b.meter.pk) == MeterLines([], {})


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
            readings.locked_lines(CampaignMeter.objects.filter(pk=line.pk))
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
def test_locked_lines_need_a_transaction(rich: OrgData) -> None:
    with organisation_scope(rich.organisation), pytest.raises(RuntimeError, match="transaction"):
        readings.locked_lines(CampaignMeter.objects.all())


@pytest.mark.django_db(transaction=True)
def test_the_write_lock_holds_one_line_not_its_campaign_or_organisation(rich: OrgData) -> None:
    """While one register's line is locked, another register of the same campaign can be
    written (its foreign-key checks share-lock the campaign and organisation rows), and the
    same register waits."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite's write transaction is one lock)")
    with organisation_scope(rich.organisation):
        first, second = list(CampaignMeter.objects.order_by("pk")[:2])

    def write_second() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        with organisation_scope(rich.organisation):
            record(second, 1500)

    def lock_first() -> None:
        with organisation_scope(rich.organisation), transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '200ms'")
            readings.locked_lines(CampaignMeter.objects.filter(pk=first.pk))

    with line_locked_elsewhere(rich, first):
        assert _in_own_connection(write_second) is None
        assert isinstance(_in_own_connection(lock_first), OperationalError)
    with scopes_disabled():
        assert Reading.objects.filter(register_id=second.register_id, value=1500).exists()


@pytest.mark.django_db(transaction=True)
def test_the_portal_waits_for_a_clerk_on_the_same_meter_only(rich: OrgData) -> None:
    """The portal's submit locks the meter's lines with the same row lock as any other
    write: a clerk writing a register makes the portal wait for that meter, not for
    another meter of the property."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite's write transaction is one lock)")
    access = access_of(rich)
    with organisation_scope(rich.organisation):
        line = CampaignMeter.objects.get(pk=rich.campaign_meter.pk)
        other_meter = Meter.objects.filter(property=rich.property).exclude(pk=rich.meter.pk).first()
    assert other_meter is not None

    def portal_locks(meter_id: int) -> None:
        with organisation_scope(rich.organisation), transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '200ms'")
            assert readings.locked_lines(property_lines_query(access, meter_id))

    with line_locked_elsewhere(rich, line):  # a clerk writing that register
        assert _in_own_connection(lambda: portal_locks(other_meter.pk)) is None
        assert isinstance(_in_own_connection(lambda: portal_locks(rich.meter.pk)), OperationalError)
