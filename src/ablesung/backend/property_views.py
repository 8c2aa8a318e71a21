"""The property page (owner, address, meters, every reading version per campaign, citizen
messages, audit trail) and the staff-only photo of a reading."""

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ablesung.core.models import CitizenMessage, Meter, Property, Reading
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.property_history import (
    MAX_AUDIT_ENTRIES,
    property_audit_trail,
    reading_history,
)


@require_GET
@never_cache
@login_required
@require_permission("view")
def property_detail(request: OrgRequest, org: str, property_id: int) -> HttpResponse:
    prop = get_object_or_404(Property.objects.all(), pk=property_id)
    meters = list(Meter.objects.filter(property=prop).order_by("number"))
    campaigns = reading_history(prop, meters)
    messages = list(
        CitizenMessage.objects.filter(property=prop)
        .select_related("campaign", "assignee")
        .order_by("-created_at", "-id")
    )
    trail = property_audit_trail(request.organisation, prop, meters, campaigns, messages)
    context = {
        "property": prop,
        "meters": meters,
        "campaigns": campaigns,
        "citizen_messages": messages,
        "trail": trail,
        "trail_limit": MAX_AUDIT_ENTRIES,
    }
    return render(request, "backend/property_detail.html", context)


@require_GET
@login_required
@require_permission("view")
def reading_photo(request: OrgRequest, org: str, reading_id: int) -> FileResponse:
    """The reading's photo, to members of its organisation only (never cached, never
    sniffed: it is served as the JPEG the upload was re-encoded to)."""
    reading = get_object_or_404(Reading.with_trashed.exclude(photo=""), pk=reading_id)
    try:
        photo = default_storage.open(reading.photo.name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(photo, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="zaehlerstand-{reading.pk}.jpg"'
    return response
