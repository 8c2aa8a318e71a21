"""Citizen pages after access: overview, reading form per meter, feedback, finish, messages."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ablesung import plausibility as engine
from ablesung.core.models import (
    CampaignMeter,
    ConfirmationReason,
    Meter,
    Organisation,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import PortalAccess, same_person_properties
from ablesung.core.services.actor import Actor
from ablesung.core.services.citizen_messages import do_send_citizen_message
from ablesung.core.services.confirmation import queue_reading_confirmation
from ablesung.core.services.history import HistoryPoint, chart_bars, consumption_history
from ablesung.core.services.readings import (
    ReadingRefused,
    Submission,
    check_value,
    citizen_may_change,
    do_record_reading,
    unit_for,
)
from ablesung.lib.photos import PhotoRejected, sanitise_photo
from ablesung.portal.access_views import window_page
from ablesung.portal.forms import (
    FinishForm,
    MessageForm,
    MeterReadingForm,
    reason_field,
    reason_text_field,
    value_field,
)
from ablesung.portal.session import current_access, switch_property

LAST_SUBMISSION_KEY = "portal_finished"


class PortalRequest(HttpRequest):
    portal_access: PortalAccess


def portal_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Needs an open portal session for an online campaign; runs in its organisation's scope."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access = current_access(request)
        if access is None:
            return HttpResponseRedirect(reverse("portal:access"))
        closed = window_page(request, access)
        if closed is not None:
            return closed
        request.portal_access = access  # type: ignore[attr-defined]
        with organisation_scope(access.organisation):
            return view(request, *args, **kwargs)

    return never_cache(wrapper)


@dataclass
class LineView:
    """One register on a portal page: its current reading and what the check says."""

    line: CampaignMeter
    effective: Reading | None
    may_change: bool
    result: engine.CheckResult | None = None
    submitted_reason: str = ""
    submitted_reason_text: str = ""
    history: list[HistoryPoint] = field(default_factory=list)

    @property
    def value_name(self) -> str:
        return value_field(self.line)

    @property
    def reason_name(self) -> str:
        return reason_field(self.line)

    @property
    def reason_text_name(self) -> str:
        return reason_text_field(self.line)

    @property
    def unit(self) -> str:
        return unit_for(self.line.register.meter.kind)

    @property
    def released(self) -> bool:
        return self.effective is not None and self.effective.state == ReviewState.RELEASED

    @property
    def feedback(self) -> list[str]:
        return self.result.messages(_language()) if self.result is not None else []

    @property
    def reasons(self) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in ConfirmationReason.choices]

    @property
    def bars(self) -> list[Any]:
        return chart_bars(self.history)


def _language() -> str:
    from django.utils.translation import get_language

    return "en" if (get_language() or "de").startswith("en") else "de"


def _lines(access: PortalAccess, meter: Meter | None = None) -> list[CampaignMeter]:
    """The property's registers in this campaign, with meter, campaign and organisation set."""
    registers = Register.objects.filter(
        meter__property=access.property, meter__deleted_at__isnull=True
    )
    if meter is not None:
        registers = registers.filter(meter=meter)
    lines = list(
        CampaignMeter.objects.filter(campaign=access.campaign, register__in=registers)
        .defer("raw_row")
        .select_related("register__meter")
        .order_by("register__meter__number", "register__code")
    )
    for line in lines:
        line.campaign = access.campaign  # already loaded with its organisation
    return lines


def _views(lines: list[CampaignMeter]) -> list[LineView]:
    """One query for the effective readings of all lines."""
    today = timezone.localdate()
    current: dict[int, Reading] = {}
    if lines:
        readings = Reading.objects.filter(
            campaign_id=lines[0].campaign_id,
            register_id__in=[line.register_id for line in lines],
            superseded_by__isnull=True,
        ).order_by("created_at", "id")
        current = {reading.register_id: reading for reading in readings}  # newest wins
    views = [LineView(line, current.get(line.register_id), False) for line in lines]
    for view in views:
        view.may_change = citizen_may_change(view.line, view.effective, today)
    return views


def _meters(views: list[LineView]) -> list[tuple[Meter, list[LineView]]]:
    grouped: dict[int, tuple[Meter, list[LineView]]] = {}
    for view in views:
        meter = view.line.register.meter
        grouped.setdefault(meter.pk, (meter, []))[1].append(view)
    return list(grouped.values())


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    return {
        "access": access,
        "portal_organisation": access.organisation,
        "campaign": access.campaign,
        "property": access.property,
        **extra,
    }


