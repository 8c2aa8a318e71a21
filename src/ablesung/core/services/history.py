"""Consumption history of a register: what the citizen sees as a small chart and table."""

from dataclasses import dataclass
from decimal import Decimal

from ablesung.core.models import CampaignMeter, Reading

MAX_YEARS = 5


@dataclass(frozen=True)
class HistoryPoint:
    label: str  # the year the consumption belongs to
    value: Decimal
    current: bool = False  # from this campaign's reading


def consumption_history(line: CampaignMeter, effective: Reading | None) -> list[HistoryPoint]:
    """The consumption of the last years, oldest first.

    Every campaign that lists this register brings the previous-year consumption
    from the billing system (the year before its key date). This campaign's own
    reading adds the current period (value minus the previous reading), when that
    is not negative.
    """
    lines = (
        CampaignMeter.objects.filter(
            register_id=line.register_id,
            campaign__deleted_at__isnull=True,
            campaign__key_date__lte=line.campaign.key_date,
        )
        .select_related("campaign")
        .order_by("campaign__key_date", "campaign_id")
    )
    by_year: dict[int, HistoryPoint] = {}
    for other in lines:
        if other.previous_year_consumption is not None:
            year = other.campaign.key_date.year - 1
            by_year[year] = HistoryPoint(str(year), other.previous_year_consumption)
    if effective is not None and line.previous_value is not None:
        consumption = effective.value - line.previous_value
        if consumption >= 0:
            year = line.campaign.key_date.year
            by_year[year] = HistoryPoint(str(year), consumption, current=True)
    return [by_year[year] for year in sorted(by_year)[-MAX_YEARS:]]


@dataclass(frozen=True)
class Bar:
    point: HistoryPoint
    x: int
    y: int
    height: int
    width: int


def chart_bars(points: list[HistoryPoint], *, height: int = 120, bar: int = 40) -> list[Bar]:
    """Bar geometry for the inline SVG chart (pure arithmetic; the template draws)."""
    top = max((point.value for point in points), default=Decimal(0))
    bars = []
    for index, point in enumerate(points):
        scaled = int(point.value * height / top) if top > 0 else 0
        bars.append(
            Bar(point, x=10 + index * (bar + 20), y=10 + height - scaled, height=scaled, width=bar)
        )
    return bars
