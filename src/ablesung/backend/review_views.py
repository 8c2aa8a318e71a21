"""Review (Prüfung) pages: the queue of a campaign, one reading, and the clerk's actions.

* ``backend:review_queue`` (GET, view): implausible readings and confirmed warnings, oldest
  first, each with the re-check's explanation, the consumption history, photo and comment;
  a clerk accepts (with a note for implausible values), releases manually, opens the
  reading to correct it, asks for a control reading, or chooses readings for a release.
* ``backend:review_item`` (GET, view): one reading with the same, its versions, and the
  correction form. The action views render it again with the problem (400/409) when the
  service refuses, so that what was typed is kept; on success they redirect back.
* ``backend:review_accept``, ``backend:review_correct`` (POST, ``review``),
  ``backend:review_control_request`` / ``backend:review_control_clear`` (POST, ``review``).

Every action works as a plain form without JavaScript; object ids are ``reading_id`` and
``campaign_meter_id`` (the isolation and role tests walk them).
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ablesung.core.form_rendering import DATE_INPUT_FORMATS, KernDateInput
from ablesung.core.language import engine_language
from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import (
    MAX_NOTE,
    ReadingConflict,
    ReadingRefused,
    Submission,
)
from ablesung.core.services.review import (
    CORRECTION_SOURCES,
    QUEUE_CONFIRMED_WARNING,
    QUEUE_IMPLAUSIBLE,
    QUEUE_KINDS,
    ReviewItem,
    accepted_unreleased,
    do_accept_reading,
    do_clear_control_reading,
    do_correct_reading,
    do_request_control_reading,
    preview_correction,
    review_item,
    review_items,
    review_queue,
)
from ablesung.plausibility import format_decimal

QUEUE_PAGE_SIZE = 20
READING_RELATIONS = ("register__meter__property", "campaign__organisation", "actor")


class CorrectionForm(forms.Form):
    """A clerk's corrected value for a reading (names as in the item page)."""

    wert = forms.CharField(
        label=gettext_lazy("Richtiger Zählerstand"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "class": "kern-form-input__input",
                "inputmode": "decimal",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        error_messages={
            "required": gettext_lazy("Bitte geben Sie den richtigen Zählerstand ein."),
            "max_length": gettext_lazy("Der Zählerstand ist zu lang."),
        },
    )
    datum = forms.DateField(
        label=gettext_lazy("Ablesedatum"),
        input_formats=DATE_INPUT_FORMATS,
        widget=KernDateInput(),
        error_messages={
            "required": gettext_lazy("Bitte geben Sie das Ablesedatum an."),
            "invalid": gettext_lazy(
                "Bitte geben Sie das Ablesedatum als Datum an, z. B. 30.12.2026."
            ),
        },
    )
    quelle = forms.ChoiceField(
        label=gettext_lazy("Woher stammt der richtige Wert?"),
        choices=[(source, ReadingSource(source).label) for source in CORRECTION_SOURCES],
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        error_messages={
            "required": gettext_lazy("Bitte wählen Sie, woher der richtige Wert stammt."),
            "invalid_choice": gettext_lazy("Bitte wählen Sie, woher der richtige Wert stammt."),
        },
    )
    vermerk = forms.CharField(
        label=gettext_lazy("Vermerk"),
        help_text=gettext_lazy(
            "Nötig bei einem unplausiblen Wert und bei einer manuellen Schätzung."
        ),
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(
            attrs={"class": "kern-form-input__input kern-form-input__textarea", "rows": 2}
        ),
        error_messages={
            "max_length": gettext_lazy("Der Vermerk darf höchstens 500 Zeichen lang sein.")
        },
    )
    bestaetigt = forms.BooleanField(required=False)

    def submission(self) -> Submission:
        data = self.cleaned_data
        return Submission(
            data["wert"],
            data["datum"],
            note=data.get("vermerk") or "",
            confirmed=bool(data.get("bestaetigt")),
        )


def _initial_correction(reading: Reading) -> CorrectionForm:
    meter = reading.register.meter
    value = format_decimal(
        reading.value.normalize(), engine_language(), meter.decimals or None, grouped=False
    )
    source = reading.source if reading.source in CORRECTION_SOURCES else None
    return CorrectionForm(initial={"wert": value, "datum": reading.reading_date, "quelle": source})


def back_to(request: OrgRequest, org: str, reading: Reading) -> str:
    """Where an action returns: the page it came from (``next``), else the reading."""
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}
    ):
        return target
    return reverse("backend:review_item", kwargs={"org": org, "reading_id": reading.pk})


def _reading(reading_id: int) -> Reading:
    reading: Reading = get_object_or_404(
        Reading.objects.select_related(*READING_RELATIONS), pk=reading_id
    )
    return reading


