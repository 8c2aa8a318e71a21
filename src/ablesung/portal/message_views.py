"""“Nachricht an die Verwaltung”: a citizen writes to the administration."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ablesung.core.services.access import PortalAccess
from ablesung.core.services.citizen_messages import do_send_citizen_message
from ablesung.portal.forms import MessageForm
from ablesung.portal.pages import citizen_actor, page_context, portal_page


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
            actor=citizen_actor(request),
        )
        messages.success(request, _("Ihre Nachricht ist bei der Verwaltung eingegangen."))
        return HttpResponseRedirect(reverse("portal:home"))
    status = 400 if form.errors else 200
    return render(request, "portal/message.html", page_context(request, form=form), status=status)
