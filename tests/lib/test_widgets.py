"""Widgets rendered in Python give exactly what Django's own widget templates give.

Every check renders a bound field twice, with ``field.as_widget(attrs=…)`` (the template
engine) and with ``render_widget``/``accessible_widget`` (the Python path), compares the
two, and asserts which path was taken: a supported widget must not reach the template
renderer, so the comparison cannot pass by both sides using the templates.
"""

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import django.forms
import pytest
from django import forms
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms import BoundField
from django.forms.renderers import BaseRenderer, DjangoTemplates, get_default_renderer
from django.http import HttpRequest
from django.utils import translation
from django.utils.functional import lazy
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st

from ablesung.backend.branding_forms import TelInput as BrandingTelInput
from ablesung.core.templatetags.form_fields import accessible_widget, aria_attrs
from ablesung.lib.widgets import (
    SUPPORTED_TEMPLATES,
    PythonWidgetRenderer,
    is_stock,
    python_html,
    render_widget,
)
from ablesung.portal.forms import GermanDateInput, MeterReadingForm
from tests.form_samples import PROJECT_FORMS, reading_lines

NASTY = ['<script>alert("x")</script>', "Müller & Söhne 'GmbH'", "&amp; &lt;", "\n zwei\nZeilen "]
BOOLEAN_ATTRS: dict[str, Any] = {"autofocus": True, "readonly": False, "data-n": 0, "x": None}


class SizedStorage(FileSystemStorage):
    """Stored files that exist without a disk (a disabled field cleans its initial file)."""

    def size(self, name: str) -> int:
        return 3


STORAGE = SizedStorage(location="/nonexistent", base_url="/media/")


