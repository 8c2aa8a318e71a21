"""Capture (Erfassung): the keyboard-only screen for reply cards, phone calls and visits.

Without JavaScript it is a plain two-step form. Step 1 (GET ``?nummer=…``): the meter or
object number typed or scanned + Enter shows the register(s) with the previous reading,
the expected range and the current value, the focus in the first value field; a reply
card's code (a scanner types it like a number) shows the card's meters in card order with
the source "Ablesekarte" chosen. Step 2
(POST): Enter checks and saves; when the check asks for something (a warning: one
confirming key press on the focused button; an implausible value or a manual estimate: a
note; a value that exists: the choice to replace it), the page shows the result and asks
once, nothing is stored. After saving, the page comes back empty with the focus in the
number field for the next card. htmx only adds the check while typing.

Everyone in the organisation may open the screen and look registers up (read-only, as a
viewer sees everything); saving and undo need the "capture" permission. The reading date
defaults to the key date, the source to the last one chosen (kept in the session with the
last 20 entries of each campaign, which can be undone).
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ablesung import plausibility as engine
from ablesung.backend.capture_forms import (
    CONFIRM,
    CaptureForm,
    checked_name,
    note_name,
    replace_name,
    seen_name,
    value_name,
)
from ablesung.core.language import engine_language
from ablesung.core.models import Campaign, CampaignStatus, Reading, ReadingSource, ReviewState
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.capture import (
    CAPTURE_CHOICES,
    DEFAULT_SOURCE,
    MAX_TEXT,
    CaptureEntry,
    LinePreview,
    Lookup,
    campaign_lines,
    default_reading_date,
    do_capture_reading,
    do_undo_capture,
    find_registers,
    preview,
)
from ablesung.core.services.readings import (
    ReadingConflict,
    ReadingRefused,
    Recorded,
    effective_readings,
)

TEMPLATE = "backend/capture.html"
FEEDBACK_TEMPLATE = "backend/capture_feedback.html"
#: session keys: the last source chosen, and the last entries per campaign
SOURCE_KEY = "erfassung_quelle"
RECENT_KEY = "erfassung_zuletzt"
RECENT_SIZE = 20
NEEDS_CONFIRM, NEEDS_NOTE, NEEDS_REPLACE = "confirm", "note", "replace"


@dataclass
class Row:
    """One register on the screen: what the services say and what the clerk chose."""

    view: LinePreview
    needs: set[str] = field(default_factory=set)
    replace: bool = False
    note: str = ""
    focus: str = ""  # "value", "note" or "replace": where the cursor goes

    @property
    def register_id(self) -> int:
        return self.view.line.register_id

    @property
    def names(self) -> dict[str, str]:
        line = self.view.line
        return {
            "value": value_name(line),
            "seen": seen_name(line),
            "checked": checked_name(line),
            "replace": replace_name(line),
            "note": note_name(line),
        }

    @property
    def shows_note(self) -> bool:
        return NEEDS_NOTE in self.needs or bool(self.note)

    @property
    def released(self) -> bool:
        current = self.view.current
        return current is not None and current.state == ReviewState.RELEASED


@dataclass
class RecentEntry:
    reading: Reading
    status: str  # "effective", "undone" or "replaced"
    may_undo: bool


def _campaign(campaign_id: int) -> Campaign:
    campaign: Campaign = get_object_or_404(
        Campaign.objects.select_related("organisation"), pk=campaign_id
    )
    return campaign


def _capture_url(campaign: Campaign) -> str:
    return reverse(
        "backend:capture",
        kwargs={"org": campaign.organisation.slug, "campaign_id": campaign.pk},
    )


def _source(request: OrgRequest) -> str:
    chosen = request.session.get(SOURCE_KEY, "")
    return chosen if chosen in CAPTURE_CHOICES else str(DEFAULT_SOURCE)


def _recent_ids(request: OrgRequest, campaign: Campaign) -> list[int]:
    stored = request.session.get(RECENT_KEY, {})
    ids = stored.get(str(campaign.pk), []) if isinstance(stored, dict) else []
    return [pk for pk in ids if isinstance(pk, int)][:RECENT_SIZE]


def _remember(request: OrgRequest, campaign: Campaign, source: str, readings: list[int]) -> None:
    stored = request.session.get(RECENT_KEY, {})
    if not isinstance(stored, dict):
        stored = {}
    ids = readings + [pk for pk in _recent_ids(request, campaign) if pk not in readings]
    stored[str(campaign.pk)] = ids[:RECENT_SIZE]
    request.session[RECENT_KEY] = stored
    request.session[SOURCE_KEY] = source


def _recent(request: OrgRequest, campaign: Campaign) -> list[RecentEntry]:
    """The session's last entries as they are now (one query)."""
    ids = _recent_ids(request, campaign)
    if not ids:
        return []
    found = {
        reading.pk: reading
        for reading in Reading.with_trashed.filter(pk__in=ids, campaign=campaign).select_related(
            "register__meter"
        )
    }
    may_change = has_permission(request, "capture") and campaign.status != CampaignStatus.EXPORTED
    entries = []
    for pk in ids:
        reading = found.get(pk)
        if reading is None:
            continue
        status = (
            "undone"
            if reading.deleted_at is not None
            else "effective"
            if reading.is_effective
            else "replaced"
        )
        entries.append(
            RecentEntry(
                reading,
                status,
                may_undo=may_change
                and status == "effective"
                and reading.state != ReviewState.RELEASED,
            )
        )
    return entries


