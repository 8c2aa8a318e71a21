"""The audit log (Protokoll) of an organisation, for its admins and viewers: a filterable
list (date range, actor, action, object) with the registered German texts, and the same
filter as a CSV download (formula-like cells neutralised)."""

import datetime
import itertools
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ablesung.core import audit_actions
from ablesung.core.form_rendering import DATE_INPUT_FORMATS, KERN_INPUT, KernDateInput
from ablesung.core.models import AuditEntry
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.property_history import who
from ablesung.lib.safe_csv import csv_lines

PER_PAGE = 50
#: object types an entry can be about, with their German names (the filter's choices)
OBJECT_TYPES = {
    "user": _("Benutzerkonto"),
    "membership": _("Mitgliedschaft"),
    "invitation": _("Einladung"),
    "organisation": _("Organisation"),
    "campaign": _("Ableseaktion"),
    "importbatch": _("Import"),
    "property": _("Objekt"),
    "meter": _("Zähler"),
    "campaignmeter": _("Zählwerk in der Ableseaktion"),
    "reading": _("Zählerstand"),
    "releaserun": _("Freigabelauf"),
    "citizenmessage": _("Nachricht"),
}


class AuditFilterForm(forms.Form):
    von = forms.DateField(
        label=_("Von"), required=False, input_formats=DATE_INPUT_FORMATS, widget=KernDateInput()
    )
    bis = forms.DateField(
        label=_("Bis"), required=False, input_formats=DATE_INPUT_FORMATS, widget=KernDateInput()
    )
    akteur = forms.CharField(
        label=_("Wer (E-Mail-Adresse oder Anfang davon)"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs=KERN_INPUT),
    )
    aktion = forms.ChoiceField(label=_("Aktion"), required=False)
    objekt = forms.ChoiceField(label=_("Objektart"), required=False)
    objekt_id = forms.CharField(
        label=_("Objekt-Nummer (ID)"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={**KERN_INPUT, "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actions = sorted(
            ((code, str(text)) for code, text in audit_actions.ACTIONS.items()),
            key=lambda item: item[1],
        )
        self.fields["aktion"].choices = [("", _("alle")), *actions]  # type: ignore[attr-defined]
        self.fields["aktion"].widget.attrs.update({"class": "kern-form-input__select"})
        objects = sorted(((k, str(v)) for k, v in OBJECT_TYPES.items()), key=lambda i: i[1])
        self.fields["objekt"].choices = [("", _("alle")), *objects]  # type: ignore[attr-defined]
        self.fields["objekt"].widget.attrs.update({"class": "kern-form-input__select"})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("von"), cleaned.get("bis")
        if start and end and start > end:
            self.add_error("bis", _("„Bis“ liegt vor „Von“."))
        return cleaned


def filtered_entries(request: OrgRequest, form: AuditFilterForm) -> "QuerySet[AuditEntry]":
    """The organisation's entries (the audit log is not a tenant table: named here)."""
    entries = AuditEntry.objects.filter(organisation=request.organisation).select_related("actor")
    if not form.is_valid():
        return entries.none()
    data = form.cleaned_data
    tz = timezone.get_current_timezone()
    if data.get("von"):
        entries = entries.filter(
            created_at__gte=datetime.datetime.combine(data["von"], datetime.time(), tz)
        )
    if data.get("bis"):
        end = datetime.datetime.combine(
            data["bis"] + datetime.timedelta(days=1), datetime.time(), tz
        )
        entries = entries.filter(created_at__lt=end)
    if data.get("akteur"):
        entries = entries.filter(actor_label__istartswith=data["akteur"].strip())
    if data.get("aktion"):
        entries = entries.filter(action=data["aktion"])
    if data.get("objekt"):
        entries = entries.filter(object_type=data["objekt"])
    if data.get("objekt_id"):
        entries = entries.filter(object_id=data["objekt_id"].strip())
    return entries.order_by("-created_at", "-id")


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "entry": entry,
        "text": audit_actions.describe(entry.action),
        "who": who(entry.actor_label, entry.actor),
        "object": str(OBJECT_TYPES.get(entry.object_type, entry.object_type)),
    }


@require_GET
@never_cache
@login_required
@require_permission("view_audit")
def audit_log(request: OrgRequest, org: str) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        form = AuditFilterForm({})
    entries = filtered_entries(request, form)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("seite"))
    query = request.GET.copy()
    query.pop("seite", None)
    context = {
        "form": form,
        "page": page,
        "rows": [_row(entry) for entry in page.object_list],
        "query": query.urlencode(),
    }
    return render(request, "backend/audit_log.html", context)


def _csv_rows(entries: "QuerySet[AuditEntry]") -> Iterator[list[object]]:
    yield [
        "Zeit (UTC)",
        "Aktion",
        "Beschreibung",
        "Wer",
        "Client-IP",
        "Objektart",
        "Objekt-ID",
        "Daten",
    ]
    for entry in entries.iterator(chunk_size=2000):
        row = _row(entry)
        yield [
            entry.created_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.action,
            row["text"],
            row["who"],
            entry.client_ip or "",
            row["object"],
            entry.object_id,
            "; ".join(f"{key}={value}" for key, value in sorted(entry.data.items())),
        ]


@require_GET
@never_cache
@login_required
@require_permission("view_audit")
def audit_log_csv(request: OrgRequest, org: str) -> StreamingHttpResponse:
    form = AuditFilterForm(request.GET or {})
    lines = csv_lines(_csv_rows(filtered_entries(request, form)))
    response = StreamingHttpResponse(
        itertools.chain([b"\xef\xbb\xbf"], (line.encode("utf-8") for line in lines)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="protokoll-{org}-{stamp}.csv"'
    return response