class StoredFile:
    """What ClearableFileInput shows as "Currently": anything with a ``url``."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    def __str__(self) -> str:
        return self.name


class StoredMapping(dict[str, str]):
    """A file value the engine reads ``url`` from by key, not by attribute."""

    url = "/media/attribut"


def field_file(name: str) -> FieldFile:
    return FieldFile(None, models.FileField(storage=STORAGE), name)  # type: ignore[arg-type]


@contextmanager
def template_renders(form: forms.BaseForm) -> Iterator[list[str]]:
    """The templates the form's renderer renders meanwhile (the Python path renders none)."""
    rendered: list[str] = []
    renderer = form.renderer
    real = renderer.render

    def spy(template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        rendered.append(template_name)
        return real(template_name, context, request=request)

    with mock.patch.object(renderer, "render", spy):
        yield rendered


def uses_python(field: BoundField) -> bool:
    return field.field.widget.template_name in SUPPORTED_TEMPLATES and is_stock(
        field.form.renderer, str(field.field.widget.template_name)
    )


def outcome(render: Callable[[], str]) -> str | tuple[type[Exception], str]:
    """The HTML, or the error (an attribute named "items" breaks attrs.html: so must we)."""
    try:
        html = render()
    except Exception as error:
        return type(error), str(error)
    assert isinstance(html, SafeString)
    return html


def assert_same(
    field: BoundField, attrs: dict[str, Any] | None = None, *, python: bool | None = None
) -> str:
    """``render_widget`` and ``accessible_widget`` give exactly the template engine's HTML,
    rendered in Python if ``python`` (default: if the widget's template is supported)."""
    expected = outcome(lambda: field.as_widget(attrs=dict(attrs or {})))
    expected_aria = outcome(lambda: field.as_widget(attrs=aria_attrs(field)))
    with template_renders(field.form) as rendered:
        fast = outcome(lambda: render_widget(field, dict(attrs or {})))
        fast_aria = outcome(lambda: accessible_widget(field))
    assert fast == expected
    assert fast_aria == expected_aria
    if isinstance(fast, str):
        assert fast.encode() == str(expected).encode()
    if isinstance(expected, tuple) or isinstance(expected_aria, tuple):
        return ""
    if uses_python(field) if python is None else python:
        assert rendered == [], f"{type(field.field.widget).__name__} went to the templates"
    else:
        assert rendered, f"{type(field.field.widget).__name__} should fall back"
    return str(fast)


def one_field_form(field: forms.Field, **kwargs: Any) -> forms.Form:
    form = forms.Form(**kwargs)
    form.fields["f"] = field
    return form


def assert_same_everywhere(
    make: Callable[..., forms.Field], values: list[Any], *, files: bool = False
) -> None:
    """Unbound with each value as initial, bound with each value as data, with and without
    required, hint, own aria attribute, disabled, boolean attrs, ids and prefixes."""
    variants: list[dict[str, Any]] = [
        {},
        {"required": False},
        {"help_text": "Hinweis <b>&</b>"},
        {"disabled": True, "required": False},
    ]
    for value in values:
        for variant in variants:
            for form_kwargs in ({}, {"auto_id": False}, {"prefix": "p", "auto_id": "%s"}):
                unbound = one_field_form(make(**variant), initial={"f": value}, **form_kwargs)
                name = unbound["f"].html_name
                if files:
                    data: dict[str, Any] = {f"{name}-clear": "on"}
                    upload = {name: value} if isinstance(value, SimpleUploadedFile) else {}
                    bound = one_field_form(
                        make(**variant), data=data, files=upload, initial={"f": value}
                    )
                else:
                    posted = "" if value is None else str(value)
                    bound = one_field_form(make(**variant), data={name: posted}, **form_kwargs)
                for form in (unbound, bound):
                    field = form["f"]
                    assert_same(field)
                    assert_same(field, BOOLEAN_ATTRS)
                    assert_same(field, {"aria-invalid": "true", "aria-describedby": "a b"})


def with_attrs(widget: type[forms.Widget], **extra: Any) -> Callable[..., forms.Widget]:
    return lambda: widget(attrs={"class": "kern <x>", "aria-describedby": "eigene", **extra})


# --- every supported widget --------------------------------------------------------------

TEXT_WIDGETS: list[Callable[[], forms.Widget]] = [
    forms.TextInput,
    with_attrs(forms.TextInput, maxlength=30, spellcheck="false"),
    forms.NumberInput,
    forms.EmailInput,
    forms.URLInput,
    forms.PasswordInput,
    lambda: forms.PasswordInput(render_value=True),
    forms.HiddenInput,
    forms.TelInput,
    BrandingTelInput,
    forms.SearchInput,
    forms.ColorInput,
    forms.Textarea,
    with_attrs(forms.Textarea, rows=3),
    lambda: forms.Textarea(attrs={"cols": None}),
    with_attrs(forms.EmailInput, autocomplete="email"),
    lambda: forms.TextInput(attrs={"type": "tel"}),
]


@pytest.mark.parametrize("widget", TEXT_WIDGETS)
def test_text_widgets(widget: Callable[[], forms.Widget]) -> None:
    def make(**kwargs: Any) -> forms.Field:
        return forms.CharField(widget=widget(), **kwargs)

    assert_same_everywhere(make, [None, "", "Wert", "0", *NASTY, mark_safe("<b>sicher</b>")])


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("localize", [False, True])
@pytest.mark.parametrize("widget", [forms.NumberInput, forms.TextInput, forms.HiddenInput])
def test_decimal_values(language: str, localize: bool, widget: type[forms.Widget]) -> None:
    def make(**kwargs: Any) -> forms.Field:
        return forms.DecimalField(widget=widget(), localize=localize, **kwargs)

    values = [None, Decimal("1234.5"), Decimal("-0.001"), 1234567, 0.5, "1.234,5", "12<3"]
    with translation.override(language):
        assert_same_everywhere(make, values)


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(
    ("field", "widget", "values"),
    [
        (
            forms.DateField,
            forms.DateInput,
            [datetime.date(2026, 12, 31), "31.12.2026", "kaputt<&>"],
        ),
        (forms.DateField, GermanDateInput, [datetime.date(2026, 1, 2), "2026-01-02"]),
        (
            forms.DateField,
            lambda: forms.DateInput(format="%d.%m.%Y", attrs={"placeholder": "31.12.2026"}),
            [datetime.date(2026, 12, 31)],
        ),
        (
            forms.DateTimeField,
            forms.DateTimeInput,
            [datetime.datetime(2026, 12, 31, 23, 59, 1, tzinfo=datetime.UTC), "x"],
        ),
        (forms.TimeField, forms.TimeInput, [datetime.time(7, 5), "7:05"]),
    ],
)
def test_date_values(
    language: str,
    field: type[forms.Field],
    widget: Callable[[], forms.Widget],
    values: list[Any],
) -> None:
    def make(**kwargs: Any) -> forms.Field:
        return field(widget=widget(), **kwargs)

    with translation.override(language):
        assert_same_everywhere(make, [None, *values])
        assert_same_everywhere(lambda **kw: make(localize=True, **kw), values)


@pytest.mark.parametrize(
    "widget",
    [
        forms.CheckboxInput,
        with_attrs(forms.CheckboxInput),
        lambda: forms.CheckboxInput(check_test=lambda value: value == "ja"),
    ],
)
def test_checkboxes(widget: Callable[[], forms.Widget]) -> None:
    def make(**kwargs: Any) -> forms.Field:
        return forms.BooleanField(widget=widget(), **kwargs)

    assert_same_everywhere(make, [None, True, False, "on", "ja", "<x>"])
    # a checkbox with a value attribute
    assert_same_everywhere(lambda **kw: forms.CharField(widget=widget(), **kw), ["a&b"])


@pytest.mark.parametrize(
    "widget",
    [
        forms.FileInput,
        forms.ClearableFileInput,
        with_attrs(forms.ClearableFileInput, accept="image/*,.csv"),
        with_attrs(forms.FileInput, accept=".csv"),
    ],
)
def test_file_widgets(widget: Callable[[], forms.Widget]) -> None:
    def make(**kwargs: Any) -> forms.Field:
        return forms.FileField(widget=widget(), **kwargs)

    stored = [
        StoredFile('bild <1> & "2".jpg', '/media/a&b.jpg?x="1"<'),
        StoredFile("", "/media/leer"),
        field_file("zaehler/foto ä&ö.jpg"),
        SimpleUploadedFile("neu.csv", b"a;b"),
    ]
    assert_same_everywhere(make, [None, "", *stored], files=True)


def test_clearable_file_input_variants() -> None:
    """'Currently … Clear … Change', with the checkbox disabled and checked."""
    stored = StoredFile("alt <.jpg", "/media/alt.jpg")
    for required in (False, True):
        for disabled in (False, True):
            field = forms.FileField(
                widget=forms.ClearableFileInput, required=required, disabled=disabled
            )
            form = one_field_form(field, data={"f-clear": "on"}, files={}, initial={"f": stored})
            html = assert_same(form["f"])
            assert "alt &lt;.jpg" in html
            assert ("checkbox" in html) is not required
    mapping = StoredMapping({"url": "/media/schluessel"})
    form = one_field_form(forms.FileField(widget=forms.ClearableFileInput), initial={"f": mapping})
    assert "/media/schluessel" in assert_same(form["f"], python=False)
    for attrs in ({"disabled": "disabled"}, {"disabled": "", "checked": 1}):
        widget = forms.ClearableFileInput(attrs=attrs)
        form = one_field_form(forms.FileField(widget=widget, required=False), initial={"f": stored})
        assert_same(form["f"])
    translated = forms.ClearableFileInput()
    translated.initial_text = gettext_lazy("Aktuell <&>")  # type: ignore[assignment]
    translated.clear_checkbox_label = mark_safe("<i>Löschen</i>")
    form = one_field_form(forms.FileField(widget=translated, required=False), initial={"f": stored})
    assert "Aktuell &lt;&amp;&gt;: " in assert_same(form["f"])


def test_textarea_value_with_leading_newline_and_safe_text() -> None:
    for value in ["\nerste Zeile", mark_safe("<b>x</b>"), "</textarea><script>"]:
        form = one_field_form(forms.CharField(widget=forms.Textarea), initial={"f": value})
        assert_same(form["f"])


# --- what falls back ---------------------------------------------------------------------

FALLBACK_FIELDS: list[Callable[[], forms.Field]] = [
    lambda: forms.ChoiceField(choices=[("a", "A <1>"), ("b", "B")]),
    lambda: forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect),
    lambda: forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "B")], widget=forms.CheckboxSelectMultiple
    ),
    lambda: forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")]),
    lambda: forms.NullBooleanField(),
    lambda: forms.SplitDateTimeField(),
    lambda: forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "B")], widget=forms.MultipleHiddenInput
    ),
    lambda: forms.DateField(widget=forms.SelectDateWidget),
]


