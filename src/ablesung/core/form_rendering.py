"""The project's form renderer (``FORM_RENDERER``): Django's ``TemplatesSetting`` with the
KERN field template ``includes/field.html`` for ``{{ form.field.as_field_group }}``.

Django itself links a widget to its hint and errors (``aria-describedby`` with the ids
``<id>_helptext`` and ``<id>_error``) and marks it ``aria-invalid`` on errors; the field
template gives those ids to the KERN hint and error elements.
"""

from typing import Any

from django import forms
from django.forms import BoundField
from django.forms.renderers import TemplatesSetting

#: KERN's class of a text-like input
KERN_INPUT = {"class": "kern-form-input__input"}
#: what a date field accepts: the ISO date of ``<input type="date">`` first, then a date
#: typed the German way (a browser without date input, a clerk's keyboard)
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"]


class KernDateInput(forms.DateInput):
    """The browser's date picker (``type="date"``, its value ISO) in KERN's style."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={**KERN_INPUT, **(attrs or {})}, format="%Y-%m-%d")


class KernBoundField(BoundField):
    """Django's bound field, except that a widget naming its own ``aria-describedby`` (the
    portal's live feedback region next to a meter value) keeps the hint and error ids as
    well; Django drops them then."""

    @property
    def aria_describedby(self) -> str | None:
        own = self.field.widget.attrs.get("aria-describedby")
        if not own:
            django_ids: str | None = super().aria_describedby
            return django_ids
        ids = [str(own)]
        if self.auto_id and not self.is_hidden:
            if self.help_text:
                ids.append(f"{self.auto_id}_helptext")
            if self.errors:
                ids.append(f"{self.auto_id}_error")
        return " ".join(ids)


class FormRenderer(TemplatesSetting):
    """Templates from ``TEMPLATES`` (the project's overrides, Django's widget templates
    through the ``django.forms`` app), fields in KERN's markup."""

    field_template_name = "includes/field.html"
    bound_field_class = KernBoundField
