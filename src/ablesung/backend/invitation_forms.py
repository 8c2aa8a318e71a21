"""The forms of invitations and reminders: confirmation of a second invitation, the setting."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_REMINDER_DAYS = 60


class InviteForm(forms.Form):
    #: the number of people invited so far that the user confirms to invite again
    confirmed_invited = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"})
    )

    def __init__(self, *args: Any, invited: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invited = invited
        self.fields["confirmed_invited"].initial = invited

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.invited and not cleaned.get("confirm"):
            raise ValidationError(
                _(
                    "Bitte bestätigen Sie, dass die schon eingeladenen Personen eine weitere "
                    "E-Mail mit neuen Links bekommen."
                )
            )
        return cleaned


class ReminderSettingForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("Automatisch per E-Mail erinnern"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )
    days_before = forms.IntegerField(
        label=_("Tage vor Ende der Online-Erfassung"),
        min_value=0,
        max_value=MAX_REMINDER_DAYS,
        widget=forms.NumberInput(attrs={"class": "kern-form-input__input", "inputmode": "numeric"}),
        error_messages={
            "required": _("Bitte geben Sie die Zahl der Tage an."),
            "invalid": _("Bitte geben Sie eine ganze Zahl an."),
            "min_value": _("Bitte geben Sie 0 oder mehr Tage an."),
            "max_value": _("Höchstens %(limit_value)s Tage."),
        },
    )
