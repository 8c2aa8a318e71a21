"""Release (Freigabe) pages: choose the scope, confirm, run; the runs and their logs.

* ``backend:release`` (GET, everyone who may view): the scope (the whole campaign, a
  filter, or the readings chosen in the review queue or a list: ``auswahl`` ids), then a
  confirmation naming how many readings will be checked, and the campaign's runs. The
  query parameters are those of the meter list's filter (``ergebnis``, ``stand``,
  ``quelle``, ``zaehlerart``) plus ``pruefliste`` (the review queue), so a list can link
  here with its filter.
* ``backend:release_start`` (POST, ``release``): runs the release, shows its result page.
* ``backend:release_run`` / ``backend:release_run_csv`` (GET): a run with its log; the log
  as CSV (German, formula cells neutralised).
* ``backend:reading_release`` (POST, ``release``): the manual release of one reading (an
  implausible value needs a note).
"""

import itertools
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ablesung.backend.review_views import back_to, render_item
from ablesung.core.models import (
    Campaign,
    CampaignStatus,
    MeterKind,
    Outcome,
    Reading,
    ReadingSource,
    ReleaseLogEntry,
    ReleaseRun,
    ReviewState,
)
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import MAX_NOTE, ReadingConflict, ReadingRefused
from ablesung.core.services.release import (
    MAX_SELECTION,
    ReleaseFilter,
    ReleaseRefused,
    ReleaseSelection,
    covered_readings,
    do_release_reading,
    do_release_readings,
    log_rows,
    runs_of,
)
from ablesung.lib.safe_csv import csv_lines

RUNS_PER_PAGE = 20
LOG_PER_PAGE = 100
WHOLE, FILTER, CHOSEN = "alle", "filter", "auswahl"
#: the query parameters of the scope (kept in the confirmation's hidden fields)
SCOPE_PARAMS = ("umfang", "ergebnis", "stand", "quelle", "zaehlerart", "pruefliste", "auswahl")


SCOPES = [
    (WHOLE, gettext_lazy("alle noch nicht freigegebenen Zählerstände der Ableseaktion")),
    (FILTER, gettext_lazy("die Zählerstände, die zu diesem Filter passen")),
    (CHOSEN, gettext_lazy("die ausgewählten Zählerstände")),
]


def _select(label: Any, choices: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[("", gettext_lazy("alle")), *choices],
        required=False,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
        error_messages={
            "invalid_choice": gettext_lazy("Bitte wählen Sie einen Eintrag aus der Liste.")
        },
    )


class ReadingIdsField(forms.Field):
    """Reading ids from repeated ``auswahl`` parameters (hidden inputs or checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> tuple[int, ...]:
        if not value:
            return ()
        values = value if isinstance(value, list | tuple) else [value]
        try:
            ids = tuple(dict.fromkeys(int(item) for item in values))
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(
                _("Die Auswahl enthält ungültige Angaben. Bitte wählen Sie erneut aus.")
            ) from exc
        if len(ids) > MAX_SELECTION:
            raise forms.ValidationError(
                _("Bitte wählen Sie höchstens %(count)s Zählerstände auf einmal.")
                % {"count": MAX_SELECTION}
            )
        return ids


class ReleaseScopeForm(forms.Form):
    umfang = forms.ChoiceField(
        label=gettext_lazy("Was soll freigegeben werden?"),
        choices=SCOPES,
        initial=WHOLE,
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        error_messages={
            "required": gettext_lazy("Bitte wählen Sie, was freigegeben werden soll."),
            "invalid_choice": gettext_lazy("Bitte wählen Sie, was freigegeben werden soll."),
        },
    )
    ergebnis = _select(
        gettext_lazy("Plausibilität"),
        [choice for choice in Outcome.choices if choice[0] != Outcome.ERROR],
    )
    stand = _select(
        gettext_lazy("Bearbeitungsstand"),
        [choice for choice in ReviewState.choices if choice[0] != ReviewState.RELEASED],
    )
    quelle = _select(gettext_lazy("Quelle"), ReadingSource.choices)
    zaehlerart = _select(gettext_lazy("Zählerart"), MeterKind.choices)
    pruefliste = forms.BooleanField(
        label=gettext_lazy("nur Zählerstände aus der Prüfliste"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )
    auswahl = ReadingIdsField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        getlist = getattr(self.data, "getlist", None)
        if not (getlist("auswahl") if getlist is not None else None):
            # "the chosen readings" only when some were chosen (in the queue or a list)
            field = self.fields["umfang"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(value, label) for value, label in SCOPES if value != CHOSEN]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("umfang") == CHOSEN and not data.get("auswahl"):
            raise forms.ValidationError(
                _("Es sind keine Zählerstände ausgewählt. Wählen Sie sie in der Prüfliste aus.")
            )
        return data

    def selection(self) -> ReleaseSelection:
        data = self.cleaned_data
        if data["umfang"] == CHOSEN:
            return ReleaseSelection(reading_ids=data["auswahl"])
        if data["umfang"] == FILTER:
            return ReleaseSelection(
                filter=ReleaseFilter(
                    outcome=data.get("ergebnis") or "",
                    state=data.get("stand") or "",
                    source=data.get("quelle") or "",
                    kind=data.get("zaehlerart") or "",
                    review_queue=bool(data.get("pruefliste")),
                )
            )
        return ReleaseSelection()


def _scope_form(data: Any) -> ReleaseScopeForm | None:
    """The scope form bound to the request's data, or unbound when it names no scope."""
    if any(name in data for name in ("umfang", "auswahl")):
        return ReleaseScopeForm(data)
    return None


