"""Renders form widgets linked to their hint and error texts (WCAG 1.3.1, 3.3.1)."""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

from ablesung.lib.widgets import render_widget

register = template.Library()


def aria_attrs(field: BoundField) -> dict[str, str | bool]:
    """``aria-describedby`` for the field's own ids, hint and error; ``aria-invalid`` on errors."""
    own = field.field.widget.attrs.get("aria-describedby")
    described = [str(own)] if own else []
    attrs: dict[str, str | bool] = {}
    if field.help_text:
        described.append(f"{field.id_for_label}-hint")
    if field.errors:
        described.append(f"{field.id_for_label}-error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return attrs


@register.filter
def accessible_widget(field: BoundField) -> SafeString:
    """The widget with ``aria-describedby`` for its hint/error and ``aria-invalid`` on errors.

    Same HTML as ``field.as_widget(attrs=aria_attrs(field))``; input and textarea widgets
    are rendered in Python (:mod:`ablesung.lib.widgets`), a third of the form page's time.
    """
    return render_widget(field, aria_attrs(field))
