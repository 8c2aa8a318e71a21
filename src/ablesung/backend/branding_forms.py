"""The form of the portal settings page: contact, legal links, accent colour, logo, access."""

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from ablesung.core.models import AccentColour, AccessMethod
from ablesung.core.services.branding import (
    BRANDING_FIELDS,
    LOGO_MAX_BYTES,
    MAX_LENGTHS,
    BrandingInvalid,
    validate_https_url,
    validate_phone,
)

KERN_INPUT = {"class": "kern-form-input__input"}


class TelInput(forms.TextInput):
    input_type = "tel"


def _url_field(label: Any, help_text: Any) -> forms.URLField:
    return forms.URLField(
        label=label,
        required=False,
        max_length=MAX_LENGTHS["imprint_url"],
        assume_scheme="https",
        validators=[validate_https_url],
        help_text=help_text,
        widget=forms.URLInput(attrs={**KERN_INPUT, "autocomplete": "url"}),
        error_messages={
            "invalid": _(
                "Bitte geben Sie eine vollständige Adresse an, z. B. https://www.example.de/impressum."
            )
        },
    )


class BrandingForm(forms.Form):
    """Every branding field; ``logo`` is cleaned to the uploaded bytes (at most 2 MB + 1).

    The logo itself (format, pixels, size) is checked by the service, which reports its
    problems as :class:`BrandingInvalid`; :meth:`add_service_errors` puts them at the fields.
    """

    contact_email = forms.EmailField(
        label=_("Kontakt-E-Mail"),
        required=False,
        max_length=MAX_LENGTHS["contact_email"],
        widget=forms.EmailInput(attrs={**KERN_INPUT, "autocomplete": "email"}),
        error_messages={"invalid": _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")},
    )
    contact_phone = forms.CharField(
        label=_("Kontakt-Telefon"),
        required=False,
        max_length=MAX_LENGTHS["contact_phone"],
        validators=[validate_phone],
        widget=TelInput(attrs={**KERN_INPUT, "autocomplete": "tel"}),
    )
    contact_address = forms.CharField(
        label=_("Anschrift und Sprechzeiten"),
        required=False,
        max_length=MAX_LENGTHS["contact_address"],
        help_text=_("Erscheint im Portal bei den Kontaktangaben, z. B. Zimmer und Öffnungszeiten."),
        widget=forms.Textarea(attrs={**KERN_INPUT, "rows": 4}),
    )
    imprint_url = _url_field(
        _("Impressum (Link)"), _("Die Adresse Ihres Impressums, beginnend mit https://")
    )
    privacy_url = _url_field(
        _("Datenschutzerklärung (Link)"),
        _("Die Adresse Ihrer Datenschutzerklärung, beginnend mit https://"),
    )
    accent_colour = forms.ChoiceField(
        label=_("Akzentfarbe"),
        choices=AccentColour.choices,
        help_text=_("Die Farbe der Kopfzeile im Portal."),
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        error_messages={
            "required": _("Bitte wählen Sie eine der Farben aus."),
            "invalid_choice": _("Bitte wählen Sie eine der Farben aus."),
        },
    )
    logo = forms.FileField(
        label=_("Neues Logo"),
        required=False,
        help_text=_(
            "PNG, JPEG oder WebP, höchstens 2 MB. Das Logo wird auf höchstens 400 Pixel "
            "Kantenlänge verkleinert und als JPEG gespeichert."
        ),
        widget=forms.FileInput(attrs={**KERN_INPUT, "accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(
        label=_("Logo entfernen"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )
    access_methods = forms.MultipleChoiceField(
        label=_("Zugang mit eingetippten Angaben"),
        choices=AccessMethod.choices,
        required=False,
        help_text=_(
            "Ohne Auswahl kommen Bürger:innen nur über den persönlichen Link oder QR-Code "
            "aus dem Ablesebrief in das Portal."
        ),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "kern-form-check__checkbox"}),
        error_messages={
            "invalid_choice": _("Bitte wählen Sie nur die angebotenen Zugangswege aus.")
        },
    )

    def clean_logo(self) -> bytes | None:
        upload: UploadedFile[Any] | None = self.cleaned_data.get("logo")
        if not upload:
            return None
        upload.seek(0)
        # one byte more than allowed: the service then says "too large" without a full read
        data: bytes = upload.read(LOGO_MAX_BYTES + 1)
        return data

    def branding_values(self) -> dict[str, Any]:
        """The values for ``do_update_branding``; call after ``is_valid()``."""
        return {name: self.cleaned_data[name] for name in BRANDING_FIELDS}

    def add_service_errors(self, exc: BrandingInvalid) -> None:
        for name, messages in exc.errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
