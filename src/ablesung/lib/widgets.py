"""Form widgets rendered in Python instead of through Django's widget templates.

:func:`render_widget` is ``BoundField.as_widget(attrs=…)`` with a renderer that builds the
HTML of Django's stock widget templates in Python, from the context the widget's own
``get_context`` returns: the ``<input>`` family (``input.html`` and the one-line templates
that include it, checkbox and file inputs included), ``clearable_file_input.html`` and
``textarea.html``. The output is byte for byte what the template engine would produce.

Everything else goes to the form's renderer unchanged: other templates (select, radio,
checkbox lists, multi-widgets), a renderer whose templates are not the stock ones
(checked once per renderer and template, by SHA-256 of the template source, so an
override or a Django upgrade that changes a template switches the Python path off), and
any context the engine would treat specially (callables, which it calls; an ``items``
attribute, which shadows ``dict.items`` in ``widget.attrs.items``).
"""

import hashlib
import weakref
from collections.abc import Callable
from html import escape as html_escape
from typing import Any

from django.forms import BoundField
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest
from django.template import Engine, TemplateDoesNotExist
from django.template.base import Template
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs

_PREFIX = "django/forms/widgets/"
_INPUT = f"{_PREFIX}input.html"
_ATTRS = f"{_PREFIX}attrs.html"
_TEXTAREA = f"{_PREFIX}textarea.html"
_CLEARABLE = f"{_PREFIX}clearable_file_input.html"
#: templates that are just ``{% include "django/forms/widgets/input.html" %}``
_INPUT_ALIASES = [
    f"{_PREFIX}{kind}.html"
    for kind in (
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
]
#: SHA-256 of the stock template sources (Django 6.1) the functions below reproduce
_ALIAS_DIGEST = "7d7a5bc4ccc075bbff6af7d60b9e3ae200f68c59e0f77d44abbbf36f3cb5fb20"
_DIGESTS = {
    _INPUT: "770cf3acba1c18b65021a19efbf5fc93bcfcee357a005b67dbc2e2967527507d",
    _ATTRS: "f729483efe44660fabc76a8f2e0a1b464c3a66afd625233c92dd74e8fa5261ad",
    _TEXTAREA: "02fd58fa1a57514d808eb867522be064528d04b7700926527ae4a60aa9829030",
    _CLEARABLE: "d5dbf8c6d8a4eae9bf9b32b5b2451117f9f81b5b75ca5bb3890bb65166ba7d7f",
} | dict.fromkeys(_INPUT_ALIASES, _ALIAS_DIGEST)
#: the templates each supported template includes (directly or further down)
_INCLUDES = {
    _INPUT: (_ATTRS,),
    _TEXTAREA: (_ATTRS,),
    _CLEARABLE: (_ATTRS,),
} | dict.fromkeys(_INPUT_ALIASES, (_INPUT, _ATTRS))


def _escape(text: str) -> str:
    """``django.utils.html.escape`` for a plain ``str``, without its lazy-string wrapper
    (a third of the render time): Django's escape is ``html.escape`` of the text."""
    return html_escape(text)


class _Unsupported(Exception):
    """The context holds something only the template engine renders faithfully."""


def _get(mapping: dict[str, Any], key: str) -> Any:
    """``mapping.key`` as the engine resolves it; a callable would be called there."""
    value = mapping[key]
    if callable(value):
        raise _Unsupported(key)
    return value


def _text(value: Any) -> str:
    """``{{ value }}`` under autoescape: dates and numbers localised as the engine does."""
    if type(value) is str:
        return _escape(value)
    value = localize(template_localtime(value))
    return conditional_escape(value if isinstance(value, str) else str(value))


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` under autoescape: no localisation, and what is safe
    before (``SafeString``) or after formatting (``__str__`` returning one) stays unescaped."""
    try:
        text = "%s" % (str(value) if isinstance(value, tuple) else value)  # as the filter
    except (ValueError, TypeError):
        text = ""
    if isinstance(value, SafeData):
        return text
    return _escape(text) if type(text) is str else conditional_escape(text)


def _attrs(widget: dict[str, Any]) -> str:
    """``attrs.html``: ``True`` as a bare attribute, ``False`` left out."""
    attrs = _get(widget, "attrs")
    if type(attrs) is not dict or "items" in attrs:
        raise _Unsupported("attrs")
    html = []
    for name, value in attrs.items():
        if callable(value) or callable(name):
            raise _Unsupported(name)
        if value is True:
            html.append(f" {_text(name)}")
        elif value is not False:
            html.append(f' {_text(name)}="{_formatted(value)}"')
    return "".join(html)


def _input(widget: dict[str, Any]) -> str:
    html = f'<input type="{_text(_get(widget, "type"))}" name="{_text(_get(widget, "name"))}"'
    value = _get(widget, "value")
    if value is not None and value != None:  # noqa: E711 - the template's own test
        html += f' value="{_formatted(value)}"'
    return f"{html}{_attrs(widget)}>"


def _textarea(widget: dict[str, Any]) -> str:
    name = _text(_get(widget, "name"))
    attrs = _attrs(widget)
    value = _get(widget, "value")
    return f'<textarea name="{name}"{attrs}>\n{_text(value) if value else ""}</textarea>'


def _flag(widget: dict[str, Any], key: str) -> bool:
    """``{% if widget.attrs.<key> %}``."""
    value = _get(widget, "attrs").get(key)
    if callable(value):
        raise _Unsupported(key)
    return bool(value)


def _clearable_file_input(widget: dict[str, Any]) -> str:
    html = ""
    if _get(widget, "is_initial"):
        file = _get(widget, "value")
        if hasattr(type(file), "__getitem__"):  # the engine would try ``file["url"]`` first
            raise _Unsupported("value")
        url = file.url
        if callable(url):
            raise _Unsupported("url")
        initial = _text(_get(widget, "initial_text"))
        html = f'{initial}: <a href="{_text(url)}">{_text(file)}</a>'
        if not _get(widget, "required"):
            checkbox_id = _text(_get(widget, "checkbox_id"))
            disabled = " disabled" if _flag(widget, "disabled") else ""
            checked = " checked" if _flag(widget, "checked") else ""
            html += (
                f'\n<input type="checkbox" name="{_text(_get(widget, "checkbox_name"))}"'
                f' id="{checkbox_id}"{disabled}{checked}>'
                f'\n<label for="{checkbox_id}">{_text(_get(widget, "clear_checkbox_label"))}</label>'
            )
        html += f"<br>\n{_text(_get(widget, 'input_text'))}:"
    type_, name = _text(_get(widget, "type")), _text(_get(widget, "name"))
    return f'{html}\n<input type="{type_}" name="{name}"{_attrs(widget)}>'


_LAYOUTS: dict[str, Callable[[dict[str, Any]], str]] = {
    _INPUT: _input,
    _TEXTAREA: _textarea,
    _CLEARABLE: _clearable_file_input,
} | dict.fromkeys(_INPUT_ALIASES, _input)


#: the widget templates rendered in Python
SUPPORTED_TEMPLATES = frozenset(_LAYOUTS)


def python_html(template_name: str, context: dict[str, Any]) -> str | None:
    """What the stock ``template_name`` renders for ``context`` (stripped, as renderers
    return it), or ``None`` where only the template engine can say."""
    layout = _LAYOUTS.get(template_name)
    widget = context.get("widget") if isinstance(context, dict) else None
    if layout is None or type(widget) is not dict:
        return None
    try:
        return layout(widget).strip()
    except Exception:  # anything unexpected: the engine renders it (and raises, if it must)
        return None


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def _resolves_to_stock(renderer: BaseRenderer, template_name: str) -> bool:
    if type(renderer).render is not BaseRenderer.render:
        return False
    try:
        template = getattr(renderer.get_template(template_name), "template", None)
        if not isinstance(template, Template):
            return False
        engine = template.engine
        if (
            not engine.autoescape
            or engine.string_if_invalid
            or engine.builtins != Engine.default_builtins
        ):
            return False
        sources = {name: engine.get_template(name).source for name in _INCLUDES[template_name]}
    except TemplateDoesNotExist:
        return False
    sources[template_name] = template.source
    return all(_digest(source) == _DIGESTS[name] for name, source in sources.items())


_stock: weakref.WeakKeyDictionary[BaseRenderer, dict[str, bool]] = weakref.WeakKeyDictionary()


def is_stock(renderer: BaseRenderer, template_name: str) -> bool:
    """Whether ``renderer`` renders ``template_name`` with the stock template this module
    reproduces (remembered per renderer)."""
    if template_name not in _LAYOUTS:
        return False
    known = _stock.get(renderer)
    if known is None:
        known = _stock.setdefault(renderer, {})
    if template_name not in known:
        known[template_name] = _resolves_to_stock(renderer, template_name)
    return known[template_name]


class PythonWidgetRenderer(BaseRenderer):
    """Renders the supported widget templates in Python, everything else with ``fallback``."""

    def __init__(self, fallback: BaseRenderer) -> None:
        self.fallback = fallback

    def get_template(self, template_name: str) -> Any:
        return self.fallback.get_template(template_name)

    def render(
        self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
    ) -> str:
        if request is None and is_stock(self.fallback, template_name):
            html = python_html(template_name, context)
            if html is not None:
                return html
        return self.fallback.render(template_name, context, request=request)


def render_widget(field: BoundField, attrs: dict[str, Any]) -> SafeString:
    """``field.as_widget(attrs=attrs)``, with the widget's template rendered in Python
    where :class:`PythonWidgetRenderer` can."""
    if type(field).as_widget is not BoundField.as_widget:
        return field.as_widget(attrs=attrs)
    widget = field.field.widget
    if field.field.localize:
        widget.is_localized = True
    final = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        final.setdefault("id", field.auto_id)
    renderer = PythonWidgetRenderer(field.form.renderer)
    html: SafeString = widget.render(
        name=field.html_name, value=field.value(), attrs=final, renderer=renderer
    )
    return html
