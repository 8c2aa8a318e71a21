from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

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
