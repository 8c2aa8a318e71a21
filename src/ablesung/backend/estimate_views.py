"""Estimates (Schätzung) of a campaign: the summary, the preview with every input, storing
the automatic estimates, and a clerk's manual estimate for one register.

Everyone who may read sees the page and the preview; storing and manual estimates need
"estimate". The preview is paginated: a page computes the estimates of its own 50 lines
(the same pure function the store uses), the summary counts with aggregate queries.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ablesung.core.form_rendering import KERN_INPUT
from ablesung.core.models import Campaign, ReadingSource, ReviewState
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.estimates import (
    EstimatesRefused,
    candidate_lines,
    do_record_manual_estimate,
    do_store_estimates,
    estimate_refusal,
    manual_estimate_refusal,
    preview,
    summary,
)
from ablesung.core.services.estimates import estimate_line as find_line
from ablesung.core.services.readings import MAX_NOTE, ReadingRefused, effective_reading

PAGE_SIZE = 50
PREVIEW = "vorschau"


class ManualEstimateForm(forms.Form):
    value = forms.CharField(
        label=gettext_lazy("Geschätzter Zählerstand"),
        max_length=30,
        widget=forms.TextInput(attrs={**KERN_INPUT, "inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "required": gettext_lazy("Bitte geben Sie den geschätzten Zählerstand an.")
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Vermerk"),
        max_length=MAX_NOTE,
        widget=forms.Textarea(
            attrs={"class": "kern-form-input__input kern-form-input__textarea", "rows": 3}
        ),
        help_text=gettext_lazy(
            "Warum dieser Wert? Zum Beispiel: Angabe am Telefon, Zähler unzugänglich."
        ),
        error_messages={
            "required": gettext_lazy("Eine manuelle Schätzung braucht einen Vermerk."),
            "max_length": gettext_lazy("Der Vermerk darf höchstens 500 Zeichen lang sein."),
        },
    )
    #: the id of the effective reading the clerk saw (empty: none)
    seen = forms.IntegerField(required=False, widget=forms.HiddenInput)


def _campaign(campaign_id: int) -> Campaign:
    campaign: Campaign = get_object_or_404(
        Campaign.objects.select_related("organisation"), pk=campaign_id
    )
    return campaign


def _require_estimate(request: OrgRequest) -> None:
    if not has_permission(request, "estimate"):
        raise PermissionDenied


def _preview_url(org: str, campaign: Campaign) -> str:
    url = reverse("backend:estimates", kwargs={"org": org, "campaign_id": campaign.pk})
    return f"{url}?{PREVIEW}=1"


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def estimates(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    if request.method == "POST":
        _require_estimate(request)
        try:
            stored = do_store_estimates(
                campaign.pk, organisation=request.organisation, actor=Actor.from_request(request)
            )
        except EstimatesRefused as exc:
            messages.error(request, str(exc))
            return redirect("backend:estimates", org=org, campaign_id=campaign.pk)
        messages.success(
            request,
            _(
                "Schätzungen gespeichert: %(created)s neu, %(replaced)s neu berechnet, "
                "%(unchanged)s unverändert, %(not_possible)s nicht schätzbar."
            )
            % {
                "created": stored.created,
                "replaced": stored.replaced,
                "unchanged": stored.unchanged,
                "not_possible": stored.not_possible,
            },
        )
        return redirect(_preview_url(org, campaign))
    counts = summary(campaign)
    context: dict[str, Any] = {
        "campaign": campaign,
        "summary": counts,
        "refusal": estimate_refusal(campaign, timezone.localdate()),
        "showing": request.GET.get(PREVIEW) == "1",
        "page": None,
        "planned": [],
    }
    if context["showing"]:
        lines = (
            candidate_lines(campaign)
            .select_related("register__meter__property")
            .defer("raw_row")
            .order_by("row_number", "id")
        )
        paginator = Paginator(lines, PAGE_SIZE)
        paginator.count = counts.candidates  # type: ignore[misc]  # counted in the summary
        page = paginator.get_page(request.GET.get("seite"))
        rows = list(page.object_list)
        for line in rows:
            line.campaign = campaign
        context["page"] = page
        context["planned"] = preview(campaign, rows)
    return render(request, "backend/estimates.html", context)


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def estimate_line(
    request: OrgRequest, org: str, campaign_id: int, campaign_meter_id: int
) -> HttpResponse:
    """One register: its computed estimate with the inputs, and the manual estimate form."""
    campaign = _campaign(campaign_id)
    line = find_line(campaign, campaign_meter_id)
    if line is None:
        raise Http404
    current = effective_reading(line)
    form = ManualEstimateForm(initial={"seen": current.pk if current else None})
    status = 200
    if request.method == "POST":
        _require_estimate(request)
        data = request.POST.copy()
        form = ManualEstimateForm(data)
        if form.is_valid():
            try:
                do_record_manual_estimate(
                    campaign,
                    line.pk,
                    value=form.cleaned_data["value"],
                    note=form.cleaned_data["note"],
                    seen=form.cleaned_data["seen"],
                    organisation=request.organisation,
                    actor=Actor.from_request(request),
                )
            except ReadingRefused as exc:
                for message in exc.messages:
                    form.add_error(None, message)
                # the clerk now sees the current value; saving again replaces it knowingly
                current = effective_reading(line)
                data["seen"] = str(current.pk) if current else ""
            else:
                messages.success(
                    request,
                    _("Die manuelle Schätzung für Zähler %(meter)s ist gespeichert.")
                    % {"meter": line.register.meter.number},
                )
                return redirect(_preview_url(org, campaign))
        status = 400
    replaceable = (
        current is not None
        and current.source == ReadingSource.ESTIMATE
        and current.state != ReviewState.RELEASED
    )
    planned = preview(campaign, [line])[0] if current is None or replaceable else None
    context = {
        "campaign": campaign,
        "line": line,
        "meter": line.register.meter,
        "current": current,
        "planned": planned,
        "form": form,
        "refusal": estimate_refusal(campaign, timezone.localdate())
        or manual_estimate_refusal(current),
    }
    return render(request, "backend/estimates_line.html", context, status=status)
