"""The dashboard's key figures: counts equal to the data, in a fixed number of queries."""

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import CampaignMeter, CampaignStatus, ReadingSource, ReviewState
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.campaign_stats import (
    CampaignFigures,
    DayCount,
    campaign_figures,
    daily_readings,
    window_state,
)
from ablesung.core.services.trash import do_delete_record
from tests.conftest import OrgData
from tests.core.campaign_builder import Builder

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ACTOR = Actor.system("test")

#: what :func:`every_kind` holds, counted by hand
EXPECTED = CampaignFigures(
    registers=14,
    meters=13,
    with_reading=11,
    online=4,
    estimated=2,
    warning=1,
    implausible=1,
    released=2,
    control_requested=1,
    open_messages=2,
)


def every_kind(data: OrgData) -> Builder:
    """A campaign with every kind of reading, and rows that must not count."""
    b = Builder.campaign_of(data.organisation, "Alle Fälle 2026")
    org = data.organisation
    b.line("online_ok")
    b.reading("online_ok", 1365)
    b.line("online_warning")
    b.reading("online_warning", 1900, outcome="warning")
    b.line("letter_implausible")
    b.reading("letter_implausible", 9000, source=ReadingSource.LETTER, outcome="implausible")
    b.line("phone_reviewed")  # implausible, but reviewed: no longer waiting
    b.reading(
        "phone_reviewed",
        9000,
        source=ReadingSource.PHONE,
        outcome="implausible",
        state=ReviewState.REVIEWED,
    )
    b.line("staff_released")
    b.reading("staff_released", 1360, source=ReadingSource.STAFF, state=ReviewState.RELEASED)
    b.line("imported")
    b.reading("imported", 1350, source=ReadingSource.IMPORT)
    b.line("estimate")
    b.reading("estimate", 1365, source=ReadingSource.ESTIMATE)
    b.line("manual_released")
    b.reading(
        "manual_released",
        1370,
        source=ReadingSource.MANUAL_ESTIMATE,
        state=ReviewState.RELEASED,
    )
    b.line("missing")
    control = b.line("missing_control")
    with scopes_disabled():
        CampaignMeter.objects.filter(pk=control.pk).update(control_requested_at=timezone.now())
    high = b.line("dual_ht", code="HT", kind="electricity")
    b.line("dual_nt", code="NT", meter=high.register.meter)
    b.reading("dual_ht", 1365)  # the NT register stays missing
    b.line("corrected")  # an implausible online value corrected from a reading card
    b.reading("corrected", 9000, outcome="implausible")
    b.reading("corrected", 1365, source=ReadingSource.LETTER)
    b.line("trashed_version")  # the newer version went to the trash: the older one counts
    b.reading("trashed_version", 1365)
    newer = b.reading("trashed_version", 1366, source=ReadingSource.PHONE)
    do_delete_record("reading", newer.pk, organisation=org, actor=ACTOR)
    gone = b.line("meter_in_trash")
    b.reading("meter_in_trash", 1365)
    do_delete_record("meter", gone.register.meter_id, organisation=org, actor=ACTOR)
    moved = b.line("property_in_trash")
    b.reading("property_in_trash", 1365, outcome="implausible")
    do_delete_record("property", moved.register.meter.property_id, organisation=org, actor=ACTOR)
    b.message("missing")
    b.message("online_ok")
    b.message("online_warning", handled=True)
    return b


def figures_of(data: OrgData, *campaign_ids: int) -> dict[int, CampaignFigures]:
    with organisation_scope(data.organisation):
        return campaign_figures(campaign_ids)


@pytest.mark.django_db
def test_counts_equal_the_data(org_a: OrgData) -> None:
    b = every_kind(org_a)
    figures = figures_of(org_a, b.campaign.pk)[b.campaign.pk]
    assert figures == EXPECTED
    assert (figures.captured, figures.reported, figures.missing) == (5, 9, 3)
    assert figures.online + figures.captured + figures.estimated + figures.missing == 14
    assert figures.reported_percent == 64  # 9 of 14, rounded down


