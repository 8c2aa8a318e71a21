"""What every citizen page after access shares: the session check, lines of a property, context."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, wraps
from typing import Any

from django.db import connection
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ablesung import plausibility as engine
from ablesung.core.language import engine_language
from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    ConfirmationReason,
    Meter,
    Reading,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import PortalAccess
from ablesung.core.services.actor import Actor
from ablesung.core.services.history import HistoryPoint, chart_bars
from ablesung.core.services.readings import citizen_may_change, effective_readings, unit_for
from ablesung.lib.model_rows import Part, RowShape, table
from ablesung.lib.net import client_ip
from ablesung.portal.access_views import window_page
from ablesung.portal.forms import reason_field, reason_text_field, value_field
from ablesung.portal.session import current_access


def portal_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Needs an open portal session for an online campaign; runs in its organisation's scope."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access = current_access(request)
        if access is None:
            return HttpResponseRedirect(reverse("portal:access"))
        closed = window_page(request, access)
        if closed is not None:
            return closed
        request.portal_access = access  # type: ignore[attr-defined]
        with organisation_scope(access.organisation):
            return view(request, *args, **kwargs)

    return never_cache(wrapper)


@dataclass
class LineView:
    """One register on a portal page: its current reading and what the check says."""

    line: CampaignMeter
    effective: Reading | None
    may_change: bool
    result: engine.CheckResult | None = None
    submitted_reason: str = ""
    submitted_reason_text: str = ""
    history: list[HistoryPoint] = field(default_factory=list)
    field: BoundField | None = None  # the value input, on the meter form

    @property
    def value_name(self) -> str:
        return value_field(self.line)

    @property
    def reason_name(self) -> str:
        return reason_field(self.line)

    @property
    def reason_text_name(self) -> str:
        return reason_text_field(self.line)

    @property
    def unit(self) -> str:
        return unit_for(self.line.register.meter.kind)

    @property
    def released(self) -> bool:
        return self.effective is not None and self.effective.state == ReviewState.RELEASED

    @property
    def feedback(self) -> list[str]:
        return self.result.messages(engine_language()) if self.result is not None else []

    @property
    def reasons(self) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in ConfirmationReason.choices]

    @property
    def bars(self) -> list[Any]:
        return chart_bars(self.history)


# The lines are read on every portal page, so their SQL is written out once (see
# ablesung.lib.model_rows); a test compares it with the ORM query it stands for.
_LINE = RowShape(
    Part(CampaignMeter, "cm", defer=("raw_row",)),
    Part(Register, "r", parent="cm", via="register"),
    Part(Meter, "m", parent="r", via="meter"),
)


@cache
def _lines_sql(one_meter: bool, lock: bool = False) -> str:
    """The lines' ``FROM … ORDER BY``; the property's live registers come from a subquery,
    so that the lookup goes through the (campaign, register) index (joining from the
    campaign side scans the campaign). ``lock``: PostgreSQL locks the campaign-meter rows
    only (as the readings service does for one line); SQLite's write transaction is the
    lock."""
    cm, r, m = table(CampaignMeter, "cm"), table(Register, "r"), table(Meter, "m")
    r2, m2 = table(Register, "r2"), table(Meter, "m2")
    # only table names from the models and constants; values go in as parameters
    return (
        f"FROM {cm} JOIN {r} ON r.id = cm.register_id JOIN {m} ON m.id = r.meter_id "  # noqa: S608
        "WHERE cm.organisation_id = %s AND cm.campaign_id = %s AND cm.register_id IN ("
        f"SELECT r2.id FROM {r2} JOIN {m2} ON m2.id = r2.meter_id "
        "WHERE r2.organisation_id = %s AND m2.property_id = %s AND m2.deleted_at IS NULL"
        f"{' AND r2.meter_id = %s' if one_meter else ''}) ORDER BY m.number, r.code"
        f"{' FOR UPDATE OF cm' if lock and connection.features.has_select_for_update_of else ''}"
    )


def property_lines(
    access: PortalAccess, meter_id: int | None = None, *, lock: bool = False
) -> list[CampaignMeter]:
    """The property's registers in this campaign, with meter, campaign and organisation set.

    ``lock``: locked until the caller's transaction ends, in the order of the lines (so two
    writers of one meter cannot deadlock); read the effective readings after this, under
    the lock, and store with ``readings.record_locked``."""
    org = access.organisation.pk
    params: list[object] = [org, access.campaign.pk, org, access.property.pk]
    if meter_id is not None:
        params.append(meter_id)
    if lock and not connection.in_atomic_block:
        raise RuntimeError("locked lines need a transaction")
    lines = _LINE.fetch(CampaignMeter, _lines_sql(meter_id is not None, lock), params)
    for line in lines:
        line.campaign = access.campaign  # already loaded with its organisation
    return lines


_LINE_IN_CAMPAIGN = RowShape(
    Part(CampaignMeter, "cm", defer=("raw_row",)),
    Part(Campaign, "c", parent="cm", via="campaign"),
    Part(Register, "r", parent="cm", via="register"),
    Part(Meter, "m", parent="r", via="meter"),
)


@cache
def _meter_lines_sql() -> str:
    """A meter's lines in every live campaign up to a key date: this campaign's lines and
    their history (``history.consumption_history``), in one query."""
    cm, c, r, m = (
        table(CampaignMeter, "cm"),
        table(Campaign, "c"),
        table(Register, "r"),
        table(Meter, "m"),
    )
    r2, m2 = table(Register, "r2"), table(Meter, "m2")
    # only table names from the models; values go in as parameters
    return (
        f"FROM {cm} JOIN {c} ON c.id = cm.campaign_id JOIN {r} ON r.id = cm.register_id "  # noqa: S608
        f"JOIN {m} ON m.id = r.meter_id "
        "WHERE cm.organisation_id = %s AND c.deleted_at IS NULL AND c.key_date <= %s "
        f"AND cm.register_id IN (SELECT r2.id FROM {r2} JOIN {m2} ON m2.id = r2.meter_id "
        "WHERE r2.organisation_id = %s AND m2.property_id = %s AND m2.deleted_at IS NULL "
        "AND r2.meter_id = %s) ORDER BY m.number, r.code, c.key_date, cm.campaign_id"
    )


def meter_lines(
    access: PortalAccess, meter_id: int
) -> tuple[list[CampaignMeter], dict[int, list[CampaignMeter]]]:
    """``property_lines(access, meter_id)`` and, by register, the lines that
    ``consumption_history`` needs (live campaigns up to this key date, oldest first),
    read together: the meter page shows both."""
    org, campaign = access.organisation.pk, access.campaign
    rows = _LINE_IN_CAMPAIGN.fetch(
        CampaignMeter,
        _meter_lines_sql(),
        [
            org,
            connection.ops.adapt_datefield_value(campaign.key_date),
            org,
            access.property.pk,
            meter_id,
        ],
    )
    lines: list[CampaignMeter] = []
    by_register: dict[int, list[CampaignMeter]] = {}
    for row in rows:
        if row.campaign_id == campaign.pk:
            row.campaign = campaign  # already loaded with its organisation
            lines.append(row)
        by_register.setdefault(row.register_id, []).append(row)
    return lines, by_register


def line_views(lines: list[CampaignMeter]) -> list[LineView]:
    """One query for the effective readings of all lines."""
    today = timezone.localdate()
    current = effective_readings(lines)
    views = [LineView(line, current.get(line.register_id), False) for line in lines]
    for view in views:
        view.may_change = citizen_may_change(view.line, view.effective, today)
    return views


def meters_of(views: list[LineView]) -> list[tuple[Meter, list[LineView]]]:
    grouped: dict[int, tuple[Meter, list[LineView]]] = {}
    for view in views:
        meter = view.line.register.meter
        grouped.setdefault(meter.pk, (meter, []))[1].append(view)
    return list(grouped.values())


def page_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    return {
        "access": access,
        "portal_organisation": access.organisation,
        "campaign": access.campaign,
        "property": access.property,
        **extra,
    }


def citizen_actor(request: HttpRequest) -> Actor:
    """Who writes from the portal: the property's session, with the client IP."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    return Actor(user=None, label=f"portal:{access.property.pk}", ip=client_ip(request))
