"""The reading-letters dialog: which properties, and the confirmation to invalidate."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

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
    #: the number of letters already produced that the user confirms to invalidate
    confirmed_made = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"})
    )

    def __init__(self, *args: Any, made: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made = made
        self.fields["confirmed_made"].initial = made

    def numbers(self) -> list[str]:
        text = self.cleaned_data.get("object_numbers") or ""
        return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("selection") == LetterSelection.OBJECT_NUMBERS and not self.numbers():
            self.add_error("object_numbers", _("Bitte mindestens eine Objektnummer angeben."))
        if self.made and not cleaned.get("confirm"):
            raise ValidationError(
                _(
                    "Bitte bestätigen Sie, dass die Zugangscodes und Links der schon "
                    "erstellten Briefe für die ausgewählten Objekte ungültig werden."
                )
            )
        return cleaned
