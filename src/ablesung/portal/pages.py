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
from ablesung.core.services.history import HistoryPoint
from ablesung.core.services.readings import (
    citizen_may_change,
    effective_reading_id_sql,
    effective_readings,
    unit_for,
)
from ablesung.lib.model_rows import Part, RowShape, table
from ablesung.lib.net import client_ip
from ablesung.portal.access_views import window_page
from ablesung.portal.forms import reason_field, reason_text_field, value_field
from ablesung.portal.session import current_access, forget


def portal_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Needs an open portal session for an online campaign; runs in its organisation's scope."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access = current_access(request)
        if access is None:
            response = HttpResponseRedirect(reverse("portal:access"))
            forget(request, response)
            return response
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


# The lines are read on every portal page, so their SQL is written out once (see
# ablesung.lib.model_rows); a test compares it with the ORM query it stands for.
_LINE = RowShape(
    Part(CampaignMeter, "cm", defer=("raw_row",)),
    Part(Register, "r", parent="cm", via="register"),
    Part(Meter, "m", parent="r", via="meter"),
)


def _live_registers(one_meter: bool) -> str:
    """``IN (…)`` of the property's registers on live meters (and of one meter)."""
    r2, m2 = table(Register, "r2"), table(Meter, "m2")
    return (
        f"IN (SELECT r2.id FROM {r2} JOIN {m2} ON m2.id = r2.meter_id "  # noqa: S608
        "WHERE r2.organisation_id = %s AND m2.property_id = %s AND m2.deleted_at IS NULL"
        f"{' AND r2.meter_id = %s' if one_meter else ''})"
    )


@cache
def _lines_sql(one_meter: bool, lock: bool = False) -> str:
    """The lines' ``FROM … ORDER BY``; the property's live registers come from a subquery,
    so that the lookup goes through the (campaign, register) index (joining from the
    campaign side scans the campaign). ``lock``: PostgreSQL locks the campaign-meter rows
    only (as the readings service does for one line); SQLite's write transaction is the
    lock."""
    cm, r, m = table(CampaignMeter, "cm"), table(Register, "r"), table(Meter, "m")
    # only table names from the models and constants; values go in as parameters
    return (
        f"FROM {cm} JOIN {r} ON r.id = cm.register_id JOIN {m} ON m.id = r.meter_id "
        "WHERE cm.organisation_id = %s AND cm.campaign_id = %s "
        f"AND cm.register_id {_live_registers(one_meter)} ORDER BY m.number, r.code"
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


_EFFECTIVE = "effective_reading"  # attribute of a meter page's line: its effective reading
_LINE_IN_CAMPAIGN = RowShape(
    Part(CampaignMeter, "cm", defer=("raw_row",)),
    Part(Campaign, "c", parent="cm", via="campaign"),
    Part(Register, "r", parent="cm", via="register"),
    Part(Meter, "m", parent="r", via="meter"),
    Part(Reading, "rd", parent="cm", attribute=_EFFECTIVE),
)


@cache
def _meter_lines_sql() -> str:
    """A meter's lines in every live campaign up to a key date: this campaign's lines with
    their effective readings (as ``readings.effective_readings``: not superseded, not in the
    trash, the newest) and their history (``history.consumption_history``), in one query."""
    cm, c, r, m = (
        table(CampaignMeter, "cm"),
        table(Campaign, "c"),
        table(Register, "r"),
        table(Meter, "m"),
    )
    # only table names from the models; values go in as parameters
    return (
        f"FROM {cm} JOIN {c} ON c.id = cm.campaign_id JOIN {r} ON r.id = cm.register_id "
        f"JOIN {m} ON m.id = r.meter_id LEFT JOIN {table(Reading, 'rd')} "
        f"ON cm.campaign_id = %s AND rd.id = {effective_reading_id_sql('cm')} "
        "WHERE cm.organisation_id = %s AND c.deleted_at IS NULL AND c.key_date <= %s "
        f"AND cm.register_id {_live_registers(one_meter=True)} "
        "ORDER BY m.number, r.code, c.key_date, cm.campaign_id"
    )


@dataclass
class MeterLines:
    """What the meter page shows, read in one query (see :func:`meter_lines`)."""

    lines: list[CampaignMeter]  # as property_lines(access, meter_id)
    effective: dict[int, Reading]  # as readings.effective_readings(lines)
    history: dict[int, list[CampaignMeter]]  # by register: what consumption_history reads


def meter_lines(access: PortalAccess, meter_id: int) -> MeterLines:
    """``property_lines(access, meter_id)``, their effective readings and their history,
    read together: the meter page shows all three."""
    org, campaign = access.organisation.pk, access.campaign
    rows = _LINE_IN_CAMPAIGN.fetch(
        CampaignMeter,
        _meter_lines_sql(),
        [
            campaign.pk,
            org,
            connection.ops.adapt_datefield_value(campaign.key_date),
            org,
            access.property.pk,
            meter_id,
        ],
    )
    found = MeterLines([], {}, {})
    for row in rows:
        if row.campaign_id == campaign.pk:
            row.campaign = campaign  # already loaded with its organisation
            found.lines.append(row)
            effective = getattr(row, _EFFECTIVE)
            if effective is not None:
                found.effective[row.register_id] = effective
        found.history.setdefault(row.register_id, []).append(row)
    return found


def line_views(
    lines: list[CampaignMeter], effective: dict[int, Reading] | None = None
) -> list[LineView]:
    """One query for the effective readings of all lines, unless they were read with the
    lines (``effective``: by register id)."""
    today = timezone.localdate()
    current = effective_readings(lines) if effective is None else effective
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