def render_item(
    request: OrgRequest,
    reading: Reading,
    *,
    note: str = "",
    note_errors: list[str] | None = None,
    correction: CorrectionForm | None = None,
    correction_problems: list[str] | None = None,
    preview: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page of one reading (also what the actions show when they are refused)."""
    item = review_item(reading)
    if item is None:
        raise Http404
    campaign = reading.campaign
    versions = (
        Reading.objects.filter(campaign_id=reading.campaign_id, register_id=reading.register_id)
        .select_related("actor")
        .order_by("-version")
    )
    open_for_work = (
        reading.is_effective
        and reading.state != ReviewState.RELEASED
        and campaign.status != CampaignStatus.EXPORTED
    )
    context = {
        "campaign": campaign,
        "item": item,
        "reading": reading,
        "versions": versions,
        "note": note,
        "note_errors": note_errors or [],
        "correction": correction or _initial_correction(reading),
        "correction_problems": correction_problems or [],
        "preview": preview or [],
        "open_for_work": open_for_work,
        "exported": campaign.status == CampaignStatus.EXPORTED,
        "show_correction": (
            has_permission(request, "review")
            and reading.is_effective
            and campaign.status != CampaignStatus.EXPORTED
        ),
        **_permissions(request),
    }
    return render(request, "backend/review_item.html", context, status=status)


def _permissions(request: OrgRequest) -> dict[str, bool]:
    return {
        "can_review": has_permission(request, "review"),
        "can_release": has_permission(request, "release"),
    }


# --- pages -----------------------------------------------------------------------------------


@require_GET
@never_cache
@login_required
@require_permission("view")
def review_queue_page(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("organisation"), pk=campaign_id)
    kind = request.GET.get("art", "")
    if kind not in QUEUE_KINDS:
        kind = ""
    page = Paginator(review_queue(campaign, kind), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("seite")
    )
    items: list[ReviewItem] = review_items(list(page.object_list))
    context: dict[str, Any] = {
        "campaign": campaign,
        "page": page,
        "items": items,
        "kind": kind,
        "kinds": [
            ("", _("alle")),
            (QUEUE_IMPLAUSIBLE, _("unplausible Werte")),
            (QUEUE_CONFIRMED_WARNING, _("bestätigte Hinweise")),
        ],
        "accepted": accepted_unreleased(campaign).count(),
        "exported": campaign.status == CampaignStatus.EXPORTED,
        "open_for_work": campaign.status != CampaignStatus.EXPORTED,
        "page_query": f"art={kind}&" if kind else "",
        **_permissions(request),
    }
    return render(request, "backend/review_queue.html", context)


@require_GET
@never_cache
@login_required
@require_permission("view")
def review_item_page(request: OrgRequest, org: str, reading_id: int) -> HttpResponse:
    return render_item(request, _reading(reading_id))


# --- actions ---------------------------------------------------------------------------------


@require_POST
@never_cache
@login_required
@require_permission("review")
def review_accept(request: OrgRequest, org: str, reading_id: int) -> HttpResponse:
    reading = _reading(reading_id)
    note = request.POST.get("vermerk", "")
    try:
        changed = do_accept_reading(
            reading.pk,
            organisation=request.organisation,
            actor=Actor.from_request(request),
            note=note,
        )
    except ReadingConflict as exc:
        return render_item(request, reading, note=note, note_errors=exc.messages, status=409)
    except ReadingRefused as exc:
        return render_item(request, reading, note=note, note_errors=exc.messages, status=400)
    number = reading.register.meter.number
    if changed:
        messages.success(
            request, _("Der Zählerstand von Zähler %(number)s ist angenommen.") % {"number": number}
        )
    else:
        messages.info(
            request,
            _("Der Zählerstand von Zähler %(number)s war bereits angenommen.") % {"number": number},
        )
    return redirect(back_to(request, org, reading))


@require_POST
@never_cache
@login_required
@require_permission("review")
def review_correct(request: OrgRequest, org: str, reading_id: int) -> HttpResponse:
    reading = _reading(reading_id)
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        return render_item(request, reading, correction=form, status=400)
    try:
        recorded = do_correct_reading(
            reading.pk,
            form.submission(),
            source=form.cleaned_data["quelle"],
            organisation=request.organisation,
            actor=Actor.from_request(request),
        )
    except ReadingConflict as exc:
        return render_item(
            request, reading, correction=form, correction_problems=exc.messages, status=409
        )
    except ReadingRefused as exc:
        item = review_item(reading)
        preview = []
        if item is not None:
            result = preview_correction(item, form.cleaned_data["wert"], form.cleaned_data["datum"])
            preview = result.messages(engine_language())
        return render_item(
            request,
            reading,
            correction=form,
            correction_problems=exc.messages,
            preview=preview,
            status=400,
        )
    if recorded.created:
        messages.success(
            request,
            _("Die Korrektur ist gespeichert (Version %(version)s).")
            % {"version": recorded.reading.version},
        )
    else:
        messages.info(request, _("Dieser Wert war bereits gespeichert; es wurde nichts geändert."))
    return redirect("backend:review_item", org=org, reading_id=recorded.reading.pk)


def _control_action(
    request: OrgRequest, org: str, campaign_meter_id: int, *, request_it: bool
) -> HttpResponse:
    line = get_object_or_404(
        CampaignMeter.objects.select_related("register__meter"), pk=campaign_meter_id
    )
    service = do_request_control_reading if request_it else do_clear_control_reading
    number = line.register.meter.number
    try:
        changed = service(
            line.pk, organisation=request.organisation, actor=Actor.from_request(request)
        )
    except ReadingRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if request_it:
            text = (
                _("Für Zähler %(number)s ist eine Kontrollablesung angefordert.")
                if changed
                else _("Für Zähler %(number)s war die Kontrollablesung bereits angefordert.")
            )
        else:
            text = (
                _("Die Kontrollablesung für Zähler %(number)s ist aufgehoben.")
                if changed
                else _("Für Zähler %(number)s war keine Kontrollablesung angefordert.")
            )
        messages.success(request, text % {"number": number})
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}
    ):
        return redirect(target)
    return redirect("backend:review_queue", org=org, campaign_id=line.campaign_id)


@require_POST
@never_cache
@login_required
@require_permission("review")
def review_control_request(request: OrgRequest, org: str, campaign_meter_id: int) -> HttpResponse:
    return _control_action(request, org, campaign_meter_id, request_it=True)


@require_POST
@never_cache
@login_required
@require_permission("review")
def review_control_clear(request: OrgRequest, org: str, campaign_meter_id: int) -> HttpResponse:
    return _control_action(request, org, campaign_meter_id, request_it=False)
