"""Citizen pages after access: the overview, the reading form per meter with its live check,
and switching between one person's properties."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ablesung import plausibility as engine
from ablesung.core.body_limit import MULTIPART_OVERHEAD, body_limit
from ablesung.core.models import ConfirmationReason, Meter, ReadingSource
from ablesung.core.services.access import PortalAccess, same_person_properties
from ablesung.core.services.history import consumption_history
from ablesung.core.services.readings import (
    ReadingRefused,
    Submission,
    check_value,
    do_record_readings,
)
from ablesung.lib.photos import PhotoRejected, sanitise_photo
from ablesung.portal.forms import CONFIRMATION_EMAIL_KEY, MAX_PHOTO_BYTES, MeterReadingForm
from ablesung.portal.pages import (
    LineView,
    citizen_actor,
    line_views,
    meter_lines,
    meters_of,
    page_context,
    portal_page,
    property_lines,
    property_lines_query,
)
from ablesung.portal.session import has_portal_cookie, switch_property


@portal_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """``/portal/``: the property's meters with what has been entered so far."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    views = line_views(property_lines(access))
    context = page_context(
        request,
        meters=meters_of(views),
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


def _photo(request: HttpRequest) -> tuple[bytes | None, str]:
    """The uploaded photo, cleaned, or the reason it was refused; before any row is locked
    (decoding a large photo takes a while)."""
    upload = request.FILES.get("photo")
    if not upload or upload.size is None or upload.size > MAX_PHOTO_BYTES:
        return None, ""  # none, or the form says it is too large
    try:
        return sanitise_photo(upload.read()), ""
    except PhotoRejected as rejected:
        return None, rejected.message


@body_limit(MAX_PHOTO_BYTES + MULTIPART_OVERHEAD, allowed=has_portal_cookie)
@portal_page
@require_http_methods(["GET", "POST"])
def meter_form(request: HttpRequest, meter_id: int) -> HttpResponse:
    """``/portal/zaehler/<id>/``: enter or correct the readings of one meter."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    if request.method == "POST":
        return _submit(request, access, meter_id)
    found = meter_lines(access, meter_id)  # no lines for another property's meter
    if not found.lines:
        raise Http404
    views = line_views(found.lines)
    for view in views:
        view.history = consumption_history(
            view.line, view.effective, found.history[view.line.register_id]
        )
    changeable = [view for view in views if view.may_change]
    form = MeterReadingForm([view.line for view in changeable])
    return _form_page(request, form, views, changeable, [], 200)


def _submit(request: HttpRequest, access: PortalAccess, meter_id: int) -> HttpResponse:
    """Checks the posted values and stores them, all registers or none.

    The form is built for the registers that may change as the page read them; the
    service then locks the meter's lines, reads their readings again under the lock and
    stores (or refuses, e.g. when a clerk released a value in between).
    """
    photo, photo_problem = _photo(request)
    lines = property_lines(access, meter_id)
    if not lines:
        raise Http404
    views = line_views(lines)
    changeable = [view for view in views if view.may_change]
    problems: list[str] = []
    if not changeable:  # nothing may change any more: the page says why
        form = MeterReadingForm([])
        status = 200
    else:
        form = MeterReadingForm([view.line for view in changeable], request.POST, request.FILES)
        status = _check(form, changeable, photo_problem)
    if status == 0:
        try:
            do_record_readings(
                property_lines_query(access, meter_id),
                {view.line.register_id: _submission(form, view) for view in changeable},
                organisation=access.organisation,
                source=ReadingSource.ONLINE,
                actor=citizen_actor(request),
                photo=photo,
            )
        except ReadingRefused as refused:  # nothing was stored
            problems, status = refused.messages, 400
        else:
            if form.cleaned_data.get("email"):  # offered again on the summary page
                request.session[CONFIRMATION_EMAIL_KEY] = form.cleaned_data["email"]
            messages.success(
                request,
                _("Gespeichert: Zählerstand für Zähler %(number)s.")
                % {"number": lines[0].register.meter.number},
            )
            return HttpResponseRedirect(reverse("portal:home"))
    for view in views:  # read only when the page is shown again
        view.history = consumption_history(view.line, view.effective)
    return _form_page(request, form, views, changeable, problems, status)


def _check(form: MeterReadingForm, changeable: list[LineView], photo_problem: str) -> int:
    """0 when the values may be stored; else the page's status: 200 when only a
    confirmation is missing (a normal step), 400 for errors."""
    if not form.is_valid():
        return 400
    submissions = [(view, _submission(form, view)) for view in changeable]
    for view, submission in submissions:
        view.result = check_value(view.line, submission.value, submission.reading_date)
        view.submitted_reason = submission.reason
        view.submitted_reason_text = submission.reason_text
    if photo_problem and form.cleaned_data.get("photo"):
        form.add_error("photo", photo_problem)
        return 400
    if not any(_needs_more(view, submission) for view, submission in submissions):
        return 0
    if all(
        view.result is not None and view.result.outcome is not engine.Outcome.ERROR
        for view in changeable
    ):
        return 200
    return 400


def _form_page(
    request: HttpRequest,
    form: MeterReadingForm,
    views: list[LineView],
    changeable: list[LineView],
    problems: list[str],
    status: int,
) -> HttpResponse:
    """The meter page; the views carry their history."""
    meter = views[0].line.register.meter
    _enhance(form, meter, changeable)
    # the reason fields show only next to a check result; their errors must not get lost
    for view in changeable:
        for name in (view.reason_name, view.reason_text_name):
            problems.extend(str(error) for error in form.errors.get(name, []))
    for view in changeable:
        view.field = form[view.value_name]
    context = page_context(
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
    lines = [line for line in property_lines(access, meter_id) if line.register_id == register_id]
    if not lines:
        raise Http404
    view = line_views(lines)[0]
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
    # the grant stays: revoking the letter that opened the session still ends it
    response = HttpResponseRedirect(reverse("portal:home"))
    switch_property(
        response, PortalAccess(access.organisation, access.campaign, target, access.grant_id)
    )
    return response
