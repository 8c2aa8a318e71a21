"""Citizen access: the personal link and the typed access forms.

Every failure looks the same (one German message, same status, same page), is
counted for the rate limits, and neither the token nor the code is logged.
"""

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ablesung.core import ratelimit
from ablesung.core.models import AccessMethod, Organisation
from ablesung.core.services.access import (
    PortalAccess,
    access_from_grant,
    normalise_meter_number,
    resolve_code,
    resolve_customer,
    resolve_token,
)
from ablesung.lib.net import client_ip
from ablesung.portal.session import open_session

#: the link's redirect carries no referrer at all (SECURITY.md)
NO_REFERRER = "no-referrer"
#: pages answered at a token URL (invalid link, outside the window, too many tries): the
#: Referer holds the origin only, never the path with the token, while form posts (the
#: language switch) keep a real Origin header; with ``no-referrer`` Chromium sends
#: ``Origin: null`` and Django's CSRF check refuses the post.
ORIGIN_ONLY = "strict-origin"


class AccessForm(forms.Form):
    code = forms.CharField(
        label=_("Zugangscode"),
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "kern-form-input__input",
            }
        ),
    )
    meter_number = forms.CharField(
        label=_("Zählernummer"),
        max_length=50,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "kern-form-input__input"}
        ),
    )


class CustomerAccessForm(forms.Form):
    """Customer number plus a meter number or the last name (the organisation decides)."""

    customer_number = forms.CharField(
        label=_("Kassenzeichen"),
        max_length=50,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "kern-form-input__input"}
        ),
    )
    meter_number = forms.CharField(
        label=_("Zählernummer"),
        max_length=50,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "kern-form-input__input"}
        ),
    )
    last_name = forms.CharField(
        label=_("Nachname (wie im Bescheid)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "family-name", "class": "kern-form-input__input"}
        ),
    )

    def __init__(self, *args: object, method: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        keep = "meter_number" if method == AccessMethod.CUSTOMER_METER else "last_name"
        drop = "last_name" if keep == "meter_number" else "meter_number"
        del self.fields[drop]
        self.fields[keep].required = True
        self.prefix = method


def _too_many(request: HttpRequest, seconds: int) -> HttpResponse:
    response = render(request, "portal/too_many.html", {"minutes": -(-seconds // 60)}, status=429)
    response["Retry-After"] = str(seconds)
    response["Referrer-Policy"] = ORIGIN_ONLY
    return response


def window_page(request: HttpRequest, access: PortalAccess) -> HttpResponse | None:
    """The 'not possible now' page when the campaign is not online, else ``None``."""
    campaign = access.campaign
    today = timezone.localdate()
    if campaign.is_online(today):
        return None
    over = campaign.online_until is not None and today > campaign.online_until
    context = {
        "campaign": campaign,
        "portal_organisation": access.organisation,
        "over": over,
        "not_yet": campaign.online_from is not None and today < campaign.online_from,
    }
    response = render(request, "portal/window.html", context, status=410 if over else 200)
    response["Referrer-Policy"] = ORIGIN_ONLY
    return response


def _enter(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    closed = window_page(request, access)
    if closed is not None:
        return closed
    response = HttpResponseRedirect(reverse("portal:home"))
    response["Referrer-Policy"] = NO_REFERRER
    open_session(request, response, access)
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
        response["Referrer-Policy"] = ORIGIN_ONLY
        return response
    return _enter(request, access_from_grant(grant))


def _attempt_code(request: HttpRequest, organisation: Organisation | None) -> HttpResponse | None:
    """Checks a posted code + meter number; a response on success or 429, ``None`` on failure."""
    form = AccessForm(request.POST)
    ip = client_ip(request)
    number = normalise_meter_number(request.POST.get("meter_number", ""))
    wait = ratelimit.retry_after(ip=ip, target=number or None)
    if wait is not None:
        return _too_many(request, wait)
    grant = None
    if form.is_valid():
        grant = resolve_code(
            form.cleaned_data["code"], form.cleaned_data["meter_number"], organisation=organisation
        )
    if grant is not None:
        return _enter(request, access_from_grant(grant))
    ratelimit.record_failure(ip=ip, target=number or None)
    return None


def _attempt_customer(
    request: HttpRequest, organisation: Organisation, method: str
) -> HttpResponse | None:
    form = CustomerAccessForm(request.POST, method=method)
    ip = client_ip(request)
    customer = request.POST.get(f"{method}-customer_number", "").strip()[:50]
    target = f"{organisation.pk}:{customer}" if customer else None
    wait = ratelimit.retry_after(ip=ip, target=target)
    if wait is not None:
        return _too_many(request, wait)
    access = None
    if form.is_valid():
        access = resolve_customer(
            organisation,
            form.cleaned_data["customer_number"],
            meter_number=form.cleaned_data.get("meter_number", ""),
            last_name=form.cleaned_data.get("last_name", ""),
        )
    if access is not None:
        return _enter(request, access)
    ratelimit.record_failure(ip=ip, target=target)
    return None


def _forms(organisation: Organisation | None) -> dict[str, forms.Form]:
    methods = organisation.access_methods if organisation is not None else []
    found: dict[str, forms.Form] = {}
    if organisation is None or AccessMethod.CODE_METER in methods:
        found[AccessMethod.CODE_METER] = AccessForm()
    for method in (AccessMethod.CUSTOMER_METER, AccessMethod.CUSTOMER_NAME):
        if method in methods:
            found[method] = CustomerAccessForm(method=method)
    return found


def _access_page(request: HttpRequest, organisation: Organisation | None) -> HttpResponse:
    failed = ""
    if request.method == "POST":
        method = request.POST.get("method", AccessMethod.CODE_METER)
        allowed = _forms(organisation)
        if method not in allowed:
            method = AccessMethod.CODE_METER
        if method == AccessMethod.CODE_METER or organisation is None:
            outcome = _attempt_code(request, organisation)
        else:
            outcome = _attempt_customer(request, organisation, method)
        if outcome is not None:
            return outcome
        failed = method
    # never echo the typed values: every failure renders the very same page
    context = {
        "forms": _forms(organisation),
        "failed": failed,
        "portal_organisation": organisation,
        "action": request.path,
    }
    # The site's "same-origin" policy, not "no-referrer": this URL holds no secret, and
    # under "no-referrer" Chromium posts the form with `Origin: null`, which the CSRF
    # check rejects ("Formular abgelaufen") – the typed access would never work.
    return render(request, "portal/access_form.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def access_form(request: HttpRequest) -> HttpResponse:
    """``/zugang/``: access code plus meter number (any organisation)."""
    return _access_page(request, None)


@never_cache
@require_http_methods(["GET", "POST"])
def organisation_access_form(request: HttpRequest, slug: str) -> HttpResponse:
    """``/zugang/<slug>/``: the ways in that this organisation accepts."""
    organisation = get_object_or_404(Organisation, slug=slug, is_active=True)
    return _access_page(request, organisation)
