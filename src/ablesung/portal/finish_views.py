"""The summary with the send button, and the receipt (plus the confirmation mail)."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ablesung.core.language import engine_language
from ablesung.core.models import Reading
from ablesung.core.services.access import PortalAccess
from ablesung.core.services.confirmation import (
    TooManyConfirmations,
    do_queue_reading_confirmation,
)
from ablesung.portal.forms import CONFIRMATION_EMAIL_KEY, FinishForm
from ablesung.portal.pages import (
    LineView,
    citizen_actor,
    line_views,
    page_context,
    portal_page,
    property_lines,
)

LAST_SUBMISSION_KEY = "portal_finished"


def _entered(access: PortalAccess) -> list[LineView]:
    return [view for view in line_views(property_lines(access)) if view.effective is not None]


def _queue_confirmation(
    request: HttpRequest, access: PortalAccess, readings: list[Reading], email: str
) -> bool:
    """Queues the confirmation mail; ``False`` when today's mails are used up."""
    try:
        do_queue_reading_confirmation(
            access, readings, email=email, lang=engine_language(), actor=citizen_actor(request)
        )
    except TooManyConfirmations:
        return False
    return True


@portal_page
@require_http_methods(["GET", "POST"])
def finish(request: HttpRequest) -> HttpResponse:
    """``/portal/abschluss/``: what is stored, an optional e-mail, then send."""
    access: PortalAccess = request.portal_access  # type: ignore[attr-defined]
    entered = _entered(access)
    form = FinishForm(
        request.POST or None, initial={"email": request.session.get(CONFIRMATION_EMAIL_KEY, "")}
    )
    refused = False
    if request.method == "POST" and entered and form.is_valid():
        email = form.cleaned_data.get("email") or ""
        readings = [view.effective for view in entered if view.effective is not None]
        if email and not _queue_confirmation(request, access, readings, email):
            refused = True
            form.add_error(
                "email",
                _(
                    "Für heute wurden schon zu viele Bestätigungen verschickt. Ihre "
                    "Zählerstände sind gespeichert. Senden Sie ohne E-Mail-Adresse ab oder "
                    "versuchen Sie es morgen erneut."
                ),
            )
        else:
            request.session[LAST_SUBMISSION_KEY] = {
                "readings": [reading.pk for reading in readings],
                "email": bool(email),
            }
            return HttpResponseRedirect(reverse("portal:confirmation"))
    status = 429 if refused else 400 if form.errors else 200
    context = page_context(request, entered=entered, form=form)
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
    context = page_context(request, readings=readings, email_sent=bool(finished.get("email")))
    return render(request, "portal/confirmation.html", context)
