"""The form of a letter or mail text: subject and body (checked by the text store)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ablesung.core.form_rendering import KERN_INPUT
from ablesung.letters.text_store import TextInvalid
from ablesung.letters.texts import MAX_BODY, MAX_SUBJECT


class TextForm(forms.Form):
    """Lengths and placeholders are checked by :func:`~ablesung.letters.text_store.clean_text`
    (its messages go to the fields); the form only bounds what it reads."""

    subject = forms.CharField(
        label=_("Betreff"),
        error_messages={"required": _("Bitte geben Sie einen Betreff ein.")},
        strip=False,
        max_length=MAX_SUBJECT * 4,
        widget=forms.TextInput(attrs={**KERN_INPUT, "autocomplete": "off"}),
    )
    body = forms.CharField(
        label=_("Text"),
        error_messages={"required": _("Bitte geben Sie einen Text ein.")},
        strip=False,
        max_length=MAX_BODY * 2,
        widget=forms.Textarea(
            attrs={**KERN_INPUT, "rows": 12, "class": "kern-form-input__input text-body"}
        ),
    )

    def __init__(
        self, *args: Any, body_help: str = "", readonly: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # before any bound field exists: a bound field copies the help text when created
        self.fields["body"].help_text = body_help
        self.fields["subject"].help_text = _("Höchstens %(limit)s Zeichen, eine Zeile.") % {
            "limit": MAX_SUBJECT
        }
        if readonly:
            for field in self.fields.values():
                field.disabled = True

    def add_text_errors(self, exc: TextInvalid) -> None:
        for name, messages in exc.errors.items():
            for message in messages:
                self.add_error(name, message)
