"""Settings pages: plausibility thresholds of the organisation and per campaign, the live
example, and the organisation's own monthly consumption profiles.

Everyone in the organisation reads (GET needs "view"); changing needs "manage_settings".
"Beispiel berechnen" never saves: without JS it re-renders the page from the unsaved values
(POST for those who may edit, GET with the read-only values for the others); with htmx the
example updates as one types (GET on the example partial).
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ablesung.backend.settings_forms import (
    EXAMPLE_DEFAULT,
    LABELS,
    ProfileUploadForm,
    ThresholdsForm,
    initial_values,
)
from ablesung.core.body_limit import MULTIPART_OVERHEAD, body_limit
from ablesung.core.models import Campaign, Organisation
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.plausibility_settings import (
    MAX_PROFILE_BYTES,
    PROFILE_KINDS,
    ProfileInvalid,
    ThresholdsInvalid,
    campaign_overrides,
    campaign_thresholds,
    consumption_profile,
    decode_profile,
    describe_example,
    do_import_consumption_profile,
    do_remove_consumption_profile,
    do_reset_campaign_thresholds,
    do_update_thresholds,
    format_threshold,
    organisation_thresholds,
    preview_thresholds,
    profile_table,
    threshold_values,
)
from ablesung.plausibility import Thresholds

TEMPLATE = "backend/settings_plausibility.html"
EXAMPLE_TEMPLATE = "backend/_plausibility_example.html"
EXAMPLE_TARGET = "plausibility-example"
ACTION = "aktion"
SAVE, EXAMPLE, RESET, PROFILE, PROFILE_REMOVE = (
    "speichern",
    "beispiel",
    "zuruecksetzen",
    "profil",
    "profil_entfernen",
)


def _can_edit(request: OrgRequest) -> bool:
    return has_permission(request, "manage_settings")


def _require_edit(request: OrgRequest) -> None:
    if not _can_edit(request):
        raise PermissionDenied


def _example_attrs(org: str) -> dict[str, str]:
    return {
        "hx-get": reverse("backend:plausibility_example", kwargs={"org": org}),
        "hx-trigger": "input changed delay:300ms",
        "hx-target": f"#{EXAMPLE_TARGET}",
        "hx-include": "[data-example]",
        "hx-swap": "innerHTML",
        "hx-sync": "closest form:replace",
    }


def _example_context(
    form: ThresholdsForm, organisation: Organisation, saved: Thresholds
) -> dict[str, Any]:
    """The example from the (possibly unsaved) values; blanks take the organisation's values.

    An unbound form shows the saved thresholds (``saved``) at the default consumption.
    """
    if not form.is_bound:
        return {
            "example": describe_example(saved, EXAMPLE_DEFAULT),
            "example_problems": False,
            "example_target": EXAMPLE_TARGET,
        }
    form.is_valid()
    values = {name: value for name, value in form.threshold_values().items() if value is not None}
    thresholds, problems = preview_thresholds(values, organisation=organisation)
    return {
        "example": describe_example(thresholds, form.example_value()),
        "example_problems": bool(problems) or bool(form.errors),
        "example_target": EXAMPLE_TARGET,
    }


def _show_problems(form: ThresholdsForm, organisation: Organisation) -> None:
    """ "Beispiel berechnen": the unsaved values' problems at their fields, nothing stored."""
    if not form.is_valid():
        return
    values = {name: value for name, value in form.threshold_values().items() if value is not None}
    _thresholds, problems = preview_thresholds(values, organisation=organisation)
    if problems:
        form.add_threshold_errors(ThresholdsInvalid(problems))


def _action(request: OrgRequest) -> str:
    if request.method == "POST":
        return request.POST.get(ACTION, SAVE)
    return request.GET.get(ACTION, "")


def _bound_data(request: OrgRequest) -> QueryDict | None:
    """The thresholds to show: POSTed (save, example) or the GET of the no-JS "Beispiel
    berechnen" of read-only members; ``None`` shows the saved values."""
    action = _action(request)
    if request.method == "POST" and action in (SAVE, EXAMPLE):
        return request.POST
    if request.method == "GET" and action == EXAMPLE:
        return request.GET
    return None


@require_GET
@never_cache
@login_required
@require_permission("view")
def plausibility_example(request: OrgRequest, org: str) -> HttpResponse:
    """The live example (htmx partial) from the values in the query string."""
    saved = organisation_thresholds(request.organisation)
    form = ThresholdsForm(request.GET, inherited=saved)
    return render(request, EXAMPLE_TEMPLATE, _example_context(form, request.organisation, saved))


# --- organisation ---------------------------------------------------------------------------


