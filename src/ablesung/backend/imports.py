"""Meter-list import pages: upload → layout and mapping → progress → result."""

import itertools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ablesung.backend.forms import (
    MappingForm,
    UploadForm,
    automatic_export_columns,
    initial_mapping,
)
from ablesung.core.body_limit import MULTIPART_OVERHEAD, body_limit
from ablesung.core.models import Campaign, CampaignStatus, ImportBatch, ImportStatus
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import (
    ImportRefused,
    NewCampaign,
    available_profiles,
    describe_layout,
    do_save_import_profile,
    do_start_import,
    do_update_import_settings,
    do_upload_meter_list,
    read_progress,
    redetect,
)
from ablesung.formats import FIELDS, FileLayout, FormatError, Limits, Profile, propose_mapping
from ablesung.lib.safe_csv import csv_lines

ERRORS_SHOWN = 500


def _importable_campaigns() -> list[tuple[int, str]]:
    campaigns = Campaign.objects.filter(status__in=[CampaignStatus.DRAFT, CampaignStatus.OPEN])
    return [(c.pk, f"{c.name} ({c.key_date:%d.%m.%Y})") for c in campaigns.order_by("-key_date")]


# a larger body is refused before Django reads it into a temporary file
@body_limit(
    Limits().max_bytes + MULTIPART_OVERHEAD, gettext_lazy("Die Datei ist größer als 50 MB.")
)
@never_cache
@login_required
@require_permission("import")
@require_http_methods(["GET", "POST"])
def upload(request: OrgRequest, org: str) -> HttpResponse:
    profiles = available_profiles(request.organisation)
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        campaigns=_importable_campaigns(),
        profiles=list(profiles),
        initial={"campaign": request.GET.get("ableseaktion")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target: Campaign | NewCampaign
        if data["campaign"] is not None:
            target = get_object_or_404(Campaign.objects.all(), pk=data["campaign"])
        else:
            target = NewCampaign(data["new_campaign_name"], data["new_key_date"])
        try:
            batch, _detected = do_upload_meter_list(
                target,
                data["file"],
                original_name=data["file"].name,
                profile=profiles[data["profile"]],
                organisation=request.organisation,
                actor=Actor.from_request(request),
            )
        except ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("backend:import_mapping", org=org, import_batch_id=batch.pk)
    return render(
        request, "backend/import_upload.html", {"form": form}, status=400 if form.errors else 200
    )


@never_cache
@login_required
@require_permission("import")
@require_http_methods(["GET", "POST"])
def mapping(request: OrgRequest, org: str, import_batch_id: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.select_related("campaign"), pk=import_batch_id)
    if batch.status != ImportStatus.PENDING:
        return redirect("backend:import_batch", org=org, import_batch_id=batch.pk)
    profile = Profile.from_dict(batch.profile)
    try:
        detected = redetect(batch, profile)
    except FormatError as exc:
        detected = FileLayout.from_dict(batch.layout).to_detected()
        messages.error(request, str(exc))
    proposed = propose_mapping(detected.header, profile)
    form = MappingForm(
        request.POST or None,
        detected=detected,
        profile=profile,
        initial=initial_mapping(detected, profile, proposed),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            actor = Actor.from_request(request)
            save_as = form.cleaned_data.get("save_as", "").strip()
            chosen = form.profile(save_as or profile.name)
            for key, value in form.overrides().items():
                setattr(chosen, key, value)
            try:
                batch, detected = do_update_import_settings(
                    batch, chosen, organisation=request.organisation, actor=actor
                )
                if "erneut_erkennen" in request.POST:
                    return redirect("backend:import_mapping", org=org, import_batch_id=batch.pk)
                if save_as:
                    do_save_import_profile(chosen, organisation=request.organisation, actor=actor)
                do_start_import(
                    batch, chosen, organisation=request.organisation, actor=actor, detected=detected
                )
            except ImportRefused as exc:
                messages.error(request, str(exc))
                return redirect("backend:import_mapping", org=org, import_batch_id=batch.pk)
            return redirect("backend:import_batch", org=org, import_batch_id=batch.pk)
        status = 400
    return render(
        request,
        "backend/import_mapping.html",
        {
            "batch": batch,
            "detected": detected,
            "layout_description": describe_layout(detected),
            "form": form,
            "fields": FIELDS,
            "found_export_columns": automatic_export_columns(detected, profile),
        },
        status=status,
    )


@never_cache
@login_required
@require_permission("view")
@require_GET
def batch_detail(request: OrgRequest, org: str, import_batch_id: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.select_related("campaign"), pk=import_batch_id)
    progress = read_progress(batch.pk)
    total = progress.get("total", 0)
    percent = min(100, 100 * progress.get("rows", 0) // total) if total else None
    context = {
        "batch": batch,
        "progress": progress,
        "percent": percent,
        "errors": batch.row_errors.all()[:ERRORS_SHOWN],
        "errors_shown": ERRORS_SHOWN,
        "describe": describe_layout(FileLayout.from_dict(batch.layout)) if batch.layout else "",
    }
    template = (
        "backend/_import_status.html"
        if request.headers.get("HX-Request")
        else "backend/import_batch.html"
    )
    return render(request, template, context)


@never_cache
@login_required
@require_permission("view")
@require_GET
def batch_errors_csv(request: OrgRequest, org: str, import_batch_id: int) -> StreamingHttpResponse:
    batch = get_object_or_404(ImportBatch.objects.all(), pk=import_batch_id)
    header = [_("Zeile"), _("Spalte"), _("Wert"), _("Meldung")]
    rows = ([e.line, e.column, e.value, e.message] for e in batch.row_errors.all().iterator())
    lines = csv_lines(itertools.chain([header], rows))
    response = StreamingHttpResponse(
        itertools.chain([b"\xef\xbb\xbf"], (line.encode("utf-8") for line in lines)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="importfehler-{batch.pk}.csv"'
    return response
