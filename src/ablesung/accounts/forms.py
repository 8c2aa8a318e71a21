from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-Mail-Adresse"),
        widget=forms.EmailInput(
            attrs={"autocomplete": "username", "autofocus": True, "class": "kern-form-input__input"}
        ),
    )
    password = forms.CharField(
        label=_("Passwort"),
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "class": "kern-form-input__input"}
        ),
    )

    error_messages = {
        "invalid_login": _(
            "E-Mail-Adresse oder Passwort ist falsch. Bitte prüfen Sie Ihre Eingabe."
        ),
        "inactive": _("E-Mail-Adresse oder Passwort ist falsch. Bitte prüfen Sie Ihre Eingabe."),
    }

    def clean_username(self) -> Any:
        return self.cleaned_data["username"].strip().lower()
