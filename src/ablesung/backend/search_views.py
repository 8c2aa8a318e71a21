"""The meter and property list: search, filters, sorting, keyset pages.

Everything the clerk chose stays in the URL (``?ableseaktion=3&ergebnis=implausible``), so
"alle unplausiblen" can be bookmarked. Without ``ableseaktion`` the newest campaign is
shown; ``ableseaktion=`` (empty) lists every meter without reading columns. The query
itself lives in :mod:`ablesung.core.services.search`.
"""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ablesung.core.models import Campaign, MeterKind, Outcome, ReadingSource, ReviewState
from ablesung.core.scoping import OrgRequest, require_permission
from ablesung.core.services.search import (
    DEFAULT_SORT,
    MAX_TERM,
    NO_READING,
    CursorGone,
    MeterQuery,
    MeterSearch,
)

CAMPAIGN = "ableseaktion"
SORTS = (
    ("zaehler", gettext_lazy("Zählernummer aufsteigend")),
    ("-zaehler", gettext_lazy("Zählernummer absteigend")),
    ("objekt", gettext_lazy("Objektnummer aufsteigend")),
    ("-objekt", gettext_lazy("Objektnummer absteigend")),
    ("name", gettext_lazy("Name A–Z")),
    ("-name", gettext_lazy("Name Z–A")),
    ("strasse", gettext_lazy("Straße A–Z")),
    ("-strasse", gettext_lazy("Straße Z–A")),
)
#: the filters that need a campaign (they are about its readings)
READING_FILTERS = ("stand", "ohne_ablesung", "ergebnis", "quelle", "kontrollablesung")
#: the query parameters that make up the filter (kept in every link of the page)
FILTER_PARAMS = ("q", CAMPAIGN, "zaehlerart", *READING_FILTERS, "sortierung")


def _select(label: Any, choices: Any, empty: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[("", empty), *choices],
        required=False,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )


class MeterFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Suche"),
        help_text=gettext_lazy(
            "Anfang der Zähler-, Objekt- oder Kundennummer, des Namens oder der Straße"
        ),
        required=False,
        max_length=MAX_TERM,
        error_messages={
            "max_length": gettext_lazy("Der Suchbegriff darf höchstens 100 Zeichen lang sein.")
        },
        widget=forms.TextInput(attrs={"type": "search", "class": "kern-form-input__input"}),
    )
    ableseaktion = forms.TypedChoiceField(
        label=gettext_lazy("Ableseaktion"),
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )
    zaehlerart = _select(gettext_lazy("Zählerart"), MeterKind.choices, gettext_lazy("alle"))
    stand = _select(gettext_lazy("Bearbeitungsstand"), ReviewState.choices, gettext_lazy("alle"))
    ergebnis = _select(
        gettext_lazy("Plausibilität"),
        [(value, label) for value, label in Outcome.choices if value != Outcome.ERROR],
        gettext_lazy("alle"),
    )  # a value with an error is never stored
    quelle = _select(gettext_lazy("Quelle"), ReadingSource.choices, gettext_lazy("alle"))
    ohne_ablesung = forms.BooleanField(label=gettext_lazy("nur ohne Ablesung"), required=False)
    kontrollablesung = forms.BooleanField(
        label=gettext_lazy("nur mit angeforderter Kontrollablesung"), required=False
    )
    sortierung = forms.ChoiceField(
        label=gettext_lazy("Sortierung"),
        choices=SORTS,
        required=False,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )

    def __init__(self, *args: Any, campaigns: list[Campaign], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaigns = {campaign.pk: campaign for campaign in campaigns}
        choices: list[tuple[Any, str]] = [("", _("alle Zähler (ohne Ableseaktion)"))]
        choices += [(campaign.pk, campaign.name) for campaign in campaigns]
        self.fields[CAMPAIGN].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get(CAMPAIGN) is None and any(data.get(name) for name in READING_FILTERS):
            raise forms.ValidationError(
                _(
                    "Die Filter nach Ablesung (Stand, Plausibilität, Quelle, ohne Ablesung, "
                    "Kontrollablesung) gelten für eine Ableseaktion. Bitte wählen Sie eine aus."
                )
            )
        if data.get("ohne_ablesung") and any(
            data.get(name) for name in ("stand", "ergebnis", "quelle")
        ):
            raise forms.ValidationError(
                _(
                    "„nur ohne Ablesung“ lässt sich nicht mit Stand, Plausibilität oder Quelle "
                    "verbinden: ohne Ablesung gibt es keinen Zählerstand."
                )
            )
        return data

    def query(self) -> MeterQuery:
        data = self.cleaned_data
        sort = data.get("sortierung") or DEFAULT_SORT
        return MeterQuery(
            term=data.get("q") or "",
            campaign=self.campaigns.get(data[CAMPAIGN]) if data.get(CAMPAIGN) else None,
            state=NO_READING if data.get("ohne_ablesung") else data.get("stand") or "",
            outcome=data.get("ergebnis") or "",
            source=data.get("quelle") or "",
            kind=data.get("zaehlerart") or "",
            control=bool(data.get("kontrollablesung")),
            sort=sort.removeprefix("-"),
            descending=sort.startswith("-"),
        )


def _cursor(params: QueryDict, name: str) -> int | None:
    value = params.get(name, "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise CursorGone(value)
    return int(value)


def _filter_query(form: MeterFilterForm) -> str:
    """The filter as query parameters, without the page (for every link on the page)."""
    params = []
    for name in FILTER_PARAMS:
        value = form.cleaned_data.get(name)
        if name == CAMPAIGN:
            params.append((name, "" if value is None else str(value)))
        elif value is True:
            params.append((name, "1"))
        elif value:
            params.append((name, str(value)))
    return urlencode(params)


@require_GET
@never_cache
@login_required
@require_permission("view")
def meter_list(request: OrgRequest, org: str) -> HttpResponse:
    campaigns = list(Campaign.objects.order_by("-key_date", "name"))
    data = request.GET.copy()
    if CAMPAIGN not in data and campaigns:
        data[CAMPAIGN] = str(campaigns[0].pk)  # the newest campaign, until another is chosen
    form = MeterFilterForm(data, campaigns=campaigns)
    context: dict[str, Any] = {"form": form, "page": None, "notice": ""}
    if form.is_valid():
        search = MeterSearch(form.query())
        try:
            page = search.page(
                after=_cursor(request.GET, "nach"),
                before=_cursor(request.GET, "vor"),
                last=request.GET.get("letzte") == "1",
            )
        except CursorGone:
            context["notice"] = _("Diese Seite gibt es nicht mehr. Hier ist die erste Seite.")
            page = search.page()
        context.update(
            page=page,
            campaign=search.query.campaign,
            filter_query=_filter_query(form),
        )
    return render(request, "backend/meter_list.html", context)
