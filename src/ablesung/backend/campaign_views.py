"""Opening (and reopening), closing and the online window of a campaign, from its
dashboard (POST only, no JS needed).

Every endpoint answers with a redirect to the campaign page and says what happened (or why
nothing happened) as a message in German; the forms on the page need "manage_campaigns".
Putting a campaign into the trash is the trash's endpoint, for admins only
("delete_campaign").
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ablesung.core.form_rendering import DATE_INPUT_FORMATS
from ablesung.core.models import Campaign, CampaignStatus
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.campaign import (
    CampaignRefused,
    do_close_campaign,
    do_open_campaign,
    do_update_campaign_window,
)


class OpenCampaignForm(forms.Form):
    """The online window (names as in the template on the campaign page)."""

    online_from = forms.DateField(
        label=gettext_lazy("Online-Erfassung ab"),
        input_formats=DATE_INPUT_FORMATS,
        error_messages={
            "required": gettext_lazy("Bitte geben Sie den Beginn des Erfassungszeitraums an."),
            "invalid": gettext_lazy("Bitte geben Sie den Beginn als Datum an, z. B. 01.12.2026."),
        },
    )
    online_until = forms.DateField(
        label=gettext_lazy("Online-Erfassung bis"),
        input_formats=DATE_INPUT_FORMATS,
        error_messages={
            "required": gettext_lazy("Bitte geben Sie das Ende des Erfassungszeitraums an."),
            "invalid": gettext_lazy("Bitte geben Sie das Ende als Datum an, z. B. 15.01.2027."),
        },
    )


def _window_form(request: OrgRequest) -> OpenCampaignForm | None:
    """The window from the POST, or ``None`` after the form's errors became messages."""
    form = OpenCampaignForm(request.POST)
    if form.is_valid():
        return form
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return None


def _back(campaign: Campaign, org: str) -> HttpResponse:
    return redirect("backend:campaign_detail", org=org, campaign_id=campaign.pk)


def _refused(request: OrgRequest, exc: CampaignRefused) -> None:
    for message in exc.messages:
        messages.error(request, message)


@require_POST
@never_cache
@login_required
@require_permission("manage_campaigns")
def open_campaign(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.all(), pk=campaign_id)
    form = _window_form(request)
    if form is None:
        return _back(campaign, org)
    reopening = campaign.status == CampaignStatus.CLOSED
    try:
        opened = do_open_campaign(
            campaign,
            online_from=form.cleaned_data["online_from"],
            online_until=form.cleaned_data["online_until"],
            actor=Actor.from_request(request),
        )
    except CampaignRefused as exc:
        _refused(request, exc)
    else:
        if opened and reopening:
            messages.success(request, _("Die Ableseaktion ist wieder geöffnet."))
        elif opened:
            messages.success(request, _("Die Ableseaktion ist geöffnet."))
        else:
            messages.info(
                request, _("Die Ableseaktion war bereits geöffnet; es wurde nichts geändert.")
            )
    return _back(campaign, org)


@require_POST
@never_cache
@login_required
@require_permission("manage_campaigns")
def close_campaign(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.all(), pk=campaign_id)
    try:
        closed = do_close_campaign(campaign, actor=Actor.from_request(request))
    except CampaignRefused as exc:
        _refused(request, exc)
    else:
        if closed:
            messages.success(request, _("Die Ableseaktion ist geschlossen."))
        else:
            messages.info(
                request, _("Die Ableseaktion war bereits geschlossen; es wurde nichts geändert.")
            )
    return _back(campaign, org)


@require_POST
@never_cache
@login_required
@require_permission("manage_campaigns")
def update_window(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    """A new online window for a draft or open campaign; the status stays."""
    campaign = get_object_or_404(Campaign.objects.all(), pk=campaign_id)
    form = _window_form(request)
    if form is None:
        return _back(campaign, org)
    try:
        changed = do_update_campaign_window(
            campaign,
            online_from=form.cleaned_data["online_from"],
            online_until=form.cleaned_data["online_until"],
            actor=Actor.from_request(request),
        )
    except CampaignRefused as exc:
        _refused(request, exc)
    else:
        if changed:
            messages.success(request, _("Der Erfassungszeitraum ist gespeichert."))
        else:
            messages.info(
                request, _("Der Erfassungszeitraum war bereits so; es wurde nichts geändert.")
            )
    return _back(campaign, org)
