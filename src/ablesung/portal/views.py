from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

LEGAL_TEMPLATES = {
    "imprint": "portal/imprint.html",
    "privacy": "portal/privacy.html",
    "accessibility": "portal/accessibility.html",
}


@require_GET
def legal_page(request: HttpRequest, page: str) -> HttpResponse:
    """Imprint, privacy policy and accessibility statement of the operator."""
    template = LEGAL_TEMPLATES.get(page)
    if template is None:
        raise Http404
    return render(request, template, {"operator": settings.OPERATOR})