@pytest.mark.parametrize("make", FALLBACK_FIELDS)
def test_other_widgets_use_the_templates(make: Callable[[], forms.Field]) -> None:
    for form in (one_field_form(make()), one_field_form(make(), data={"f": "<x>"})):
        assert_same(form["f"])
        assert_same(form["f"], BOOLEAN_ATTRS)


@pytest.mark.parametrize(
    ("attrs", "python"),
    [
        ({"data-x": lambda: "gerufen"}, False),  # the engine calls callables
        ({"data-x": type("Html", (), {"__html__": lambda self: "<b>"})()}, True),
        ({"data-x": type("SafeStr", (), {"__str__": lambda self: mark_safe("<b>")})()}, True),
        ({"data-x": type("Marked", (SafeData,), {"__str__": lambda self: "<b>"})()}, True),
        ({"data-n": 1234567, "data-f": 0.5, "data-d": datetime.date(2026, 1, 2)}, True),
    ],
)
def test_attrs_the_engine_treats_specially(attrs: dict[str, Any], python: bool) -> None:
    for language in ("de", "en"):
        with translation.override(language):
            form = one_field_form(forms.CharField(widget=forms.TextInput(attrs=attrs)))
            assert_same(form["f"], python=python)


def test_an_attribute_named_items_fails_as_in_the_engine() -> None:
    """``widget.attrs.items`` in attrs.html finds the attribute, not ``dict.items``."""
    form = one_field_form(forms.CharField(widget=forms.TextInput(attrs={"items": "x"})))
    with pytest.raises(ValueError, match="Need 2 values to unpack"):
        form["f"].as_widget()
    with pytest.raises(ValueError, match="Need 2 values to unpack"):
        render_widget(form["f"], {})
    pairs = one_field_form(forms.CharField(widget=forms.TextInput(attrs={"items": ["ab", "cd"]})))
    assert_same(pairs["f"], python=False)


