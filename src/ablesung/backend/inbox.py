"""The inbox of citizens' messages ("Nachricht an die Verwaltung"): a plain list for now."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ablesung.core.models import CitizenMessage
from ablesung.core.scoping import require_permission

PAGE_SIZE = 50


@require_GET
@never_cache
@login_required
@require_permission("view")
def inbox(request: HttpRequest, org: str) -> HttpResponse:
    messages = CitizenMessage.objects.select_related("property", "campaign").order_by(
        "-created_at", "-id"
    )
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("seite"))
    return render(request, "backend/inbox.html", {"page": page})