@portal_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """``/portal/``: the property's meters with what has been entered so far."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    views = _views(_lines(access))
    context = _context(
        request,
        meters=_meters(views),
        entered=sum(1 for view in views if view.effective is not None),
        total=len(views),
        others=same_person_properties(access),
    )
    return render(request, "portal/home.html", context)


def _submission(form: MeterReadingForm, view: LineView) -> Submission:
    return Submission(
        value=form.cleaned_data[view.value_name],
        reading_date=form.cleaned_data["reading_date"],
        reason=form.cleaned_data.get(view.reason_name) or "",
        reason_text=form.cleaned_data.get(view.reason_text_name) or "",
        comment=form.cleaned_data.get("comment") or "",
    )


def _needs_more(view: LineView, submission: Submission) -> bool:
    result = view.result
    if result is None or result.outcome is engine.Outcome.ERROR:
        return True
    if not result.needs_confirmation:
        return False
    if submission.reason not in ConfirmationReason.values:
        return True
    return submission.reason == ConfirmationReason.OTHER and not submission.reason_text.strip()


def _save(
    request: HttpRequest, form: MeterReadingForm, views: list[LineView], photo: bytes | None
) -> list[str]:
    """Stores every register of the meter, all or nothing; the refusal messages if any."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    actor = Actor(user=None, label=f"portal:{access.property.pk}", ip=_ip(request))
    try:
        with transaction.atomic():
            for view in views:
                recorded = do_record_reading(
                    view.line,
                    _submission(form, view),
                    source=ReadingSource.ONLINE,
                    actor=actor,
                    photo=photo,
                )
                view.effective = recorded.reading
    except ReadingRefused as refused:
        return refused.messages
    return []


def _ip(request: HttpRequest) -> str | None:
    from ablesung.lib.net import client_ip

    return client_ip(request)


@portal_page
@require_http_methods(["GET", "POST"])
def meter_form(request: HttpRequest, meter_id: int) -> HttpResponse:
    """``/portal/zaehler/<id>/``: enter or correct the readings of one meter."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    meter = get_object_or_404(Meter, pk=meter_id, property=access.property)
    lines = _lines(access, meter)
    if not lines:
        raise Http404
    views = _views(lines)
    changeable = [view for view in views if view.may_change]
    form = MeterReadingForm([view.line for view in changeable])
    status = 200
    problems: list[str] = []
    if request.method == "POST" and changeable:
        form = MeterReadingForm([view.line for view in changeable], request.POST, request.FILES)
        status = 400
        if form.is_valid():
            submissions = {}
            for view in changeable:
                submission = _submission(form, view)
                submissions[view.line.pk] = submission
                view.result = check_value(view.line, submission.value, submission.reading_date)
                view.submitted_reason = submission.reason
                view.submitted_reason_text = submission.reason_text
            photo = None
            upload = form.cleaned_data.get("photo")
            if upload:
                try:
                    photo = sanitise_photo(upload.read())
                except PhotoRejected as rejected:
                    form.add_error("photo", rejected.message)
            if form.is_valid() and not any(
                _needs_more(view, submissions[view.line.pk]) for view in changeable
            ):
                problems = _save(request, form, changeable, photo)
                if not problems:
                    messages.success(
                        request,
                        _("Gespeichert: Zählerstand für Zähler %(number)s.")
                        % {"number": meter.number},
                    )
                    return HttpResponseRedirect(reverse("portal:home"))
            elif form.is_valid() and all(
                view.result is not None and view.result.outcome is not engine.Outcome.ERROR
                for view in changeable
            ):
                status = 200  # only a confirmation is missing: a normal step, not an error
    _enhance(form, meter, changeable)
    # the reason fields show only next to a check result; their errors must not get lost
    for view in changeable:
        for name in (view.reason_name, view.reason_text_name):
            problems.extend(str(error) for error in form.errors.get(name, []))
    for view in views:
        view.history = consumption_history(view.line, view.effective)
    context = _context(
        request, meter=meter, views=views, form=form, problems=problems, any_open=bool(changeable)
    )
    return render(request, "portal/meter_form.html", context, status=status)


def _enhance(form: MeterReadingForm, meter: Meter, views: list[LineView]) -> None:
    """htmx: check each value while it is typed (the page works without it)."""
    for view in views:
        register_id = view.line.register_id
        form.fields[view.value_name].widget.attrs.update(
            {
                "hx-get": reverse(
                    "portal:meter_check", kwargs={"meter_id": meter.pk, "register_id": register_id}
                ),
                "hx-trigger": "input changed delay:500ms, change",
                "hx-target": f"#feedback-{register_id}",
                "hx-include": "[name='reading_date']",
                "hx-sync": "this:replace",
                "aria-describedby": f"feedback-{register_id}",
            }
        )


@portal_page
@require_GET
def meter_check(request: HttpRequest, meter_id: int, register_id: int) -> HttpResponse:
    """The htmx feedback for one register while the citizen types (changes nothing)."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    meter = get_object_or_404(Meter, pk=meter_id, property=access.property)
    lines = [line for line in _lines(access, meter) if line.register_id == register_id]
    if not lines:
        raise Http404
    view = _views(lines)[0]
    form = MeterReadingForm(lines, request.GET)
    value = request.GET.get(view.value_name, "").strip()
    reading_date = timezone.localdate()
    if form.is_valid() or "reading_date" in form.cleaned_data:
        reading_date = form.cleaned_data.get("reading_date") or reading_date
    if value:
        view.result = check_value(view.line, value, reading_date)
    view.submitted_reason = request.GET.get(view.reason_name, "")
    view.submitted_reason_text = request.GET.get(view.reason_text_name, "")[:500]
    return render(request, "portal/_feedback.html", {"view": view})


