"""Citizen access: the personal link, the typed access form, and the portal start page.

Every failure looks the same (one German message, same status, same page), is
counted for the rate limits, and neither the token nor the code is logged.
"""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ablesung.core import ratelimit
from ablesung.core.models import AccessGrant, CampaignMeter
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import (
    live_grant,
    normalise_meter_number,
    resolve_code,
    resolve_token,
)
from ablesung.lib.net import client_ip

SESSION_GRANT_KEY = "portal_grant"
NO_REFERRER = "no-referrer"


class AccessForm(forms.Form):
    code = forms.CharField(
        label=_("Zugangscode"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    meter_number = forms.CharField(
        label=_("Zählernummer"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _too_many(request: HttpRequest, seconds: int) -> HttpResponse:
    response = render(request, "portal/too_many.html", {"minutes": -(-seconds // 60)}, status=429)
    response["Retry-After"] = str(seconds)
    response["Referrer-Policy"] = NO_REFERRER
    return response


def _window_page(request: HttpRequest, grant: AccessGrant) -> HttpResponse | None:
    """The 'not possible now' page when the campaign is not online, else ``None``."""
    campaign = grant.campaign
    today = timezone.localdate()
    if campaign.is_online(today):
        return None
    over = campaign.online_until is not None and today > campaign.online_until
    context = {
        "campaign": campaign,
        "portal_organisation": grant.organisation,
        "over": over,
        "not_yet": campaign.online_from is not None and today < campaign.online_from,
    }
    response = render(request, "portal/window.html", context, status=410 if over else 200)
    response["Referrer-Policy"] = NO_REFERRER
    return response


def _open_session(request: HttpRequest, grant: AccessGrant) -> HttpResponse:
    request.session.pop(SESSION_GRANT_KEY, None)
    request.session.cycle_key()  # a new session id for the new access
    request.session[SESSION_GRANT_KEY] = grant.pk
    response = HttpResponseRedirect(reverse("portal:home"))
    response["Referrer-Policy"] = NO_REFERRER
    return response


@never_cache
@require_GET
def token_link(request: HttpRequest, token: str) -> HttpResponse:
    """``/r/<token>``: opens a fresh portal session and moves to a URL without the token."""
    ip = client_ip(request)
    wait = ratelimit.retry_after(ip=ip)
    if wait is not None:
        return _too_many(request, wait)
    grant = resolve_token(token)
    if grant is None:
        ratelimit.record_failure(ip=ip)
        response = render(request, "portal/link_invalid.html", status=404)
        response["Referrer-Policy"] = NO_REFERRER
        return response
    return _window_page(request, grant) or _open_session(request, grant)


@never_cache
@require_http_methods(["GET", "POST"])
def access_form(request: HttpRequest) -> HttpResponse:
    """``/zugang/``: access code plus meter number."""
    failed = False
    if request.method == "POST":
        form = AccessForm(request.POST)
        ip = client_ip(request)
        number = normalise_meter_number(request.POST.get("meter_number", ""))
        wait = ratelimit.retry_after(ip=ip, target=number or None)
        if wait is not None:
            return _too_many(request, wait)
        grant = None
        if form.is_valid():
            grant = resolve_code(form.cleaned_data["code"], form.cleaned_data["meter_number"])
        if grant is not None:
            return _window_page(request, grant) or _open_session(request, grant)
        ratelimit.record_failure(ip=ip, target=number or None)
        failed = True
    # never echo the typed values: every failure renders the very same page
    response = render(request, "portal/access_form.html", {"form": AccessForm(), "failed": failed})
    response["Referrer-Policy"] = NO_REFERRER
    return response


@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """``/portal/``: the property's meters in this campaign."""
    grant = live_grant(request.session.get(SESSION_GRANT_KEY))
    if grant is None:
        request.session.pop(SESSION_GRANT_KEY, None)
        return HttpResponseRedirect(reverse("portal:access"))
    closed = _window_page(request, grant)
    if closed is not None:
        return closed
    with organisation_scope(grant.organisation):
        lines = list(
            CampaignMeter.objects.filter(
                campaign=grant.campaign,
                register__meter__property=grant.property,
                register__meter__deleted_at__isnull=True,
            )
            .select_related("register__meter")
            .order_by("register__meter__number", "register__code")
        )
    context: dict[str, Any] = {
        "grant": grant,
        "portal_organisation": grant.organisation,
        "campaign": grant.campaign,
        "property": grant.property,
        "lines": lines,
    }
    return render(request, "portal/home.html", context)
