"""Forms of the export: the close-and-export dialog and the export settings."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from ablesung.exports.models import ExportSelection
from ablesung.exports.services import DELIVERY_ATTACH, DELIVERY_LINK, MAX_RECIPIENTS


class ExportForm(forms.Form):
    """ "Abschließen und exportieren": what goes into the return file, and estimates first."""

    estimate_missing = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"})
    )
    selection = forms.ChoiceField(
        label=_("Welche Zählerstände werden exportiert?"),
        # whole phrases for the radio labels (the model's labels complete "Exportiert werden …")
        choices=[
            (
                ExportSelection.RELEASED_AND_ESTIMATED,
                _("Freigegebene und geschätzte Zählerstände (empfohlen)"),
            ),
            (
                ExportSelection.ALL_CURRENT,
                _("Alle aktuellen Zählerstände, auch nicht freigegebene"),
            ),
        ],
        initial=ExportSelection.RELEASED_AND_ESTIMATED,
        required=False,  # nothing chosen (a clerk's form has no choice): the default
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        error_messages={"invalid_choice": _("Bitte wählen Sie, was exportiert wird.")},
    )

    def __init__(self, *args: Any, may_choose: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_choose = may_choose

    def clean_selection(self) -> str:
        return str(self.cleaned_data.get("selection") or ExportSelection.RELEASED_AND_ESTIMATED)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        selection = cleaned.get("selection")
        if (
            selection
            and selection != ExportSelection.RELEASED_AND_ESTIMATED
            and not self.may_choose
        ):
            # a form-wide error: a clerk's form has no choice of selection to mark
            self.add_error(
                None,
                _(
                    "Nur Administrator:innen können auch nicht freigegebene Zählerstände "
                    "exportieren."
                ),
            )
            cleaned.pop("selection", None)
        return cleaned


class ExportSettingsForm(forms.Form):
    recipients = forms.CharField(
        label=_("Empfänger:innen der Exporte"),
        help_text=_(
            "Eine E-Mail-Adresse je Zeile, höchstens %(count)s; zum Beispiel die Adresse der "
            "Abrechnung."
        )
        % {"count": MAX_RECIPIENTS},
        # KERN styles a textarea with the input class (font, border, focus); the project's
        # textarea class keeps it inside a phone screen
        widget=forms.Textarea(
            attrs={"class": "kern-form-input__input kern-form-input__textarea", "rows": 4}
        ),
        max_length=MAX_RECIPIENTS * 260,
        required=False,
        error_messages={"max_length": _("Bitte geben Sie weniger Adressen an.")},
    )
    delivery = forms.ChoiceField(
        label=_("Wie kommen die Dateien an?"),
        choices=[
            (DELIVERY_ATTACH, _("Als Anhang der E-Mail")),
            (DELIVERY_LINK, _("Download-Link statt Anhang (Anmeldung erforderlich)")),
        ],
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        initial=DELIVERY_ATTACH,
        error_messages={
            "required": _("Bitte wählen Sie, wie die Dateien ankommen."),
            "invalid_choice": _("Bitte wählen Sie, wie die Dateien ankommen."),
        },
    )

    def clean_recipients(self) -> list[str]:
        lines = [
            line.strip()
            for line in self.cleaned_data.get("recipients", "")
            .replace(",", "\n")
            .replace(";", "\n")
            .splitlines()
        ]
        addresses = [line for line in lines if line]
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(
                _("Bitte geben Sie höchstens %(count)s Adressen an.") % {"count": MAX_RECIPIENTS}
            )
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ValidationError(
                    _("„%(address)s“ ist keine gültige E-Mail-Adresse.")
                    % {"address": address[:100]}
                ) from exc
        return addresses
