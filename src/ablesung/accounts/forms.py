from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ablesung.core.models import Role
from ablesung.mail.services import queue_mail

INPUT = "kern-form-input__input"


class StaffLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-Mail-Adresse"),
        widget=forms.EmailInput(
            attrs={"autocomplete": "username", "autofocus": True, "class": INPUT}
        ),
    )
    password = forms.CharField(
        label=_("Passwort"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": INPUT}),
    )

    error_messages = {
        "invalid_login": _(
            "E-Mail-Adresse oder Passwort ist falsch. Bitte prüfen Sie Ihre Eingabe."
        ),
        "inactive": _("E-Mail-Adresse oder Passwort ist falsch. Bitte prüfen Sie Ihre Eingabe."),
    }

    def clean_username(self) -> Any:
        return self.cleaned_data["username"].strip().lower()


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code aus der Authenticator-App oder Wiederherstellungscode"),
        max_length=40,
        help_text=_("Sechs Ziffern aus der App, oder einer Ihrer Wiederherstellungscodes."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "class": INPUT,
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
    )


class TotpSetupForm(forms.Form):
    code = forms.CharField(
        label=_("Sechsstelliger Code aus der App"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "class": INPUT}
        ),
    )


class NewPasswordForm(forms.Form):
    """Name and password for an invitee; the password rules are checked by the service."""

    full_name = forms.CharField(
        label=_("Ihr Name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "class": INPUT}),
    )
    password1 = forms.CharField(
        label=_("Passwort"),
        strip=False,
        help_text=_(
            "Mindestens 12 Zeichen; lange Passphrasen (auch über 64 Zeichen) sind willkommen. "
            "Kein verbreitetes Passwort und nichts, das Ihrer E-Mail-Adresse ähnelt."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "class": INPUT}),
    )
    password2 = forms.CharField(
        label=_("Passwort wiederholen"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "class": INPUT}),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        one, two = cleaned.get("password1"), cleaned.get("password2")
        if one and two and one != two:
            self.add_error("password2", _("Die beiden Passwörter stimmen nicht überein."))
        elif one:
            try:
                password_validation.validate_password(one, self.user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-Mail-Adresse"),
        widget=forms.EmailInput(attrs={"autocomplete": "off", "class": INPUT}),
    )
    role = forms.ChoiceField(
        label=_("Rolle"), choices=Role.choices, initial=Role.CLERK, widget=forms.RadioSelect
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Rolle"), choices=Role.choices, widget=forms.RadioSelect)


class TwoFactorRequirementForm(forms.Form):
    required = forms.BooleanField(
        label=_("Zwei-Faktor-Anmeldung für alle Mitglieder verlangen"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending through the outbox (one mail per account and request)."""

    email = forms.EmailField(
        label=_("E-Mail-Adresse"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": INPUT}),
    )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from ablesung.accounts.models import token_hash
        from ablesung.mail.services import render_mail

        subject, text, html = render_mail("accounts/mail/password_reset", context)
        with transaction.atomic():
            queue_mail(
                # the key is logged: a digest, never the token
                key=f"password-reset:{token_hash(context['uid'] + context['token'])[:40]}",
                to=to_email,
                subject=subject,
                text=text,
                html=html,
            )
