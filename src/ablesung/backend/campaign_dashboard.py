"""The campaign list and the campaign dashboard (Ableseaktion): key figures, readings per
day, the online window, the last import, release runs, and the actions the status allows.

Reads only: the figures come from :mod:`ablesung.core.services.campaign_stats` in a few
aggregate queries, whatever the number of meters. Links to pages of other parts of the
backend carry the campaign in their query string.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ablesung.backend.daily_chart import daily_chart
from ablesung.core.models import Campaign, CampaignMeter, CampaignStatus, Outcome
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.campaign_stats import (
    campaign_figures,
    daily_readings,
    last_import,
    recent_release_runs,
    window_state,
)
from ablesung.core.services.meter_import import IMPORTABLE
from ablesung.exports.models import ExportRun
from ablesung.exports.services import failed_export_mails

PAGE_SIZE = 50
#: the meter list's query parameters for a campaign's filtered lists (backend:meter_list)
METER_FILTERS: dict[str, dict[str, str]] = {
    "all": {},
    "missing": {"ohne_ablesung": "1"},
    "warning": {"ergebnis": Outcome.WARNING},
    "implausible": {"ergebnis": Outcome.IMPLAUSIBLE},
    "control": {"kontrollablesung": "1"},
}


def url_with_query(name: str, query: dict[str, str] | None = None, **kwargs: Any) -> str:
    """The URL of route ``name`` with ``query`` as its query string."""
    url = reverse(name, kwargs=kwargs)
    return f"{url}?{urlencode(query)}" if query else url


def campaign_links(org: str, campaign: Campaign) -> dict[str, str]:
    """The dashboard's links to the work on this campaign."""
    ids: dict[str, Any] = {"org": org, "campaign_id": campaign.pk}
    links: dict[str, str] = {
        "capture": url_with_query("backend:capture", **ids),
        "review": url_with_query("backend:review_queue", **ids),
        "release": url_with_query("backend:release", **ids),
        "estimates": url_with_query("backend:estimates", **ids),
        "inbox": url_with_query("backend:inbox", {"ableseaktion": str(campaign.pk)}, org=org),
    }
    for key, query in METER_FILTERS.items():
        links[f"meters_{key}"] = url_with_query(
            "backend:meter_list", {"ableseaktion": str(campaign.pk), **query}, org=org
        )
    return links


@require_GET
@never_cache
@login_required
@require_permission("view")
def dashboard(request: OrgRequest, org: str) -> HttpResponse:
    """Every campaign with its key figures and open messages (a few queries in all)."""
    campaigns = list(Campaign.objects.order_by("-key_date", "name"))
    figures = campaign_figures(campaign.pk for campaign in campaigns)
    today = timezone.localdate()
    rows = [
        {
            "campaign": campaign,
            "figures": figures[campaign.pk],
            "window": window_state(campaign, today),
        }
        for campaign in campaigns
    ]
    return render(request, "backend/dashboard.html", {"rows": rows})


@require_GET
@never_cache
@login_required
@require_permission("view")
def campaign_detail(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.all(), pk=campaign_id)
    today = timezone.localdate()
    daily = daily_readings(campaign)
    rows = (
        CampaignMeter.objects.filter(
            campaign=campaign,
            register__meter__deleted_at__isnull=True,
            register__meter__property__deleted_at__isnull=True,
        )
        .select_related("register__meter__property")
        .defer("raw_row")
        .order_by("row_number", "id")
    )
    figures = campaign_figures([campaign.pk])[campaign.pk]
    # the meter count is known: the paginator need not count the lines again
    paginator = Paginator(rows, PAGE_SIZE)
    paginator.count = figures.registers  # type: ignore[misc]
    context = {
        "campaign": campaign,
        "figures": figures,
        "daily": daily,
        "chart": daily_chart([(day.day, day.total) for day in daily.days]),
        "window": window_state(campaign, today),
        "last_import": last_import(campaign),
        "release_runs": recent_release_runs(campaign),
        "last_export": ExportRun.objects.filter(campaign=campaign).order_by("-number").first(),
        "failed_export_mails": failed_export_mails(campaign),
        "links": campaign_links(org, campaign),
        "page": paginator.get_page(request.GET.get("seite")),
        "importable": campaign.status in IMPORTABLE,
        "statuses": CampaignStatus,
        "today": today,
    }
    return render(request, "backend/campaign_detail.html", context)
