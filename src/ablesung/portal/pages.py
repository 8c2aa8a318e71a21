"""What every citizen page after access shares: the session check, lines of a property, context."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.db.models import QuerySet
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ablesung import plausibility as engine
from ablesung.core.language import engine_language
from ablesung.core.models import (
    CampaignMeter,
    ConfirmationReason,
    Meter,
    Reading,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import PortalAccess, property_registers
from ablesung.core.services.actor import Actor
from ablesung.core.services.history import HistoryPoint
from ablesung.core.services.readings import (
    citizen_may_change,
    joined_effective,
    unit_for,
    with_effective,
)
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


def property_lines_query(
    access: PortalAccess, meter_id: int | None = None
) -> "QuerySet[CampaignMeter]":
    """The campaign-meter rows of the property's live meters (or of one of them) in this
    campaign: what a citizen may see and write. The property's registers come from a
    subquery, so that the lookup goes through the (campaign, register) index."""
    registers = property_registers(access.property)
    if meter_id is not None:
        registers = registers.filter(meter_id=meter_id)
    return CampaignMeter.objects.filter(campaign=access.campaign, register__in=registers)


def property_lines(access: PortalAccess, meter_id: int | None = None) -> list[CampaignMeter]:
    """The property's registers in this campaign, with meter, campaign, organisation and
    effective reading (``effective_reading``) set, ordered by meter number and register:
    one query."""
    lines = list(
        with_effective(property_lines_query(access, meter_id))
        .select_related("register__meter")
        .defer("raw_row")
        .order_by("register__meter__number", "register__code")
    )
    for line in lines:
        line.campaign = access.campaign  # already loaded with its organisation
    return lines


@dataclass
class MeterLines:
    """What the meter page shows (see :func:`meter_lines`)."""

    lines: list[CampaignMeter]  # as property_lines(access, meter_id)
    history: dict[int, list[CampaignMeter]]  # by register: what consumption_history reads


def meter_lines(access: PortalAccess, meter_id: int) -> MeterLines:
    """``property_lines(access, meter_id)`` with their effective readings, and their
    history (the same registers' lines in live campaigns up to this key date, oldest
    first, with their campaigns): the meter page shows all of it; one query."""
    registers = property_registers(access.property).filter(meter_id=meter_id)
    rows = (
        with_effective(
            CampaignMeter.objects.filter(
                register__in=registers,
                campaign__deleted_at__isnull=True,
                campaign__key_date__lte=access.campaign.key_date,
            )
        )
        .select_related("campaign", "register__meter")
        .defer("raw_row")
        .order_by("register__meter__number", "register__code", "campaign__key_date", "campaign_id")
    )
    found = MeterLines([], {})
    for row in rows:
        if row.campaign_id == access.campaign.pk:
            row.campaign = access.campaign  # already loaded with its organisation
            found.lines.append(row)
        found.history.setdefault(row.register_id, []).append(row)
    return found


def line_views(lines: list[CampaignMeter]) -> list[LineView]:
    """The lines (read with their effective readings, see :func:`property_lines`) as the
    portal shows them."""
    today = timezone.localdate()
    current = joined_effective(lines)
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