def _page(
    request: OrgRequest,
    campaign: Campaign,
    *,
    lookup: Lookup | None = None,
    rows: list[Row] | None = None,
    form: CaptureForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    can_capture = has_permission(request, "capture")
    exported = campaign.status == CampaignStatus.EXPORTED
    if form is None and lookup is not None and lookup.lines:
        # a scanned reply card is captured as one
        card = lookup.matched == "card"
        form = CaptureForm(
            lookup.lines,
            initial={
                "nummer": lookup.text,
                "datum": default_reading_date(campaign),
                "quelle": str(ReadingSource.LETTER) if card else _source(request),
            },
        )
    rows = rows or []
    confirm = any(NEEDS_CONFIRM in row.needs for row in rows)
    focus_elsewhere = any(row.focus for row in rows) or confirm
    if rows and not focus_elsewhere:
        rows[0].focus = "value"
    context = {
        "campaign": campaign,
        "lookup": lookup,
        "number": lookup.text if lookup is not None else "",
        "rows": rows,
        "form": form,
        "problems": problems or [],
        # a question the screen asks (a normal step) rather than an error
        "asking": bool(problems) and status == 200,
        "confirm": confirm,
        "confirm_focus": confirm and not any(row.focus for row in rows),
        "can_capture": can_capture and not exported,
        "read_only_reason": _read_only_reason(can_capture, exported),
        "recent": _recent(request, campaign),
        "max_text": MAX_TEXT,
        "check_url": reverse(
            "backend:capture_check",
            kwargs={"org": campaign.organisation.slug, "campaign_id": campaign.pk},
        ),
    }
    return render(request, TEMPLATE, context, status=status)


def _read_only_reason(can_capture: bool, exported: bool) -> str:
    if exported:
        return _(
            "Die Ableseaktion ist bereits exportiert; Zählerstände können nicht mehr erfasst werden."
        )
    if not can_capture:
        return _(
            "Sie können hier Zähler nachschlagen. Zählerstände erfassen nur Mitarbeitende "
            "mit dem Recht zur Erfassung."
        )
    return ""


@never_cache
@login_required
@require_permission("view")
@require_http_methods(["GET", "POST"])
def capture(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    if request.method == "POST":
        if not has_permission(request, "capture"):
            raise PermissionDenied
        return _save(request, campaign)
    number = request.GET.get("nummer", "")
    if not number.strip():
        return _page(request, campaign)
    lookup = find_registers(campaign, number)
    rows = [
        Row(view) for view in preview(lookup.lines, reading_date=default_reading_date(campaign))
    ]
    return _page(request, campaign, lookup=lookup, rows=rows)


def _conflicts(form_data: QueryDict, lookup: Lookup, effective: dict[int, Reading]) -> list[str]:
    """Registers whose value changed since the screen showed them: the clerk decides again
    (the screen now shows the newer value, "replace" is unticked)."""
    problems = []
    for line in lookup.lines:
        current = effective.get(line.register_id)
        shown = str(form_data.get(seen_name(line), "")).strip()
        now = str(current.pk) if current is not None else ""
        if shown == now:
            continue
        if str(form_data.get(value_name(line), "")).strip():
            problems.extend(ReadingConflict(current).messages)
        form_data[seen_name(line)] = now
        form_data.pop(replace_name(line), None)
    return problems


def _rows(form: CaptureForm, views: list[LinePreview], source: str) -> tuple[list[Row], list[str]]:
    """What each register still needs before it can be saved; the errors of the values."""
    errors: list[str] = []
    confirmed = CONFIRM in form.data
    rows = []
    for view in views:
        line = view.line
        row = Row(view, replace=form.replace(line), note=form.note(line))
        rows.append(row)
        result = view.result
        if result is None:
            continue
        if result.outcome is engine.Outcome.ERROR:
            errors.extend(view.messages)
            row.focus = row.focus or "value"
            continue
        if view.current is not None and not row.replace:
            row.needs.add(NEEDS_REPLACE)
        confirms = confirmed and form.checked(line) == view.value
        if result.outcome is engine.Outcome.WARNING and not row.note and not confirms:
            row.needs.add(NEEDS_CONFIRM)
        if not row.note and (
            result.outcome is engine.Outcome.IMPLAUSIBLE
            or source == ReadingSource.MANUAL_ESTIMATE
            or (row.released and row.replace)
        ):
            row.needs.add(NEEDS_NOTE)
    return rows, errors


def _asks(rows: list[Row], source: str) -> list[str]:
    """The messages for what the screen asks, and where the cursor goes."""
    asks: list[str] = []
    for row in rows:
        number = row.view.meter.number
        code = row.view.line.register.code
        label = f"{number} {code}".strip()
        if NEEDS_REPLACE in row.needs:
            asks.append(
                _(
                    "Zähler %(meter)s hat bereits einen Wert. Wählen Sie „Vorhandenen Wert "
                    "ersetzen“, wenn Ihr Wert ihn ersetzen soll."
                )
                % {"meter": label}
            )
            row.focus = row.focus or "replace"
        if NEEDS_NOTE in row.needs:
            if source == ReadingSource.MANUAL_ESTIMATE:
                text = _("Zähler %(meter)s: Eine manuelle Schätzung braucht einen Vermerk.")
            elif row.released and row.replace:
                text = _(
                    "Zähler %(meter)s: Der vorhandene Wert ist freigegeben. Bitte vermerken "
                    "Sie, warum er nicht stimmt."
                )
            else:
                text = _(
                    "Zähler %(meter)s: Der Wert ist unplausibel. Stimmt er, speichern Sie ihn "
                    "mit einem Vermerk (z. B. „Rückruf: Wert bestätigt“)."
                )
            asks.append(text % {"meter": label})
            row.focus = row.focus or "note"
        if NEEDS_CONFIRM in row.needs:
            asks.append(
                _(
                    "Zähler %(meter)s: Bitte prüfen Sie den Hinweis. Stimmt der Wert, bestätigen "
                    "Sie ihn mit „Bestätigen und speichern“ (Eingabetaste)."
                )
                % {"meter": label}
            )
    return asks


def _save(request: OrgRequest, campaign: Campaign) -> HttpResponse:
    lookup = find_registers(campaign, request.POST.get("nummer", ""))
    if not lookup.lines:
        return _page(request, campaign, lookup=lookup, status=400)
    data = request.POST.copy()
    effective = effective_readings(lookup.lines)
    conflicts = _conflicts(data, lookup, effective)
    form = CaptureForm(lookup.lines, data)
    valid = form.is_valid()
    reading_date = form.cleaned_data.get("datum") or default_reading_date(campaign)
    source = form.cleaned_data.get("quelle") or _source(request)
    views = preview(
        lookup.lines, form.typed_values(), reading_date=reading_date, effective=effective
    )
    rows, errors = _rows(form, views, source)
    if conflicts:
        return _page(
            request, campaign, lookup=lookup, rows=rows, form=form, problems=conflicts, status=409
        )
    if not valid or errors:
        return _page(
            request,
            campaign,
            lookup=lookup,
            rows=rows,
            form=form,
            problems=form.all_errors() + errors,
            status=400,
        )
    asks = _asks(rows, source)
    if asks:
        # asked for the first time: a normal step; asked again for the same value: an error
        again = all(form.checked(row.view.line) == row.view.value for row in rows if row.needs)
        return _page(
            request,
            campaign,
            lookup=lookup,
            rows=rows,
            form=form,
            problems=asks,
            status=400 if again else 200,
        )
    return _store(request, campaign, lookup, rows, form, reading_date, source)


def _store(
    request: OrgRequest,
    campaign: Campaign,
    lookup: Lookup,
    rows: list[Row],
    form: CaptureForm,
    reading_date: datetime.date,
    source: str,
) -> HttpResponse:
    confirmed = CONFIRM in form.data
    entries = {
        row.register_id: CaptureEntry(
            value=row.view.value,
            seen=row.view.current.pk if row.view.current is not None else None,
            replace=row.replace,
            confirmed=confirmed and form.checked(row.view.line) == row.view.value,
            note=row.note,
        )
        for row in rows
        if row.view.value
    }
    try:
        recorded = do_capture_reading(
            campaign,
            entries,
            organisation=request.organisation,
            source=source,
            actor=Actor.from_request(request),
            reading_date=reading_date,
        )
    except ReadingRefused as refused:  # nothing was stored: show the registers as they are now
        status = 409 if isinstance(refused, ReadingConflict) else 400
        data = QueryDict(mutable=True)
        data.update(form.data)
        if isinstance(refused, ReadingConflict):
            for line in lookup.lines:
                data.pop(replace_name(line), None)
        fresh = CaptureForm(lookup.lines, data)
        fresh.is_valid()
        views = preview(lookup.lines, fresh.typed_values(), reading_date=reading_date)
        fresh_rows, _errors = _rows(fresh, views, source)
        return _page(
            request,
            campaign,
            lookup=lookup,
            rows=fresh_rows,
            form=fresh,
            problems=refused.messages,
            status=status,
        )
    created = [item.reading.pk for item in recorded if item.created]
    _remember(request, campaign, source, created)
    messages.success(request, _saved_message(recorded, lookup))
    return redirect(_capture_url(campaign))


def _saved_message(recorded: list[Recorded], lookup: Lookup) -> str:
    language = engine_language()
    registers = {line.register_id: line.register for line in lookup.lines}
    parts = []
    for item in recorded:
        reading = item.reading
        register = registers[reading.register_id]
        label = f"{register.meter.number} {register.code}".strip()
        value = engine.format_decimal(reading.value, language, grouped=False)
        parts.append(f"{label}: {value}")
    if not any(item.created for item in recorded):
        return _("Unverändert: %(entries)s ist bereits so gespeichert.") % {
            "entries": ", ".join(parts)
        }
    first = recorded[0].reading
    return _("Gespeichert: Zähler %(entries)s (%(source)s, %(date)s).") % {
        "entries": ", ".join(parts),
        "source": first.get_source_display(),
        "date": engine.format_date(first.reading_date, language),
    }


@require_POST
@never_cache
@login_required
@require_permission("capture")
def capture_undo(request: OrgRequest, org: str, campaign_id: int, reading_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    try:
        undone = do_undo_capture(
            reading_id,
            organisation=request.organisation,
            actor=Actor.from_request(request),
            campaign_id=campaign.pk,
        )
    except Reading.DoesNotExist as missing:
        raise Http404 from missing
    except ReadingRefused as refused:
        for message in refused.messages:
            messages.error(request, message)
        return redirect(_capture_url(campaign))
    capture_reading = undone.capture
    meter = capture_reading.register.meter.number
    if undone.restored is None:
        messages.success(
            request,
            _(
                "Rückgängig gemacht: Die Erfassung für Zähler %(meter)s liegt im Papierkorb; "
                "das Zählwerk hat wieder keinen Wert."
            )
            % {"meter": meter},
        )
    else:
        language = engine_language()
        messages.success(
            request,
            _(
                "Rückgängig gemacht: Für Zähler %(meter)s gilt wieder %(value)s (%(source)s, "
                "%(date)s) als neue Version %(version)s."
            )
            % {
                "meter": meter,
                "value": engine.format_decimal(undone.restored.value, language, grouped=False),
                "source": undone.restored.get_source_display(),
                "date": engine.format_date(undone.restored.reading_date, language),
                "version": undone.restored.version,
            },
        )
    return redirect(_capture_url(campaign))


@require_GET
@never_cache
@login_required
@require_permission("view")
def capture_check(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    """htmx: the check of one typed value while the clerk types (stores nothing)."""
    campaign = _campaign(campaign_id)
    try:
        register_id = int(request.GET.get("zaehlwerk", ""))
    except ValueError:
        return HttpResponse("")
    lines = list(
        campaign_lines(campaign)
        .filter(register_id=register_id)
        .select_related("register__meter")
        .defer("raw_row")
    )
    if not lines:
        raise Http404
    line = lines[0]
    line.campaign = campaign
    form = CaptureForm(lines, request.GET)
    form.is_valid()
    reading_date = form.cleaned_data.get("datum") or default_reading_date(campaign)
    (view,) = preview(lines, form.typed_values(), reading_date=reading_date)
    context: dict[str, Any] = {"row": Row(view), "live": True}
    # A check may still run when Enter has saved the card: a session is saved whole, so a
    # check that wrote it back (the idle timer) would drop the entry the save just listed.
    request.session.modified = False
    return render(request, FEEDBACK_TEMPLATE, context)