def _hidden_scope(form: ReleaseScopeForm) -> list[tuple[str, str]]:
    """The chosen scope as (name, value) pairs for the confirmation's hidden fields."""
    data = form.cleaned_data
    pairs = [("umfang", data["umfang"])]
    if data["umfang"] == FILTER:
        pairs += [(name, str(data[name])) for name in ("ergebnis", "stand", "quelle", "zaehlerart")]
        if data.get("pruefliste"):
            pairs.append(("pruefliste", "on"))
    if data["umfang"] == CHOSEN:
        pairs += [("auswahl", str(pk)) for pk in data["auswahl"]]
    return pairs


def _query_without_page(request: OrgRequest) -> str:
    """The GET query of the page without ``seite``, as "name=value&" (for page links)."""
    query = request.GET.copy()
    query.pop("seite", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


def _release_page(
    request: OrgRequest,
    campaign: Campaign,
    form: ReleaseScopeForm | None,
    *,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    confirm: dict[str, Any] | None = None
    if form is not None and form.is_valid() and not problems:
        selection = form.selection()
        confirm = {
            "count": covered_readings(campaign, selection).count(),
            "scope": selection.describe(),
            "hidden": _hidden_scope(form),
        }
    elif form is not None and form.is_bound and not form.is_valid():
        status = 400
    runs = Paginator(runs_of(campaign), RUNS_PER_PAGE).get_page(request.GET.get("seite"))
    context = {
        "campaign": campaign,
        "form": form or ReleaseScopeForm(initial={"umfang": WHOLE}),
        "confirm": confirm,
        "problems": problems or [],
        "runs": runs,
        "runs_query": _query_without_page(request),
        "exported": campaign.status == CampaignStatus.EXPORTED,
        "can_release": has_permission(request, "release"),
    }
    return render(request, "backend/release.html", context, status=status)


@require_GET
@never_cache
@login_required
@require_permission("view")
def release(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("organisation"), pk=campaign_id)
    return _release_page(request, campaign, _scope_form(request.GET))


@require_POST
@never_cache
@login_required
@require_permission("release")
def release_start(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("organisation"), pk=campaign_id)
    form = ReleaseScopeForm(request.POST)
    if not form.is_valid():
        return _release_page(request, campaign, form, status=400)
    try:
        run = do_release_readings(
            campaign,
            form.selection(),
            organisation=request.organisation,
            actor=Actor.from_request(request),
        )
    except ReleaseRefused as exc:
        return _release_page(request, campaign, form, problems=exc.messages, status=409)
    messages.success(
        request,
        _(
            "Freigabe abgeschlossen: %(checked)s geprüft, %(released)s freigegeben, "
            "%(refused)s nicht freigegeben."
        )
        % {"checked": run.checked, "released": run.released, "refused": run.refused},
    )
    return redirect("backend:release_run", org=org, release_run_id=run.pk)


@require_GET
@never_cache
@login_required
@require_permission("view")
def release_run(request: OrgRequest, org: str, release_run_id: int) -> HttpResponse:
    run = get_object_or_404(ReleaseRun.objects.select_related("campaign"), pk=release_run_id)
    entries = ReleaseLogEntry.objects.filter(run=run).order_by(
        "meter_number", "register_code", "id"
    )
    page = Paginator(entries, LOG_PER_PAGE).get_page(request.GET.get("seite"))
    unreleased = set(
        Reading.objects.filter(
            pk__in=[entry.reading_id for entry in page.object_list if entry.reading_id],
            is_effective=True,
        )
        .exclude(state=ReviewState.RELEASED)
        .values_list("pk", flat=True)
    )
    labels = dict(Outcome.choices)
    rows = [(entry, labels.get(entry.outcome, entry.outcome)) for entry in page.object_list]
    context = {
        "run": run,
        "campaign": run.campaign,
        "page": page,
        "rows": rows,
        "open_readings": unreleased,
    }
    return render(request, "backend/release_run.html", context)


@require_GET
@never_cache
@login_required
@require_permission("view")
def release_run_csv(request: OrgRequest, org: str, release_run_id: int) -> StreamingHttpResponse:
    run = get_object_or_404(ReleaseRun.objects.all(), pk=release_run_id)
    lines = csv_lines(log_rows(run))  # the query is built here, inside the scope
    response = StreamingHttpResponse(
        itertools.chain([b"\xef\xbb\xbf"], (line.encode("utf-8") for line in lines)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = run.created_at.strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="freigabeprotokoll-{run.campaign_id}-{stamp}-{run.pk}.csv"'
    )
    return response


@require_POST
@never_cache
@login_required
@require_permission("release")
def reading_release(request: OrgRequest, org: str, reading_id: int) -> HttpResponse:
    """The manual release of one reading; an implausible value needs a note."""
    reading = get_object_or_404(
        Reading.objects.select_related("register__meter__property", "campaign__organisation"),
        pk=reading_id,
    )
    note = request.POST.get("vermerk", "")
    try:
        do_release_reading(
            reading.pk,
            organisation=request.organisation,
            actor=Actor.from_request(request),
            note=note[: MAX_NOTE + 1],
        )
    except ReadingConflict as exc:
        return render_item(request, reading, note=note, note_errors=exc.messages, status=409)
    except ReadingRefused as exc:
        return render_item(request, reading, note=note, note_errors=exc.messages, status=400)
    messages.success(
        request,
        _("Der Zählerstand von Zähler %(number)s ist freigegeben.")
        % {"number": reading.register.meter.number},
    )
    return redirect(back_to(request, org, reading))