@portal_page
@require_POST
def switch(request: HttpRequest, property_id: int) -> HttpResponse:
    """Switches to another property of the same person (same e-mail) in this campaign."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    target = next((p for p in same_person_properties(access) if p.pk == property_id), None)
    if target is None:
        raise Http404
    switch_property(request, PortalAccess(access.organisation, access.campaign, target, None))
    return HttpResponseRedirect(reverse("portal:home"))


def _entered(access: PortalAccess) -> list[LineView]:
    return [view for view in _views(_lines(access)) if view.effective is not None]


@portal_page
@require_http_methods(["GET", "POST"])
def finish(request: HttpRequest) -> HttpResponse:
    """``/portal/abschluss/``: what is stored, an optional e-mail, then send."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    entered = _entered(access)
    form = FinishForm(request.POST or None)
    if request.method == "POST" and entered and form.is_valid():
        email = form.cleaned_data.get("email") or ""
        readings = [view.effective for view in entered if view.effective is not None]
        if email:
            with transaction.atomic():
                queue_reading_confirmation(access, readings, email=email, lang=_language())
        request.session[LAST_SUBMISSION_KEY] = {
            "readings": [reading.pk for reading in readings],
            "email": bool(email),
        }
        return HttpResponseRedirect(reverse("portal:confirmation"))
    status = 400 if form.errors else 200
    context = _context(request, entered=entered, form=form)
    return render(request, "portal/finish.html", context, status=status)


@portal_page
@require_GET
def confirmation(request: HttpRequest) -> HttpResponse:
    """The receipt: the values as stored, and whether a confirmation e-mail is on its way."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    finished = request.session.get(LAST_SUBMISSION_KEY)
    if not isinstance(finished, dict):
        return HttpResponseRedirect(reverse("portal:home"))
    ids = [pk for pk in finished.get("readings", []) if isinstance(pk, int)]
    readings = list(
        Reading.objects.filter(
            pk__in=ids, register__meter__property=access.property, campaign=access.campaign
        )
        .select_related("register__meter")
        .order_by("register__meter__number", "register__code")
    )
    context = _context(request, readings=readings, email_sent=bool(finished.get("email")))
    return render(request, "portal/confirmation.html", context)


@portal_page
@require_http_methods(["GET", "POST"])
def message(request: HttpRequest) -> HttpResponse:
    """ "Nachricht an die Verwaltung"."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        do_send_citizen_message(
            access,
            reason=form.cleaned_data["reason"],
            text=form.cleaned_data["text"],
            phone=form.cleaned_data.get("phone") or "",
            email=form.cleaned_data.get("email") or "",
            actor=Actor(user=None, label=f"portal:{access.property.pk}", ip=_ip(request)),
        )
        messages.success(request, _("Ihre Nachricht ist bei der Verwaltung eingegangen."))
        return HttpResponseRedirect(reverse("portal:home"))
    status = 400 if form.errors else 200
    return render(request, "portal/message.html", _context(request, form=form), status=status)


@require_GET
def how_to_read(request: HttpRequest) -> HttpResponse:
    """Help page with drawings; works with and without a portal session."""
    access = current_access(request)
    context = {
        "portal_organisation": access.organisation if access is not None else None,
        "back_url": reverse("portal:home") if access is not None else "",
    }
    return render(request, "portal/how_to_read.html", context)


@require_GET
def logo(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The organisation's logo (stored re-encoded as JPEG)."""
    organisation = get_object_or_404(Organisation, slug=slug, is_active=True)
    name = organisation.logo.name if organisation.logo else None
    if not name or not default_storage.exists(name):
        raise Http404
    response = FileResponse(default_storage.open(name), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=3600"
    return response
