"""The reading-letters dialog: which properties, and the confirmation to invalidate."""

import json
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ablesung.letters.models import LetterSelection


class LettersForm(forms.Form):
    selection = forms.ChoiceField(
        label=_("Für welche Objekte werden Briefe erstellt?"),
        choices=LetterSelection.choices,
        initial=LetterSelection.ALL,
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        error_messages={"required": _("Bitte wählen Sie die Objekte.")},
    )
    object_numbers = forms.CharField(
        label=_("Objektnummern (eine je Zeile)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "kern-form-input__input"}),
    )
    street = forms.ChoiceField(
        label=_("Straße"),
        required=False,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )
    district = forms.ChoiceField(
        label=_("Ort oder Ortsteil"),
        required=False,
        help_text=_("wie in der Anschrift der Objekte (Feld „Ort“ der Zählerliste)"),
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
    )
    #: the number of letters already produced that the user confirms to invalidate
    confirmed_made = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"})
    )

    def __init__(
        self,
        *args: Any,
        made: int = 0,
        streets: Sequence[tuple[str, str, int]] = (),
        districts: Sequence[tuple[str, int]] = (),
        **kwargs: Any,
    ) -> None:
        """``streets`` (street, place, count) and ``districts`` (place, count): the
        campaign's, with their number of properties."""
        super().__init__(*args, **kwargs)
        self.made = made
        self.fields["confirmed_made"].initial = made
        street = self.fields["street"]
        district = self.fields["district"]
        assert isinstance(street, forms.ChoiceField)
        assert isinstance(district, forms.ChoiceField)
        # a street is named with its place: the same street name recurs in the Ortsteile
        street.choices = [
            ("", _("– bitte wählen –")),
            *(
                (
                    json.dumps([name, place], ensure_ascii=False),
                    _count_label(f"{name}, {place}" if place else name, count),
                )
                for name, place, count in streets
            ),
        ]
        district.choices = [
            ("", _("– bitte wählen –")),
            *((place, _count_label(place, count)) for place, count in districts),
        ]

    def street_and_district(self) -> tuple[str, str]:
        """The street and place of a street selection, or the place of a district selection."""
        selection = self.cleaned_data.get("selection")
        if selection == LetterSelection.STREET:
            name, place = json.loads(self.cleaned_data["street"])
            return str(name), str(place)
        if selection == LetterSelection.DISTRICT:
            return "", str(self.cleaned_data["district"])
        return "", ""

    def numbers(self) -> list[str]:
        text = self.cleaned_data.get("object_numbers") or ""
        return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("selection") == LetterSelection.OBJECT_NUMBERS and not self.numbers():
            self.add_error("object_numbers", _("Bitte mindestens eine Objektnummer angeben."))
        if cleaned.get("selection") == LetterSelection.STREET and not cleaned.get("street"):
            self.add_error("street", _("Bitte wählen Sie eine Straße."))
        if cleaned.get("selection") == LetterSelection.DISTRICT and not cleaned.get("district"):
            self.add_error("district", _("Bitte wählen Sie einen Ort oder Ortsteil."))
        if self.made and not cleaned.get("confirm"):
            raise ValidationError(
                _(
                    "Bitte bestätigen Sie, dass die Zugangscodes und Links der schon "
                    "erstellten Briefe für die ausgewählten Objekte ungültig werden."
                )
            )
        return cleaned


def _count_label(name: str, count: int) -> str:
    return ngettext("%(name)s (%(count)s Objekt)", "%(name)s (%(count)s Objekte)", count) % {
        "name": name,
        "count": count,
    }
