"""Key figures of campaigns for the dashboard and the campaign list.

Every figure is an aggregate query (``COUNT … FILTER`` / ``CASE``) over the campaign's
lines or effective readings, grouped by campaign, so the cost does not grow with Python
work per meter: one query for the lines, one for the effective readings, one for the open
citizen messages, whatever the number of campaigns or meters. Counts are per register
(a line of the campaign: dual-tariff meters have two) of live meters on live properties,
the same rows the campaign's meter table shows.

* **reported** = registers with an effective reading that is not an estimate:
  **online** (the citizen) + **captured** (by staff: reading card, phone, in person, on
  site, or with the import);
* **estimated**: the effective reading is an estimate (automatic or manual);
* **missing**: no effective reading at all;
* **warning**: the effective reading's plausibility outcome is a warning (any state);
* **implausible**: the effective reading is implausible (or has an error) and waits for
  review (state "Eingegangen"; reviewed or released ones are no longer waiting);
* **released**: released for billing;
* **control requested**: a clerk asked for a control reading.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from ablesung.core.models import (
    ESTIMATE_SOURCES,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    CitizenMessage,
    ImportBatch,
    Outcome,
    Reading,
    ReadingSource,
    ReleaseRun,
    ReviewState,
)

#: the chart and table of readings per day cover at most this many days (the latest ones)
MAX_DAYS = 92

_LIVE_LINE = Q(
    register__meter__deleted_at__isnull=True,
    register__meter__property__deleted_at__isnull=True,
)


@dataclass(frozen=True)
class CampaignFigures:
    """The key figures of one campaign (see the module's docstring)."""

    registers: int = 0
    meters: int = 0
    with_reading: int = 0
    online: int = 0
    estimated: int = 0
    warning: int = 0
    implausible: int = 0
    released: int = 0
    control_requested: int = 0
    open_messages: int = 0

    @property
    def captured(self) -> int:
        return self.with_reading - self.online - self.estimated

    @property
    def reported(self) -> int:
        return self.with_reading - self.estimated

    @property
    def missing(self) -> int:
        return self.registers - self.with_reading

    @property
    def reported_percent(self) -> int:
        """Share of registers with a reported (not estimated) reading, rounded down."""
        return self.reported * 100 // self.registers if self.registers else 0


def live_lines(campaign_ids: Iterable[int]) -> "QuerySet[CampaignMeter]":
    """The campaigns' lines of live meters on live properties (in the organisation scope)."""
    return CampaignMeter.objects.filter(_LIVE_LINE, campaign_id__in=list(campaign_ids))


def effective_of_live_lines(campaign_ids: Iterable[int]) -> "QuerySet[Reading]":
    """The effective readings of :func:`live_lines`."""
    return Reading.objects.filter(_LIVE_LINE, campaign_id__in=list(campaign_ids), is_effective=True)


def campaign_figures(campaign_ids: Iterable[int]) -> dict[int, CampaignFigures]:
    """Key figures by campaign id, in three queries (call it in the organisation scope)."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    lines: dict[int, dict[str, Any]] = {
        row["campaign_id"]: dict(row)
        for row in live_lines(ids)
        .values("campaign_id")
        .annotate(
            registers=Count("pk"),
            meters=Count("register__meter", distinct=True),
            control=Count("pk", filter=Q(control_requested_at__isnull=False)),
        )
        .order_by()
    }
    readings: dict[int, dict[str, Any]] = {
        row["campaign_id"]: dict(row)
        for row in effective_of_live_lines(ids)
        .values("campaign_id")
        .annotate(
            total=Count("pk"),
            online=Count("pk", filter=Q(source=ReadingSource.ONLINE)),
            estimated=Count("pk", filter=Q(source__in=ESTIMATE_SOURCES)),
            warning=Count("pk", filter=Q(outcome=Outcome.WARNING)),
            implausible=Count(
                "pk",
                filter=Q(
                    outcome__in=(Outcome.IMPLAUSIBLE, Outcome.ERROR), state=ReviewState.SUBMITTED
                ),
            ),
            released=Count("pk", filter=Q(state=ReviewState.RELEASED)),
        )
        .order_by()
    }
    messages = dict(
        CitizenMessage.objects.filter(campaign_id__in=ids, handled_at__isnull=True)
        .values("campaign_id")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("campaign_id", "count")
    )
    figures = {}
    for campaign_id in ids:
        line = lines.get(campaign_id, {})
        reading = readings.get(campaign_id, {})
        figures[campaign_id] = CampaignFigures(
            registers=line.get("registers", 0),
            meters=line.get("meters", 0),
            with_reading=reading.get("total", 0),
            online=reading.get("online", 0),
            estimated=reading.get("estimated", 0),
            warning=reading.get("warning", 0),
            implausible=reading.get("implausible", 0),
            released=reading.get("released", 0),
            control_requested=line.get("control", 0),
            open_messages=messages.get(campaign_id, 0),
        )
    return figures


# --- readings per day ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    """Readings received on one day (every version, estimates excluded)."""

    day: datetime.date
    online: int
    staff: int

    @property
    def total(self) -> int:
        return self.online + self.staff


@dataclass(frozen=True)
class DailyReadings:
    days: list[DayCount]
    #: earlier days were left out (only the latest ``MAX_DAYS`` are shown)
    cut: bool

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def busiest(self) -> int:
        return max((day.total for day in self.days), default=0)


def daily_readings(campaign: Campaign, *, max_days: int = MAX_DAYS) -> DailyReadings:
    """Readings received per day (local date of arrival), one query; the days between the
    first and the last day with readings are filled with zeros. Every version counts (a
    correction is a reading received); estimates are computed, not received, and do not."""
    rows = (
        Reading.objects.filter(_LIVE_LINE, campaign_id=campaign.pk)
        .exclude(source__in=ESTIMATE_SOURCES)
        .annotate(day=TruncDate("created_at"))  # the local date (TIME_ZONE)
        .values("day")
        .annotate(
            total=Count("pk"),
            online=Count("pk", filter=Q(source=ReadingSource.ONLINE)),
        )
        .order_by("day")
    )
    found = {row["day"]: (row["online"], row["total"] - row["online"]) for row in rows}
    if not found:
        return DailyReadings([], cut=False)
    first, last = min(found), max(found)
    start = max(first, last - datetime.timedelta(days=max_days - 1))
    days = []
    day = start
    while day <= last:
        online, staff = found.get(day, (0, 0))
        days.append(DayCount(day, online, staff))
        day += datetime.timedelta(days=1)
    return DailyReadings(days, cut=start > first)


# --- the online window ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowState:
    """Where the campaign stands in its online window, for people."""

    #: "none" (no window), "before", "running", "ended", "closed" (status not open)
    phase: str
    days_left: int | None = None  # running: whole days after today until the end
    days_until_start: int | None = None  # before: days until it starts


def window_state(campaign: Campaign, today: datetime.date) -> WindowState:
    if campaign.status != CampaignStatus.OPEN:
        return WindowState("closed" if campaign.status != CampaignStatus.DRAFT else "none")
    if campaign.online_from and today < campaign.online_from:
        return WindowState("before", days_until_start=(campaign.online_from - today).days)
    if campaign.online_until is None:
        return WindowState("running")
    if today > campaign.online_until:
        return WindowState("ended")
    return WindowState("running", days_left=(campaign.online_until - today).days)


# --- the last import and the release runs --------------------------------------------------------


def last_import(campaign: Campaign) -> ImportBatch | None:
    batch: ImportBatch | None = (
        ImportBatch.objects.filter(campaign=campaign)
        .defer("profile", "layout")
        .order_by("-created_at", "-id")
        .first()
    )
    return batch


def recent_release_runs(campaign: Campaign, limit: int = 5) -> list[ReleaseRun]:
    return list(ReleaseRun.objects.filter(campaign=campaign).order_by("-created_at", "-id")[:limit])
