"""What every citizen page after access shares: the session check, lines of a property, context."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

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
from ablesung.core.services.history import HistoryPoint, chart_bars
from ablesung.core.services.readings import citizen_may_change, unit_for
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


def property_lines(access: PortalAccess, meter_id: int | None = None) -> list[CampaignMeter]:
    """The property's registers in this campaign, with meter, campaign and organisation set."""
    registers = property_registers(access.property)
    if meter_id is not None:
        registers = registers.filter(meter_id=meter_id)
    lines = list(
        CampaignMeter.objects.filter(campaign=access.campaign, register__in=registers)
        .defer("raw_row")
        .select_related("register__meter")
        .order_by("register__meter__number", "register__code")
    )
    for line in lines:
        line.campaign = access.campaign  # already loaded with its organisation
    return lines


def line_views(lines: list[CampaignMeter]) -> list[LineView]:
    """One query for the effective readings of all lines."""
    today = timezone.localdate()
    current: dict[int, Reading] = {}
    if lines:
        readings = Reading.objects.filter(
            campaign_id=lines[0].campaign_id,
            register_id__in=[line.register_id for line in lines],
            superseded_by__isnull=True,
        ).order_by("created_at", "id")
        current = {reading.register_id: reading for reading in readings}  # newest wins
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