ODD_CONTEXTS: list[tuple[str, dict[str, Any]]] = [
    ("text", {"value": Decimal("1234.5")}),
    ("text", {"value": 0.5, "name": datetime.date(2026, 12, 31)}),
    ("text", {"type": 1234567.25, "value": StoredFile("a<", "/")}),
    ("text", {"name": datetime.datetime(2026, 6, 1, 22, 30, tzinfo=datetime.UTC)}),
    ("text", {"attrs": {"x": (1, "<2>"), "y": [1], "z": None, 3: "drei", True: False}}),
    ("text", {"attrs": {"a": mark_safe("<b>"), "b": gettext_lazy("Ablesedatum")}}),
    ("textarea", {"value": Decimal("0.5")}),
    ("textarea", {"value": datetime.time(7, 5), "name": None}),
    ("textarea", {"value": False}),
]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(("kind", "odd"), ODD_CONTEXTS)
def test_odd_context_values_render_as_the_engine_renders_them(
    language: str, kind: str, odd: dict[str, Any]
) -> None:
    """Numbers and dates in ``{{ … }}`` are localised, in ``stringformat`` they are not."""
    widget = forms.TextInput() if kind == "text" else forms.Textarea()
    context = {"widget": {**widget.get_context("n", "v", {"class": "c"})["widget"], **odd}}
    name = f"django/forms/widgets/{kind}.html"
    with translation.override(language):
        assert python_html(name, context) == get_default_renderer().render(name, context)


def test_python_html_declines_what_it_cannot_vouch_for() -> None:
    widget = forms.TextInput().get_context("n", "v", {})["widget"]
    text = "django/forms/widgets/text.html"
    assert python_html(text, {"widget": widget}) == '<input type="text" name="n" value="v">'
    assert python_html("django/forms/widgets/select.html", {"widget": widget}) is None
    assert python_html(text, {}) is None
    assert python_html(text, {"widget": [widget]}) is None
    for odd in (
        {"type": print},
        {"attrs": {"items": "x"}},
        {"attrs": {"x": print}},
        {"attrs": [("x", "y")]},
    ):
        assert python_html(text, {"widget": {**widget, **odd}}) is None
    del widget["value"]
    assert python_html(text, {"widget": widget}) is None


