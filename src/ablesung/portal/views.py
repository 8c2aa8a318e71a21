"""Pages without a portal session of their own: legal pages, the reading help, the logo."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ablesung.core.models import Organisation
from ablesung.portal.session import current_access

LEGAL_TEMPLATES = {
    "imprint": "portal/imprint.html",
    "privacy": "portal/privacy.html",
    "accessibility": "portal/accessibility.html",
}


@require_GET
def legal_page(request: HttpRequest, page: str) -> HttpResponse:
    """Imprint, privacy policy and accessibility statement of the operator.

    Inside a portal session the page carries the organisation's branding, and the
    accessibility statement names the organisation's contact for feedback too.
    """
    template = LEGAL_TEMPLATES.get(page)
    if template is None:
        raise Http404
    access = current_access(request)
    context = {
        "operator": settings.OPERATOR,
        "portal_organisation": access.organisation if access is not None else None,
    }
    return render(request, template, context)


@require_GET
def how_to_read(request: HttpRequest) -> HttpResponse:
    """Help page with drawings; works with and without a portal session."""
    access = current_access(request)
    context = {
        "portal_organisation": access.organisation if access is not None else None,
        "back_url": reverse("portal:home") if access is not None else "",
    }
    return render(request, "portal/how_to_read.html", context)


@require_GET
def logo(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The organisation's logo (stored re-encoded as JPEG)."""
    organisation = get_object_or_404(Organisation, slug=slug, is_active=True)
    name = organisation.logo.name if organisation.logo else None
    if not name or not default_storage.exists(name):
        raise Http404
    response = FileResponse(default_storage.open(name), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=3600"
    return response
