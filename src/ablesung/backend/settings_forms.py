"""Settings forms: plausibility thresholds (German decimal input) and the monthly profile upload."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ablesung.core.services.plausibility_settings import (
    INTEGER_FIELDS,
    THRESHOLD_FIELDS,
    ThresholdsInvalid,
    ThresholdValue,
    format_threshold,
)
from ablesung.plausibility import Thresholds, parse_decimal


def _implausible_low_label() -> str:
    # "% des" would read as a "% d" placeholder to gettext tools: the sign goes in as a value
    return gettext("Unplausibel unter (%(percent)s des Erwarteten)") % {"percent": "%"}


_percent_label = lazy(_implausible_low_label, str)

#: the labels of ``ablesung.plausibility.thresholds.FIELD_LABELS``, marked for translation
#: (the pure package imports no Django; tests check that both stay the same in German)
LABELS: dict[str, Promise | str] = {
    "band_lower_pct": _("Hinweis unter (−%)"),
    "band_upper_pct": _("Hinweis über (+%)"),
    "min_deviation": _("Mindestabweichung"),
    "narrow_from": _("Enges Band ab Verbrauch"),
    "narrow_lower_pct": _("Enges Band unter (−%)"),
    "narrow_upper_pct": _("Enges Band über (+%)"),
    "implausible_factor": _("Unplausibel ab Vielfachem"),
    "implausible_add": _("Unplausibel ab Vielfachem plus"),
    "implausible_low_pct": _percent_label(),
    "implausible_low_from": _("Unplausibel niedrig ab erwartetem Verbrauch"),
    "overflow_high_pct": _("Überlauf: Vorwert ab (%)"),
    "overflow_low_pct": _("Überlauf: neuer Wert bis (%)"),
    "key_date_days": _("Höchster Abstand zum Stichtag (Tage)"),
    "estimate_widening": _("Aufweitung nach Schätzung (Faktor)"),
}
#: how the fields are grouped on the page (legend, field names)
GROUPS: tuple[tuple[Promise, tuple[str, ...]], ...] = (
    (
        _("Hinweisband (Warnung)"),
        ("band_lower_pct", "band_upper_pct", "min_deviation"),
    ),
    (
        _("Enges Band für große Verbräuche"),
        ("narrow_from", "narrow_lower_pct", "narrow_upper_pct"),
    ),
    (
        _("Unplausible Werte"),
        ("implausible_factor", "implausible_add", "implausible_low_pct", "implausible_low_from"),
    ),
    (
        _("Zählerüberlauf, Stichtag und Schätzungen"),
        ("overflow_high_pct", "overflow_low_pct", "key_date_days", "estimate_widening"),
    ),
)
EXAMPLE_FIELD = "vorjahresverbrauch"
EXAMPLE_DEFAULT = Decimal(80)
EXAMPLE_MAX = Decimal(10) ** 9
KERN_INPUT = {"class": "kern-form-input__input"}


class GermanNumberField(forms.Field):
    """A number typed the German way (``1,5``, ``1.000``); an English point is accepted too."""

    default_error_messages = {
        "invalid": _("Bitte geben Sie eine Zahl ein, z. B. 1,5."),
        "integer": _("Bitte geben Sie eine ganze Zahl ein."),
        "negative": _("Bitte geben Sie keine negative Zahl ein."),
        "too_large": _("Die Zahl ist zu groß."),
    }

    widget = forms.TextInput
    max_length = 30

    def __init__(self, *, integer: bool = False, **kwargs: Any) -> None:
        self.integer = integer
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not text:
            return None
        if len(text) > self.max_length:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large")
        try:
            number = parse_decimal(text)
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if number < 0:
            raise forms.ValidationError(self.error_messages["negative"], code="negative")
        if number > EXAMPLE_MAX:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large")
        if self.integer:
            if number != number.to_integral_value():
                raise forms.ValidationError(self.error_messages["integer"], code="integer")
            return int(number)
        return number

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs["inputmode"] = "numeric" if self.integer else "decimal"
        attrs["autocomplete"] = "off"
        return attrs


class ThresholdsForm(forms.Form):
    """The thresholds plus the live example's previous-year consumption.

    ``inherited``: the campaign page, where an empty field inherits the organisation's value
    (shown as the field's hint); on the organisation page every field is required.
    ``example_attrs``: the htmx attributes of the live example, set on every input.
    """

    def __init__(
        self,
        *args: Any,
        inherited: Thresholds | None = None,
        readonly: bool = False,
        example_attrs: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.inherited = inherited
        extra = {**KERN_INPUT, "data-example": "", **(example_attrs or {})}
        if readonly:
            extra["readonly"] = "readonly"
        for name in THRESHOLD_FIELDS:
            help_text: Any = ""
            if inherited is not None:
                help_text = _("Leer lassen für den Wert der Organisation: %(value)s") % {
                    "value": format_threshold(getattr(inherited, name))
                }
            self.fields[name] = GermanNumberField(
                label=LABELS[name],
                required=inherited is None,
                integer=name in INTEGER_FIELDS,
                help_text=help_text,
                widget=forms.TextInput(attrs=extra),
                error_messages={"required": _("Bitte geben Sie einen Wert ein.")},
            )
        self.fields[EXAMPLE_FIELD] = GermanNumberField(
            label=_("Vorjahresverbrauch"),
            required=False,
            help_text=_("Beispiel für ein ganzes Jahr, in m³"),
            widget=forms.TextInput(
                attrs={**KERN_INPUT, "data-example": "", **(example_attrs or {})}
            ),
        )

    def groups(self) -> list[tuple[Promise, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in GROUPS]

    def threshold_values(self) -> dict[str, ThresholdValue | None]:
        """The entered thresholds (``None`` where empty); call after ``is_valid()``."""
        return {name: self.cleaned_data.get(name) for name in THRESHOLD_FIELDS}

    def example_value(self) -> Decimal:
        value = self.cleaned_data.get(EXAMPLE_FIELD) if hasattr(self, "cleaned_data") else None
        return Decimal(value) if value is not None else EXAMPLE_DEFAULT

    def add_threshold_errors(self, exc: ThresholdsInvalid) -> None:
        for name, messages in exc.by_field.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


def initial_values(values: dict[str, ThresholdValue]) -> dict[str, str]:
    """Form initial data in German notation."""
    initial = {name: format_threshold(value) for name, value in values.items()}
    initial[EXAMPLE_FIELD] = format_threshold(EXAMPLE_DEFAULT)
    return initial


class ProfileUploadForm(forms.Form):
    """One monthly consumption profile (CSV ``Jahr;2026`` / ``Januar;103,24`` …).

    Used once per meter kind on the page, with the kind as the form's prefix.
    """

    def __init__(self, *args: Any, kind_label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind_label:
            self.fields["file"].label = _("Monatsprofil %(kind)s (CSV)") % {"kind": kind_label}

    file = forms.FileField(
        label=_("Monatsprofil (CSV)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt", **KERN_INPUT}),
        help_text=_("Eine Zeile je Monat, z. B. „Januar;103,24“; optional vorweg „Jahr;2026“."),
        error_messages={"required": _("Bitte wählen Sie eine Datei aus.")},
    )
