"""Portal settings of the organisation: contact, legal links, accent colour, logo, access.

Only admins open and change the page ("manage_settings"); the organisation's name is shown
read-only (the operator sets it). Bad input re-renders the page with 400 and the messages at
their fields; nothing is stored then.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ablesung.backend.branding_forms import BrandingForm
from ablesung.core.body_limit import MULTIPART_OVERHEAD, body_limit
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.branding import (
    LOGO_MAX_BYTES,
    BrandingInvalid,
    current_values,
    do_update_branding,
    logo_data_uri,
)

TEMPLATE = "backend/settings_branding.html"


@body_limit(LOGO_MAX_BYTES + MULTIPART_OVERHEAD)
@never_cache
@login_required
@require_permission("manage_settings")
@require_http_methods(["GET", "POST"])
def branding_settings(request: OrgRequest, org: str) -> HttpResponse:
    organisation = request.organisation
    status = 200
    if request.method == "POST":
        form = BrandingForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                do_update_branding(
                    organisation,
                    values=form.branding_values(),
                    logo_bytes=form.cleaned_data["logo"],
                    remove_logo=form.cleaned_data["remove_logo"],
                    actor=Actor.from_request(request),
                )
            except BrandingInvalid as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Die Einstellungen für das Portal wurden gespeichert."))
                return redirect("backend:branding_settings", org=org)
        status = 400
    else:
        form = BrandingForm(initial=current_values(organisation))
    context = {
        "title": _("Portal und Erscheinungsbild"),
        "form": form,
        "logo_uri": logo_data_uri(organisation),
        "missing": organisation.branding_missing,
    }
    return render(request, TEMPLATE, context, status=status)