FORMS_TEMPLATES = Path(django.forms.__file__).parent / "templates"


def renderer_with(loader_templates: dict[str, str], **options: Any) -> DjangoTemplates:
    """A form renderer whose engine finds ``loader_templates`` before Django's own."""

    class Renderer(DjangoTemplates):
        @property
        def engine(self) -> Any:  # type: ignore[override]
            return self.backend(
                {
                    "APP_DIRS": False,
                    "DIRS": [],
                    "NAME": "overridden",
                    "OPTIONS": {
                        "loaders": [
                            ("django.template.loaders.locmem.Loader", loader_templates),
                            ("django.template.loaders.filesystem.Loader", [FORMS_TEMPLATES]),
                        ],
                        **options,
                    },
                }
            )

    return Renderer()


@pytest.mark.parametrize(
    ("templates", "options"),
    [
        ({"django/forms/widgets/text.html": '<input class="eigen" name="{{ widget.name }}">'}, {}),
        ({"django/forms/widgets/attrs.html": "{# keine Attribute #}"}, {}),
        ({"django/forms/widgets/input.html": "<input>"}, {}),
        ({}, {"autoescape": False}),
        ({}, {"string_if_invalid": "??"}),
    ],
)
def test_overridden_templates_are_rendered_by_the_engine(
    templates: dict[str, str], options: dict[str, Any]
) -> None:
    renderer = renderer_with(templates, **options)
    assert not is_stock(renderer, "django/forms/widgets/text.html")
    form = one_field_form(forms.CharField(), initial={"f": "<&>"}, renderer=renderer)
    with template_renders(form) as rendered:
        html = render_widget(form["f"], {"data-x": True})
    assert html == form["f"].as_widget(attrs={"data-x": True})
    assert rendered == ["django/forms/widgets/text.html"]


def test_a_renderer_with_stock_templates_elsewhere_still_uses_python() -> None:
    renderer = renderer_with({})
    assert is_stock(renderer, "django/forms/widgets/text.html")
    assert not is_stock(renderer, "django/forms/widgets/select.html")


def test_default_renderer_gets_every_supported_template_from_django() -> None:
    """If this fails, Django changed a widget template: compare it with lib/widgets.py."""
    renderer = get_default_renderer()
    assert SUPPORTED_TEMPLATES
    for name in SUPPORTED_TEMPLATES:
        assert is_stock(renderer, name), name


def test_a_render_with_a_request_goes_to_the_engine() -> None:
    """Context processors may add to the context: only the engine knows what they do."""
    form = one_field_form(forms.CharField(), initial={"f": "x"})
    context = forms.TextInput().get_context("f", "x", {})
    with template_renders(form) as rendered:
        renderer = PythonWidgetRenderer(form.renderer)
        assert renderer.render("django/forms/widgets/text.html", context) == python_html(
            "django/forms/widgets/text.html", context
        )
        assert rendered == []
        renderer.render("django/forms/widgets/text.html", context, request=HttpRequest())
        assert rendered == ["django/forms/widgets/text.html"]


def test_a_custom_renderer_render_is_respected() -> None:
    class Shouting(BaseRenderer):
        def get_template(self, template_name: str) -> Any:
            return get_default_renderer().get_template(template_name)

        def render(
            self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
        ) -> str:
            return super().render(template_name, context, request).upper()

    form = one_field_form(forms.CharField(), initial={"f": "leise"}, renderer=Shouting())
    assert (
        render_widget(form["f"], {})
        == form["f"].as_widget()
        == ('<INPUT TYPE="TEXT" NAME="F" VALUE="LEISE" REQUIRED ID="ID_F">')
    )


# --- the filter --------------------------------------------------------------------------


def test_accessible_widget_links_hint_and_error() -> None:
    form = one_field_form(
        forms.CharField(
            help_text="Hinweis", widget=forms.TextInput(attrs={"aria-describedby": "eigen"})
        ),
        data={"f": ""},
    )
    assert accessible_widget(form["f"]) == (
        '<input type="text" name="f" aria-describedby="eigen id_f-hint id_f-error"'
        ' aria-invalid="true" required id="id_f">'
    )
    plain = one_field_form(forms.CharField(required=False), initial={"f": "x"})
    assert accessible_widget(plain["f"]) == '<input type="text" name="f" value="x" id="id_f">'


