"""Close and export: the dialog, the export runs, their files and mails, the settings.

The export page of a campaign is readable by every member; exporting, downloading and
sending need "export", choosing "alle aktuellen" and reopening an exported campaign are for
admins. The run page refreshes its status with htmx while the files are being written
(without JavaScript: a link to reload).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ablesung.backend.export_forms import ExportForm, ExportSettingsForm
from ablesung.core.models import Campaign, CampaignStatus
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.exports import services
from ablesung.exports.models import ExportRun, ExportSelection
from ablesung.exports.services import ExportRefused


def _refused(request: OrgRequest, exc: ExportRefused) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _campaign(campaign_id: int) -> Campaign:
    campaign: Campaign = get_object_or_404(
        Campaign.objects.select_related("organisation"), pk=campaign_id
    )
    return campaign


def _run(export_run_id: int) -> ExportRun:
    run: ExportRun = get_object_or_404(
        ExportRun.objects.select_related("campaign__organisation"), pk=export_run_id
    )
    return run


def _export_context(request: OrgRequest, campaign: Campaign, form: ExportForm) -> dict[str, object]:
    preview = services.preview(campaign)
    return {
        "campaign": campaign,
        "preview": preview,
        "form": form,
        "refusal": services.export_refusal(campaign),
        "recipients": services.recipients(campaign.organisation),
        "delivers_link": services.delivers_link(campaign.organisation),
        "runs": ExportRun.objects.filter(campaign=campaign).order_by("-number"),
        "statuses": CampaignStatus,
        "may_export": has_permission(request, "export"),
        "may_choose": has_permission(request, "export_all_current"),
        "may_reopen": has_permission(request, "reopen_export"),
        "failed_mails": services.failed_export_mails(campaign),
    }


@require_GET
@never_cache
@login_required
@require_permission("view")
def export_page(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = ExportForm(may_choose=has_permission(request, "export_all_current"))
    return render(request, "backend/export.html", _export_context(request, campaign, form))


@require_POST
@never_cache
@login_required
@require_permission("export")
def export_campaign(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = ExportForm(request.POST, may_choose=has_permission(request, "export_all_current"))
    if not form.is_valid():
        context = _export_context(request, campaign, form)
        return render(request, "backend/export.html", context, status=400)
    try:
        run = services.do_export_campaign(
            campaign,
            selection=form.cleaned_data["selection"],
            estimate_missing=form.cleaned_data["estimate_missing"],
            actor=Actor.from_request(request),
        )
    except ExportRefused as exc:
        _refused(request, exc)
        return redirect("backend:export", org=org, campaign_id=campaign.pk)
    messages.success(
        request,
        _("Die Ableseaktion ist abgeschlossen. Der Export (Lauf %(number)s) wird erstellt.")
        % {"number": run.number},
    )
    return redirect("backend:export_run", org=org, export_run_id=run.pk)


@require_GET
@never_cache
@login_required
@require_permission("view")
def export_run(request: OrgRequest, org: str, export_run_id: int) -> HttpResponse:
    run = _run(export_run_id)
    campaign = run.campaign
    context = {
        "campaign": campaign,
        "run": run,
        "mails": list(services.run_mails(run)) if has_permission(request, "export") else [],
        "figures": _figures(run.counts) if run.counts else [],
        "may_export": has_permission(request, "export"),
        "selections": ExportSelection,
    }
    is_htmx = bool(request.headers.get("HX-Request"))
    context["is_htmx"] = is_htmx
    template = "backend/_export_run_status.html" if is_htmx else "backend/export_run.html"
    return render(request, template, context)


#: the run's takeover statistics as the run page shows them: count, German label, and
#: whether the row is a part ("davon") of the row above; together the unindented rows of
#: read, estimated and without reading make up all lines
FIGURES = (
    ("lines", gettext_lazy("Zählwerke gesamt"), False),
    ("read", gettext_lazy("Abgelesen"), False),
    ("online", gettext_lazy("davon online gemeldet"), True),
    ("estimated", gettext_lazy("Geschätzt"), False),
    ("missing", gettext_lazy("Ohne Zählerstand in der Rückgabedatei"), False),
    ("unreleased_left_out", gettext_lazy("davon nicht freigegeben"), True),
    ("implausible_released", gettext_lazy("Unplausibel, aber freigegeben"), False),
    ("control_requested", gettext_lazy("Kontrollablesung angefordert"), False),
    ("replaced_characters", gettext_lazy("Ersetzte Zeichen (Zeichensatz der Datei)"), False),
    ("neutralised_cells", gettext_lazy("Als Text gesicherte Formeln"), False),
)


def _figures(counts: dict[str, object]) -> list[tuple[str, object, bool]]:
    """(label, number, is a part of the row above) for the counts the run has."""
    return [(str(label), counts[key], part) for key, label, part in FIGURES if key in counts]


@require_GET
@never_cache
@login_required
@require_permission("export")
def download_return_file(request: OrgRequest, org: str, export_run_id: int) -> FileResponse:
    run = _run(export_run_id)
    return _download(run.return_file, run.return_name)


@require_GET
@never_cache
@login_required
@require_permission("export")
def download_report(request: OrgRequest, org: str, export_run_id: int) -> FileResponse:
    run = _run(export_run_id)
    return _download(run.report_file, run.report_name)


def _download(file: FieldFile, name: str) -> FileResponse:
    if not file:
        raise Http404
    return FileResponse(file.open("rb"), as_attachment=True, filename=name)


@require_POST
@never_cache
@login_required
@require_permission("export")
def export_resend(request: OrgRequest, org: str, export_run_id: int) -> HttpResponse:
    run = _run(export_run_id)
    try:
        count = services.do_resend_export_run(run, actor=Actor.from_request(request))
    except ExportRefused as exc:
        _refused(request, exc)
    else:
        messages.success(
            request,
            ngettext(
                "Der Export wird erneut an %(count)s Adresse gesendet.",
                "Der Export wird erneut an %(count)s Adressen gesendet.",
                count,
            )
            % {"count": count},
        )
    return redirect("backend:export_run", org=org, export_run_id=run.pk)


@require_POST
@never_cache
@login_required
@require_permission("export")
def export_retry(request: OrgRequest, org: str, export_run_id: int) -> HttpResponse:
    run = _run(export_run_id)
    if services.do_retry_export_run(run, actor=Actor.from_request(request)):
        messages.success(request, _("Der Export wird erneut erstellt."))
    else:
        messages.info(
            request, _("Dieser Export ist nicht fehlgeschlagen; es wurde nichts geändert.")
        )
    return redirect("backend:export_run", org=org, export_run_id=run.pk)


@require_POST
@never_cache
@login_required
@require_permission("reopen_export")
def reopen_exported(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    try:
        reopened = services.do_reopen_exported_campaign(campaign, actor=Actor.from_request(request))
    except ExportRefused as exc:
        _refused(request, exc)
    else:
        if reopened:
            messages.success(
                request,
                _(
                    "Die Ableseaktion ist wieder geschlossen und kann bearbeitet werden. Die "
                    "bisherigen Exportläufe bleiben erhalten; ein neuer Export erzeugt einen "
                    "neuen Lauf."
                ),
            )
        else:
            messages.info(
                request, _("Die Ableseaktion war nicht exportiert; es wurde nichts geändert.")
            )
    return redirect("backend:export", org=org, campaign_id=campaign.pk)


@never_cache
@login_required
@require_permission("manage_settings")
@require_http_methods(["GET", "POST"])
def export_settings(request: OrgRequest, org: str) -> HttpResponse:
    organisation = request.organisation
    status = 200
    if request.method == "POST":
        form = ExportSettingsForm(request.POST)
        if form.is_valid():
            changed = services.do_update_export_settings(
                organisation,
                addresses=form.cleaned_data["recipients"],
                delivery=form.cleaned_data["delivery"],
                actor=Actor.from_request(request),
            )
            if changed:
                messages.success(request, _("Die Einstellungen für Exporte wurden gespeichert."))
            else:
                messages.info(request, _("Die Einstellungen waren bereits so; nichts geändert."))
            return redirect("backend:export_settings", org=org)
        status = 400
    else:
        form = ExportSettingsForm(
            initial={
                "recipients": "\n".join(services.recipients(organisation)),
                "delivery": services.DELIVERY_LINK
                if services.delivers_link(organisation)
                else services.DELIVERY_ATTACH,
            }
        )
    context = {"title": _("Versand der Exporte"), "form": form}
    return render(request, "backend/settings_export.html", context, status=status)
