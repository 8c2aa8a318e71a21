"""Consumption history of a register: what the citizen sees as a small chart and table."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.db import connection

from ablesung.core.models import Campaign, CampaignMeter, Reading
from ablesung.lib.model_rows import Part, RowShape, table

MAX_YEARS = 5

# On every meter page, so the SQL is written out once (see ablesung.lib.model_rows).
_LINES = RowShape(
    Part(CampaignMeter, "cm", defer=("raw_row",)), Part(Campaign, "c", parent="cm", via="campaign")
)


@cache
def _lines_sql() -> str:
    """The register's lines in live campaigns up to a key date, oldest first."""
    cm, c = table(CampaignMeter, "cm"), table(Campaign, "c")
    return (
        f"FROM {cm} JOIN {c} ON c.id = cm.campaign_id WHERE cm.organisation_id = %s "
        "AND cm.register_id = %s AND c.deleted_at IS NULL AND c.key_date <= %s "
        "ORDER BY c.key_date, cm.campaign_id"
    )


def _date(value: datetime.date) -> object:
    return connection.ops.adapt_datefield_value(value)


@dataclass(frozen=True)
class HistoryPoint:
    label: str  # the year the consumption belongs to
    value: Decimal
    current: bool = False  # from this campaign's reading


def consumption_history(
    line: CampaignMeter, effective: Reading | None, lines: list[CampaignMeter] | None = None
) -> list[HistoryPoint]:
    """The consumption of the last years, oldest first.

    Every campaign that lists this register brings the previous-year consumption
    from the billing system (the year before its key date). This campaign's own
    reading adds the current period (value minus the previous reading), when that
    is not negative. ``lines``: the register's lines in live campaigns up to this
    campaign's key date, oldest first, with their campaigns, if the caller has read
    them already (the portal's meter page reads them with its own lines).
    """
    if lines is None:
        lines = _LINES.fetch(
            CampaignMeter,
            _lines_sql(),
            [line.organisation_id, line.register_id, _date(line.campaign.key_date)],
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
