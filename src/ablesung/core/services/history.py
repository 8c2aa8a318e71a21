"""Consumption history of a register: what the citizen sees as a small chart and table."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from ablesung.core.models import CampaignMeter, Reading

MAX_YEARS = 5


def register_lines(register_ids: list[int], key_date: datetime.date) -> "QuerySet[CampaignMeter]":
    """The registers' lines in live campaigns up to ``key_date``, oldest first, with their
    campaigns: where the consumption history comes from."""
    return (
        CampaignMeter.objects.filter(
            register_id__in=register_ids,
            campaign__deleted_at__isnull=True,
            campaign__key_date__lte=key_date,
        )
        .select_related("campaign")
        .defer("raw_row")
        .order_by("campaign__key_date", "campaign_id")
    )


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
        lines = list(register_lines([line.register_id], line.campaign.key_date))
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