@pytest.mark.django_db
def test_several_campaigns_in_three_queries_and_nothing_of_another_organisation(
    org_a: OrgData, org_b: OrgData, django_assert_num_queries: Any
) -> None:
    b = every_kind(org_a)
    every_kind(org_b)
    empty = Builder.campaign_of(org_a.organisation, "Leer", status=CampaignStatus.DRAFT)
    with django_assert_num_queries(3):
        figures = figures_of(org_a, b.campaign.pk, org_a.campaign.pk, empty.campaign.pk)
    assert figures[b.campaign.pk] == EXPECTED
    assert figures[org_a.campaign.pk] == CampaignFigures(
        registers=1, meters=1, with_reading=1, online=1
    )
    assert figures[empty.campaign.pk] == CampaignFigures()
    assert figures_of(org_a) == {}


@pytest.mark.django_db
def test_readings_per_day_by_local_date_with_empty_days(org_a: OrgData) -> None:
    b = Builder.campaign_of(org_a.organisation, "Je Tag")
    for name in ("a", "b", "c", "d"):
        b.line(name)

    def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)

    b.reading("a", 1365, created_at=at(1, 10))
    b.reading("b", 1365, created_at=at(1, 11))
    b.reading("b", 1366, source=ReadingSource.PHONE, created_at=at(3, 23, 30))  # a correction
    b.reading("c", 1365, source=ReadingSource.ESTIMATE, created_at=at(3, 12))  # not received
    b.reading("d", 1365, source=ReadingSource.LETTER, created_at=at(4, 0, 30))  # 23:30 UTC
    with organisation_scope(org_a.organisation):
        daily = daily_readings(b.campaign)
        latest = daily_readings(b.campaign, max_days=2)
    assert daily.days == [
        DayCount(datetime.date(2026, 12, 1), online=2, staff=0),
        DayCount(datetime.date(2026, 12, 2), online=0, staff=0),
        DayCount(datetime.date(2026, 12, 3), online=0, staff=1),
        DayCount(datetime.date(2026, 12, 4), online=0, staff=1),
    ]
    assert (daily.total, daily.busiest, daily.cut) == (4, 2, False)
    assert [day.day.day for day in latest.days] == [3, 4]
    assert latest.cut


@pytest.mark.django_db
def test_no_readings_no_days(org_a: OrgData) -> None:
    b = Builder.campaign_of(org_a.organisation, "Still")
    b.line("a")
    with organisation_scope(org_a.organisation):
        daily = daily_readings(b.campaign)
    assert (daily.days, daily.total, daily.busiest, daily.cut) == ([], 0, 0, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "today", "phase", "left", "until_start"),
    [
        (CampaignStatus.DRAFT, datetime.date(2026, 12, 5), "none", None, None),
        (CampaignStatus.OPEN, datetime.date(2026, 11, 28), "before", None, 3),
        (CampaignStatus.OPEN, datetime.date(2026, 12, 1), "running", 45, None),
        (CampaignStatus.OPEN, datetime.date(2027, 1, 14), "running", 1, None),
        (CampaignStatus.OPEN, datetime.date(2027, 1, 15), "running", 0, None),
        (CampaignStatus.OPEN, datetime.date(2027, 1, 16), "ended", None, None),
        (CampaignStatus.CLOSED, datetime.date(2027, 1, 5), "closed", None, None),
        (CampaignStatus.EXPORTED, datetime.date(2027, 1, 5), "closed", None, None),
    ],
)
def test_days_until_the_end_of_the_online_window(
    org_a: OrgData,
    status: str,
    today: datetime.date,
    phase: str,
    left: int | None,
    until_start: int | None,
) -> None:
    campaign = Builder.campaign_of(org_a.organisation, "Fenster", status=status).campaign
    state = window_state(campaign, today)
    assert (state.phase, state.days_left, state.days_until_start) == (phase, left, until_start)


@pytest.mark.django_db
def test_an_open_campaign_without_an_end_is_running(org_a: OrgData) -> None:
    campaign = Builder.campaign_of(
        org_a.organisation, "Ohne Ende", status=CampaignStatus.OPEN, online_until=None
    ).campaign
    state = window_state(campaign, datetime.date(2030, 1, 1))
    assert (state.phase, state.days_left) == ("running", None)


def test_figures_without_registers_have_no_share() -> None:
    assert CampaignFigures().reported_percent == 0
    assert CampaignFigures(registers=3, with_reading=3, estimated=1).reported_percent == 66
    assert Decimal(CampaignFigures(registers=4, with_reading=4).reported_percent) == 100
