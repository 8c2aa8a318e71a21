"""Renders form fields with their label, hint and errors, the widget linked to both
(WCAG 1.3.1, 3.3.1).

``{% form_field field %}`` gives byte for byte the HTML of
``{% include "includes/field.html" with field=field %}``, built in Python: on the meter
form the include took about 65 µs per field, the tag about 24 µs, 15 of them the widget.
``includes/field.html`` stays as the reference markup; ``tests/core/test_form_field.py``
keeps the two equal.
"""

from html import escape as html_escape

from django import template
from django.forms import BoundField
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from ablesung.lib.widgets import render_widget

register = template.Library()

#: the context a template is rendered in by default: autoescape on, no ``{% localize %}``
#: or ``{% localtime %}`` override
_DEFAULT_CONTEXT = Context()


def _aria(field: BoundField, id_for_label: str, hint: bool, error: bool) -> dict[str, str | bool]:
    own = field.field.widget.attrs.get("aria-describedby")
    described = [str(own)] if own else []
    attrs: dict[str, str | bool] = {}
    if hint:
        described.append(f"{id_for_label}-hint")
    if error:
        described.append(f"{id_for_label}-error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return attrs


def aria_attrs(field: BoundField) -> dict[str, str | bool]:
    """``aria-describedby`` for the field's own ids, hint and error; ``aria-invalid`` on errors."""
    return _aria(field, field.id_for_label, bool(field.help_text), bool(field.errors))


@register.filter
def accessible_widget(field: BoundField) -> SafeString:
    """The widget with ``aria-describedby`` for its hint/error and ``aria-invalid`` on errors.

    Same HTML as ``field.as_widget(attrs=aria_attrs(field))``; input and textarea widgets
    are rendered in Python (:mod:`ablesung.lib.widgets`), a third of the form page's time.
    """
    return render_widget(field, aria_attrs(field))


def _text(value: object, context: Context) -> str:
    """``{{ value }}`` in ``context``: the engine's own conversion (lazy strings translated,
    dates and numbers localised, ``SafeString`` kept, the rest escaped under autoescape),
    with a shortcut for a plain ``str`` (the engine passes it to ``escape`` unchanged) and
    a lazy one (which neither ``template_localtime`` nor ``localize`` touches)."""
    if context.autoescape:
        if isinstance(value, Promise):
            value = str(value)
        if type(value) is str:
            return html_escape(value)
    return render_value_in_context(value, context)


def _optional() -> str:
    """``{% translate "(optional)" %}``: a template literal is safe, so the tag outputs its
    translation unescaped, with the ``%%`` it doubled for gettext turned back into ``%``."""
    return gettext("(optional)").replace("%%", "%")


def form_field(field: BoundField, context: Context | None = None) -> SafeString:
    """What ``includes/field.html`` renders for ``field`` in ``context`` (by default a
    plain autoescaping one): label ("(optional)" unless required), hint, errors and the
    widget from :func:`accessible_widget`, a select widget in KERN's select wrapper."""
    if context is None:
        context = _DEFAULT_CONTEXT
    raw_id = field.id_for_label
    id_ = _text(raw_id, context)
    html = [f'<div class="kern-form-input">\n  <label class="kern-label" for="{id_}">']
    html.append(_text(field.label, context))
    if not field.field.required:
        html.append(f' <span class="kern-label__optional">{_optional()}</span>')
    html.append("</label>\n  ")
    help_text = field.help_text
    if help_text:
        html.append(f'<div class="kern-hint" id="{id_}-hint">{_text(help_text, context)}</div>')
    html.append("\n  ")
    errors = field.errors
    if errors:
        html.append(f'<p class="kern-error" id="{id_}-error" role="alert">')
        html.extend(f"{_text(error, context)} " for error in errors)
        html.append("</p>")
    html.append("\n  ")
    # accessible_widget(field) without asking the field again; its SafeString is output
    # as it is by ``{{ … }}`` (with or without autoescape)
    widget = render_widget(field, _aria(field, raw_id, bool(help_text), bool(errors)))
    if field.widget_type == "select":
        html.append(f'<div class="kern-form-input__select-wrapper">{widget}</div>')
    else:
        html.append(widget)
    html.append("\n</div>\n")
    # every part is escaped above, or is the widget's SafeString or the translation the
    # include outputs unescaped too
    return mark_safe("".join(html))  # noqa: S308


@register.simple_tag(takes_context=True, name="form_field")
def form_field_tag(context: Context, field: BoundField) -> SafeString:
    """``{% form_field field %}``: :func:`form_field` in the template's context."""
    return form_field(field, context)
