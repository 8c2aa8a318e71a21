"""The inbox of citizens' messages ("Nachricht an die Verwaltung").

Open messages first by default; the filter (open, done, all; one campaign) stays in the
URL, so a filtered inbox can be bookmarked. Members who may handle messages assign one to
a member, keep a note, and mark it done or open again; everyone else reads.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ablesung.core.models import Campaign, CitizenMessage
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.core.services.citizen_messages import (
    HANDLE_PERMISSION,
    MAX_NOTE,
    MessageRefused,
    assignable_members,
    do_update_citizen_message,
)

PAGE_SIZE = 25
OPEN, DONE, ALL = "offen", "erledigt", "alle"
STATES = (
    (OPEN, gettext_lazy("offen")),
    (DONE, gettext_lazy("erledigt")),
    (ALL, gettext_lazy("alle")),
)
SAVE, HANDLED, REOPEN = "speichern", "erledigt", "oeffnen"


class InboxFilter(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Stand"),
        choices=STATES,
        required=False,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )
    ableseaktion = forms.TypedChoiceField(
        label=gettext_lazy("Ableseaktion"),
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )

    def __init__(self, *args: Any, campaigns: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ableseaktion"].choices = [("", _("alle Ableseaktionen")), *campaigns]  # type: ignore[attr-defined]


class MessageUpdateForm(forms.Form):
    message = forms.IntegerField()
    assignee = forms.IntegerField(required=False)
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE,
        strip=True,
        error_messages={
            "max_length": gettext_lazy("Der Vermerk darf höchstens 2000 Zeichen lang sein.")
        },
    )
    aktion = forms.ChoiceField(choices=[(SAVE, SAVE), (HANDLED, HANDLED), (REOPEN, REOPEN)])


@require_GET
@never_cache
@login_required
@require_permission("view")
def inbox(request: OrgRequest, org: str) -> HttpResponse:
    campaigns = list(Campaign.objects.order_by("-key_date", "name").values_list("pk", "name"))
    filters = InboxFilter(request.GET, campaigns=campaigns)
    filters.is_valid()  # an unknown value is ignored: its field falls back to the default
    status = filters.cleaned_data.get("status") or OPEN
    campaign_id = filters.cleaned_data.get("ableseaktion")
    found = CitizenMessage.objects.all()
    if campaign_id is not None:
        found = found.filter(campaign_id=campaign_id)
    counts = found.aggregate(
        open=Count("pk", filter=Q(handled_at__isnull=True)),
        done=Count("pk", filter=Q(handled_at__isnull=False)),
    )
    if status == OPEN:
        found = found.filter(handled_at__isnull=True)
    elif status == DONE:
        found = found.filter(handled_at__isnull=False)
    found = found.select_related("property", "campaign", "assignee").order_by("-created_at", "-id")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("seite"))
    query = {"status": status, **({"ableseaktion": str(campaign_id)} if campaign_id else {})}
    can_handle = has_permission(request, HANDLE_PERMISSION)
    context = {
        "page": page,
        "filters": filters,
        "status": status,
        "counts": counts,
        "query": urlencode(query),
        "can_handle": can_handle,
        "members": list(assignable_members(request.organisation)) if can_handle else [],
        "max_note": MAX_NOTE,
    }
    return render(request, "backend/inbox.html", context)


def _back(request: OrgRequest, org: str) -> str:
    """The inbox page the form came from (its filter and page), else the inbox."""
    inbox_url = reverse("backend:inbox", kwargs={"org": org})
    target = request.POST.get("next", "")
    if target.startswith(inbox_url) and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=False
    ):
        return target
    return inbox_url


@require_POST
@never_cache
@login_required
@require_permission(HANDLE_PERMISSION)
def update_message(request: OrgRequest, org: str) -> HttpResponse:
    form = MessageUpdateForm(request.POST)
    if not form.is_valid():
        if "message" in form.errors:
            raise Http404
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_back(request, org))
    action = form.cleaned_data["aktion"]
    try:
        changed = do_update_citizen_message(
            form.cleaned_data["message"],
            organisation=request.organisation,
            actor=Actor.from_request(request),
            assignee_id=form.cleaned_data["assignee"],
            note=form.cleaned_data["note"],
            handled={SAVE: None, HANDLED: True, REOPEN: False}[action],
        )
    except CitizenMessage.DoesNotExist as exc:
        raise Http404 from exc
    except MessageRefused as exc:
        messages.error(request, str(exc))
    else:
        if not changed:
            messages.info(request, _("Die Nachricht war bereits so; es wurde nichts geändert."))
        elif action == HANDLED:
            messages.success(request, _("Die Nachricht ist erledigt."))
        elif action == REOPEN:
            messages.success(request, _("Die Nachricht ist wieder offen."))
        else:
            messages.success(request, _("Die Nachricht ist gespeichert."))
    return redirect(_back(request, org))