# --- every form of the project -----------------------------------------------------------


def project_forms() -> Iterator[forms.BaseForm]:
    for _name, make_form in PROJECT_FORMS:
        yield make_form()


@pytest.mark.django_db
def test_every_form_of_the_project() -> None:
    python = fallback = 0
    for form in project_forms():
        for field in form:
            assert_same(field)
            assert_same(field, BOOLEAN_ATTRS)
            if uses_python(field):
                python += 1
            else:
                fallback += 1
    assert python > 60
    assert fallback > 10


def test_meter_reading_form_renders_without_templates() -> None:
    form = MeterReadingForm(reading_lines())
    page = ["value_11", "value_12", "value_13", "reading_date", "comment", "photo", "email"]
    with template_renders(form) as rendered:
        for name in page:
            accessible_widget(form[name])
    assert rendered == []


# --- random attributes and values -------------------------------------------------------

LazyStr = lazy(str, str)
texts = st.text(max_size=20)
attr_values = st.one_of(
    texts,
    st.booleans(),
    st.none(),
    st.integers(),
    st.decimals(allow_nan=False),
    st.floats(),
    st.dates(),
    st.tuples(texts, texts),
    st.lists(st.integers(), max_size=3),
    texts.map(mark_safe),
    texts.map(LazyStr),
    texts.map(LazyStr).map(mark_safe),
)
attr_names = st.one_of(
    texts.filter(bool),
    st.sampled_from(
        ["class", "id", "required", "disabled", "checked", "value", "type", "items", "name"]
    ),
    st.sampled_from(["aria-describedby", "aria-invalid", "data-<x>", 'a"b']),
)
attr_dicts = st.dictionaries(attr_names, attr_values, max_size=5)
WIDGETS: list[type[forms.Widget]] = [
    forms.TextInput,
    forms.NumberInput,
    forms.EmailInput,
    forms.URLInput,
    forms.PasswordInput,
    forms.HiddenInput,
    forms.DateInput,
    forms.DateTimeInput,
    forms.TimeInput,
    forms.TelInput,
    forms.SearchInput,
    forms.ColorInput,
    forms.Textarea,
    forms.FileInput,
    forms.ClearableFileInput,
    forms.CheckboxInput,
    GermanDateInput,
    forms.Select,
]
initials = st.one_of(
    st.none(),
    texts,
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(),
    st.dates(),
    st.booleans(),
    st.builds(StoredFile, texts, texts),
    texts.map(mark_safe),
)


@settings(max_examples=300)
@given(
    widget_class=st.sampled_from(WIDGETS),
    widget_attrs=attr_dicts,
    extra_attrs=attr_dicts,
    initial=initials,
    posted=st.one_of(st.none(), texts),
    required=st.booleans(),
    disabled=st.booleans(),
    localize=st.booleans(),
    help_text=texts,
    auto_id=st.sampled_from(["id_%s", "%s", False]),
    language=st.sampled_from(["de", "en"]),
)
def test_random_attributes_and_values(
    widget_class: type[forms.Widget],
    widget_attrs: dict[str, Any],
    extra_attrs: dict[str, Any],
    initial: Any,
    posted: str | None,
    required: bool,
    disabled: bool,
    localize: bool,
    help_text: str,
    auto_id: str | bool,
    language: str,
) -> None:
    if issubclass(widget_class, forms.FileInput):
        widget_attrs.pop("multiple", None)
    widget = widget_class(attrs=widget_attrs)
    field = forms.Field(
        widget=widget, required=required, disabled=disabled, localize=localize, help_text=help_text
    )
    data = None if posted is None else {"f": posted}
    form = one_field_form(field, data=data, initial={"f": initial}, auto_id=auto_id)
    python = widget.template_name in SUPPORTED_TEMPLATES and "items" not in {
        **widget.attrs,
        **extra_attrs,
    }
    with translation.override(language):
        assert_same(form["f"], extra_attrs, python=python)
