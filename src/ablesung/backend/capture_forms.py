"""The capture screen's form: a value (and what the clerk chose) per register, date, source.

Field names are German, they show in the address bar and in the page source:
``nummer`` (the meter or object number or the reply card's code looked up), ``datum``, ``quelle``, and per register
``wert_<id>``, ``gesehen_<id>`` (the id of the value the screen showed), ``geprueft_<id>``
(the value whose check result the screen showed), ``ersetzen_<id>`` and ``vermerk_<id>``.
The button ``bestaetigen`` confirms the warnings the screen showed.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ablesung.core.form_rendering import DATE_INPUT_FORMATS, KernDateInput
from ablesung.core.models import CampaignMeter, ReadingSource
from ablesung.core.services.capture import CAPTURE_CHOICES, MAX_TEXT
from ablesung.core.services.readings import MAX_NOTE

INPUT = "kern-form-input__input"
#: ISO from ``<input type="date">``; German for browsers that show a text field instead
MAX_VALUE = 30
CONFIRM = "bestaetigen"


def value_name(line: CampaignMeter) -> str:
    return f"wert_{line.register_id}"


def seen_name(line: CampaignMeter) -> str:
    return f"gesehen_{line.register_id}"


def checked_name(line: CampaignMeter) -> str:
    return f"geprueft_{line.register_id}"


def replace_name(line: CampaignMeter) -> str:
    return f"ersetzen_{line.register_id}"


def note_name(line: CampaignMeter) -> str:
    return f"vermerk_{line.register_id}"


def source_choices() -> list[tuple[str, str]]:
    labels = dict(ReadingSource.choices)
    return [(str(source), str(labels[source])) for source in CAPTURE_CHOICES]


class CaptureForm(forms.Form):
    """Reads what the capture screen posts; the screen draws the register fields itself
    (next to each register's previous reading and expected range)."""

    nummer = forms.CharField(max_length=MAX_TEXT, widget=forms.HiddenInput)
    datum = forms.DateField(
        label=_("Ablesedatum"),
        widget=KernDateInput(),
        input_formats=DATE_INPUT_FORMATS,
        error_messages={
            "required": _("Bitte geben Sie das Ablesedatum an."),
            "invalid": _("Bitte geben Sie ein gültiges Datum an, z. B. 31.12.2026."),
        },
    )
    quelle = forms.ChoiceField(
        label=_("Quelle"),
        choices=source_choices,
        widget=forms.Select(attrs={"class": "kern-form-input__select"}),
        error_messages={
            "required": _("Bitte wählen Sie, wie der Zählerstand eingegangen ist."),
            "invalid_choice": _("Bitte wählen Sie, wie der Zählerstand eingegangen ist."),
        },
    )

    def __init__(self, lines: list[CampaignMeter], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[value_name(line)] = forms.CharField(
                required=False,
                max_length=MAX_VALUE,
                error_messages={
                    "max_length": _("Der Zählerstand darf höchstens 30 Zeichen lang sein.")
                },
            )
            self.fields[seen_name(line)] = forms.IntegerField(required=False, min_value=1)
            self.fields[checked_name(line)] = forms.CharField(required=False, max_length=MAX_VALUE)
            self.fields[replace_name(line)] = forms.BooleanField(required=False)
            self.fields[note_name(line)] = forms.CharField(
                required=False,
                max_length=MAX_NOTE,
                error_messages={
                    "max_length": _("Der Vermerk darf höchstens 500 Zeichen lang sein.")
                },
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.lines and not any(
            (cleaned.get(value_name(line)) or "").strip() for line in self.lines
        ):
            raise forms.ValidationError(_("Bitte geben Sie mindestens einen Zählerstand ein."))
        return cleaned

    def typed_values(self) -> dict[int, str]:
        """The values typed, by register id (also from a form with errors)."""
        values = {}
        for line in self.lines:
            typed = str(self.data.get(value_name(line), ""))[:MAX_VALUE].strip()
            if typed:
                values[line.register_id] = typed
        return values

    def seen(self, line: CampaignMeter) -> str:
        return str(self.data.get(seen_name(line), "")).strip()

    def checked(self, line: CampaignMeter) -> str:
        return str(self.data.get(checked_name(line), "")).strip()

    def replace(self, line: CampaignMeter) -> bool:
        return bool(self.cleaned_data.get(replace_name(line)))

    def note(self, line: CampaignMeter) -> str:
        return str(self.cleaned_data.get(note_name(line)) or "").strip()

    def all_errors(self) -> list[str]:
        """Every error message of the form, for the summary above it."""
        return [str(error) for errors in self.errors.values() for error in errors]
