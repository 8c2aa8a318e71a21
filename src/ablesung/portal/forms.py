"""Portal forms: one reading form per meter (a value per register), the message form."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ablesung.core.form_rendering import KernDateInput
from ablesung.core.models import CampaignMeter, ConfirmationReason, MessageReason

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_PHOTO_BYTES = 10 * 1024 * 1024
INPUT = "kern-form-input__input"
#: the address typed into a reading form, kept in the session for the summary page
CONFIRMATION_EMAIL_KEY = "portal_email"


def optional_email(label: "StrOrPromise", help_text: "StrOrPromise" = "") -> forms.EmailField:
    """An optional e-mail address with the portal's German error message."""
    return forms.EmailField(
        label=label,
        required=False,
        max_length=254,
        help_text=help_text,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": INPUT}),
        error_messages={"invalid": _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")},
    )


def value_field(line: CampaignMeter) -> str:
    return f"value_{line.register_id}"


def reason_field(line: CampaignMeter) -> str:
    return f"reason_{line.register_id}"


def reason_text_field(line: CampaignMeter) -> str:
    return f"reason_text_{line.register_id}"


class MeterReadingForm(forms.Form):
    """The registers of one meter, the reading date, a comment and a photo."""

    reading_date = forms.DateField(
        label=_("Ablesedatum"),
        widget=KernDateInput(),
        input_formats=["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"],
        error_messages={
            "required": _("Bitte geben Sie das Ablesedatum an."),
            "invalid": _("Bitte geben Sie ein gültiges Datum an, z. B. 31.12.2026."),
        },
    )
    comment = forms.CharField(
        label=_("Bemerkung"),
        required=False,
        max_length=500,
        widget=forms.Textarea(
            attrs={"rows": 3, "class": "kern-form-input__input kern-form-input__textarea"}
        ),
        error_messages={"max_length": _("Die Bemerkung darf höchstens 500 Zeichen lang sein.")},
    )
    photo = forms.FileField(
        label=_("Foto des Zählers"),
        required=False,
        help_text=_("JPEG, PNG, HEIC oder WebP, höchstens 10 MB."),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": "image/jpeg,image/png,image/heic,image/heif,image/webp",
                "class": INPUT,
            }
        ),
    )

    email = optional_email(
        _("E-Mail-Adresse für eine Bestätigung"),
        _("Die Bestätigung kommt, wenn Sie in der Zusammenfassung „Absenden“ wählen."),
    )

    def __init__(self, lines: list[CampaignMeter], *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"reading_date": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            code = line.register.code
            label = _("Zählerstand") if not code else f"{_('Zählerstand')} {code}"
            self.fields[value_field(line)] = forms.CharField(
                label=label,
                max_length=30,
                error_messages={"required": _("Bitte geben Sie den Zählerstand ein.")},
                widget=forms.TextInput(
                    attrs={
                        "inputmode": "decimal",
                        "autocomplete": "off",
                        "spellcheck": "false",
                        "class": INPUT,
                    }
                ),
            )
            if not self.is_bound:
                continue  # the reasons are read only from a submitted form
            self.fields[reason_field(line)] = forms.ChoiceField(
                label=_("Der Wert stimmt, weil"),
                required=False,
                choices=ConfirmationReason.choices,
                widget=forms.RadioSelect,
            )
            self.fields[reason_text_field(line)] = forms.CharField(
                label=_("Begründung"),
                required=False,
                max_length=500,
                error_messages={
                    "max_length": _("Die Begründung darf höchstens 500 Zeichen lang sein.")
                },
            )
        # values first, then date, comment, photo
        self.order_fields([value_field(line) for line in lines])

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError(_("Die Datei ist zu groß (höchstens 10 MB)."))
        return photo


class FinishForm(forms.Form):
    email = optional_email(
        _("E-Mail-Adresse für eine Bestätigung"),
        _("Wir senden Ihnen die gespeicherten Werte. Die Adresse wird nur dafür genutzt."),
    )


class MessageForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Worum geht es?"),
        choices=MessageReason.choices,
        widget=forms.RadioSelect(attrs={"class": "kern-form-check__radio"}),
        error_messages={"required": _("Bitte wählen Sie aus, worum es geht.")},
    )
    text = forms.CharField(
        label=_("Ihre Nachricht"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 5, "class": "kern-form-input__input kern-form-input__textarea"}
        ),
        error_messages={
            "required": _("Bitte schreiben Sie uns Ihre Nachricht."),
            "max_length": _("Die Nachricht darf höchstens 2000 Zeichen lang sein."),
        },
    )
    phone = forms.CharField(
        label=_("Telefon für Rückfragen"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "class": INPUT}),
    )
    email = optional_email(_("E-Mail für Rückfragen"))