@body_limit(MAX_PROFILE_BYTES + MULTIPART_OVERHEAD)  # the consumption-profile upload
@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def organisation_plausibility(request: OrgRequest, org: str) -> HttpResponse:
    organisation = request.organisation
    if request.method == "POST":
        _require_edit(request)
    action = _action(request)
    saved = organisation_thresholds(organisation)
    form = _thresholds_form(request, saved, inherited=None)
    profile_errors: dict[str, list[str]] = {}
    profile_forms: dict[str, ProfileUploadForm] = {}
    status = 200
    if request.method == "POST" and action in (PROFILE, PROFILE_REMOVE):
        kind = request.POST.get("art", "")
        if kind not in PROFILE_KINDS:
            messages.error(request, _("Unbekannte Zählerart."))
            status = 400
        elif action == PROFILE_REMOVE:
            do_remove_consumption_profile(
                organisation=organisation, kind=kind, actor=Actor.from_request(request)
            )
            messages.success(
                request, _("Das eigene Profil wurde entfernt; es gilt wieder das Standardprofil.")
            )
            return redirect("backend:plausibility_settings", org=org)
        else:
            upload = ProfileUploadForm(
                request.POST, request.FILES, prefix=kind, kind_label=_kind_labels()[kind]
            )
            profile_forms[kind] = upload
            if _import_profile(request, upload, kind, profile_errors):
                messages.success(request, _("Das Verbrauchsprofil wurde gespeichert."))
                return redirect("backend:plausibility_settings", org=org)
            status = 400
    elif request.method == "POST" and action == SAVE:
        if form.is_valid():
            try:
                do_update_thresholds(
                    form.threshold_values(),
                    organisation=organisation,
                    actor=Actor.from_request(request),
                )
            except ThresholdsInvalid as exc:
                form.add_threshold_errors(exc)
            else:
                messages.success(request, _("Die Plausibilitätsgrenzen wurden gespeichert."))
                return redirect("backend:plausibility_settings", org=org)
        status = 400
    elif form.is_bound:
        _show_problems(form, organisation)
    context = {
        "title": _("Plausibilitätsprüfung"),
        "campaign": None,
        "form": form,
        "can_edit": _can_edit(request),
        "profiles": _profiles(organisation, profile_forms, profile_errors),
        **_example_context(form, organisation, saved),
    }
    return render(request, TEMPLATE, context, status=status)


def _thresholds_form(
    request: OrgRequest,
    current: Thresholds,
    *,
    inherited: Thresholds | None,
    initial: dict[str, str] | None = None,
) -> ThresholdsForm:
    return ThresholdsForm(
        _bound_data(request),
        initial=initial if initial is not None else initial_values(threshold_values(current)),
        inherited=inherited,
        readonly=not _can_edit(request),
        example_attrs=_example_attrs(request.organisation.slug),
    )


def _import_profile(
    request: OrgRequest, upload: ProfileUploadForm, kind: str, errors: dict[str, list[str]]
) -> bool:
    if not upload.is_valid():
        return False
    file = upload.cleaned_data["file"]
    if file.size > MAX_PROFILE_BYTES:
        upload.add_error(
            "file",
            _("Die Datei ist zu groß für ein Monatsprofil (höchstens %(kb)s KB).")
            % {"kb": MAX_PROFILE_BYTES // 1024},
        )
        return False
    try:
        do_import_consumption_profile(
            decode_profile(file.read()),
            organisation=request.organisation,
            kind=kind,
            actor=Actor.from_request(request),
        )
    except ProfileInvalid as exc:
        errors[kind] = exc.messages
        upload.add_error("file", _("Die Datei enthält Fehler; es wurde nichts gespeichert."))
        return False
    return True


def _kind_labels() -> dict[str, str]:
    return {"gas": _("Gas"), "heat": _("Wärme")}


def _profiles(
    organisation: Organisation,
    forms: dict[str, ProfileUploadForm],
    errors: dict[str, list[str]],
) -> list[dict[str, Any]]:
    labels = _kind_labels()
    rows = []
    for kind in PROFILE_KINDS:
        own = consumption_profile(organisation, kind)
        rows.append(
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "own": own is not None,
                "year": own.year if own is not None else None,
                "table": profile_table(organisation, kind),
                "form": forms.get(kind) or ProfileUploadForm(prefix=kind, kind_label=labels[kind]),
                "errors": errors.get(kind, []),
            }
        )
    return rows


# --- campaign -------------------------------------------------------------------------------


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def campaign_plausibility(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.all(), pk=campaign_id)
    organisation = request.organisation
    if request.method == "POST":
        _require_edit(request)
    action = _action(request)
    if request.method == "POST" and action == RESET:
        do_reset_campaign_thresholds(
            campaign, organisation=organisation, actor=Actor.from_request(request)
        )
        messages.success(
            request, _("Die Ableseaktion verwendet wieder die Werte der Organisation.")
        )
        return redirect("backend:campaign_plausibility", org=org, campaign_id=campaign.pk)
    org_values = organisation_thresholds(organisation)
    overrides = campaign_overrides(campaign)
    initial = {name: format_threshold(value) for name, value in overrides.items()}
    initial["vorjahresverbrauch"] = format_threshold(EXAMPLE_DEFAULT)
    form = _thresholds_form(request, org_values, inherited=org_values, initial=initial)
    status = 200
    if request.method == "POST" and action == SAVE:
        if form.is_valid():
            try:
                do_update_thresholds(
                    form.threshold_values(),
                    organisation=organisation,
                    campaign=campaign,
                    actor=Actor.from_request(request),
                )
            except ThresholdsInvalid as exc:
                form.add_threshold_errors(exc)
            else:
                messages.success(
                    request, _("Die Plausibilitätsgrenzen der Ableseaktion wurden gespeichert.")
                )
                return redirect("backend:campaign_plausibility", org=org, campaign_id=campaign.pk)
        status = 400
    elif form.is_bound:
        _show_problems(form, organisation)
    effective = campaign_thresholds(campaign)
    context = {
        "title": _("Plausibilitätsprüfung: %(name)s") % {"name": campaign.name},
        "campaign": campaign,
        "form": form,
        "can_edit": _can_edit(request),
        "overridden": [
            {
                "label": LABELS[name],
                "value": format_threshold(value),
                "organisation_value": format_threshold(getattr(org_values, name)),
            }
            for name, value in overrides.items()
        ],
        "effective_problems": [error.message for error in effective.validate()],
        **_example_context(form, organisation, effective),
    }
    return render(request, TEMPLATE, context, status=status)
