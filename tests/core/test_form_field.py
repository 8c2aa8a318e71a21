"""``{% form_field %}`` gives byte for byte what ``includes/field.html`` gives.

The include stays in the repository as the reference markup. Every field of every form of
the project is rendered both ways, in German and English, unbound and bound with invalid
and valid data, and compared; further cases cover escaping, hints, errors, selects,
missing ids, non-string labels and the template context (autoescape, localisation).
"""

import datetime
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation
from django.utils.functional import lazy
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from ablesung.core.templatetags.form_fields import form_field
from ablesung.portal.forms import MeterReadingForm
from tests.conftest import OrgData
from tests.form_samples import PROJECT_FORMS, reading_lines
from tests.portal.conftest import citizen, form_url, portal_clock, post_value

# fixtures of tests/portal, used by the page tests below
__all__ = ["citizen", "portal_clock"]

LANGUAGES = ["de", "en"]
NASTY = "<b>\"fett\"</b> & 'so'"
LazyStr = lazy(str, str)
LazySafe = lazy(mark_safe, SafeString)


def include(field: forms.BoundField) -> str:
    """The reference: ``includes/field.html`` rendered by the template engine."""
    return render_to_string("includes/field.html", {"field": field})


def assert_same(field: forms.BoundField) -> str:
    html = form_field(field)
    assert isinstance(html, SafeString)
    assert html == include(field), field.name
    return html


# --- every form of the project ---------------------------------------------------------


@pytest.mark.django_db  # the admin's user forms check uniqueness; the login form queries
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "make_form", [factory for _name, factory in PROJECT_FORMS], ids=[n for n, _f in PROJECT_FORMS]
)
def test_every_field_of_every_form(make_form: Callable[[], forms.BaseForm], language: str) -> None:
    with translation.override(language):
        form = make_form()
        for field in form:
            assert_same(field)


def test_the_cases_are_covered() -> None:
    """The forms above hold every kind of field the comparison must see."""
    seen: dict[str, int] = {}
    for _name, make_form in PROJECT_FORMS:
        if _name.startswith(("user-", "login-valid")):
            continue  # need the database; covered above
        form = make_form()
        for field in form:
            kinds = [
                "required" if field.field.required else "optional",
                "help" if field.help_text else "no-help",
                "errors" if field.errors else "no-errors",
                field.widget_type,
            ]
            for kind in kinds:
                seen[kind] = seen.get(kind, 0) + 1
    for kind in ("required", "optional", "help", "errors", "no-errors", "select", "radioselect"):
        assert seen.get(kind), kind
    assert {"text", "textarea", "date", "email", "clearablefile", "file", "checkbox"} <= set(seen)


def test_german_and_english() -> None:
    form = MeterReadingForm(reading_lines())
    with translation.override("de"):
        german = assert_same(form["reading_date"]), assert_same(form["comment"])
    with translation.override("en"):
        english = assert_same(form["reading_date"]), assert_same(form["comment"])
    assert ">Ablesedatum</label>" in german[0]
    assert ">Reading date</label>" in english[0]
    assert '<span class="kern-label__optional">(optional)</span>' in german[1]
    assert '<span class="kern-label__optional">(optional)</span>' in english[1]
    assert "kern-label__optional" not in german[0]


# --- the markup in detail ---------------------------------------------------------------


class DetailForm(forms.Form):
    plain = forms.CharField(label="Name")
    nasty = forms.CharField(
        label=NASTY,
        required=False,
        help_text=NASTY,
        widget=forms.TextInput(attrs={"aria-describedby": "eigen", "class": "x"}),
    )
    safe = forms.CharField(
        label=mark_safe("<abbr>Nr.</abbr>"), help_text=mark_safe("<em>so</em> & so")
    )
    lazy = forms.CharField(label=gettext_lazy("Ablesedatum"), help_text=gettext_lazy("Jahr"))
    lazy_nasty = forms.CharField(label=LazyStr(NASTY), help_text=LazySafe("<em>sicher</em>"))
    choice = forms.ChoiceField(
        label="Auswahl", choices=[("a", "<A>"), ("b", "B & C")], help_text="Hilfe"
    )
    multiple = forms.MultipleChoiceField(label="Mehrere", choices=[("a", "A")], required=False)
    nullbool = forms.NullBooleanField(label="Ja/Nein")
    radio = forms.ChoiceField(label="Radio", choices=[("a", "A")], widget=forms.RadioSelect)
    boxes = forms.MultipleChoiceField(
        label="Boxen", choices=[("a", "A")], widget=forms.CheckboxSelectMultiple
    )
    # labels that are no strings: the engine localises them
    number = forms.DecimalField(label=Decimal("1234.5"), required=False, localize=True)  # type: ignore[arg-type]
    day = forms.DateField(label=datetime.date(2026, 12, 31), initial=datetime.date(2026, 1, 2))  # type: ignore[arg-type]
    unlabelled = forms.CharField(required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False, help_text="versteckt")


def detail_fields(*args: Any, **kwargs: Any) -> Iterator[forms.BoundField]:
    form = DetailForm(*args, **kwargs)
    yield from form


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"data": {"choice": "<nope>", "nullbool": "x"}},
        {"data": {"plain": "x", "safe": "y", "lazy": "z", "choice": "a", "radio": "a"}},
        {"auto_id": False},
        {"auto_id": False, "data": {}},
        {"auto_id": "feld-%s-<&>", "prefix": "p"},
    ],
    ids=["unbound", "invalid", "valid", "no-auto-id", "no-auto-id-invalid", "odd-auto-id"],
)
def test_detail_fields(kwargs: dict[str, Any], language: str) -> None:
    with translation.override(language):
        for field in detail_fields(**kwargs):
            assert_same(field)


def test_errors_are_escaped_and_each_followed_by_a_space() -> None:
    form = DetailForm({"plain": "x"})
    form.is_valid()
    form.add_error("plain", NASTY)
    form.add_error("plain", forms.ValidationError("%(wert)s fehlt", params={"wert": "<W>"}))
    form.add_error("nasty", mark_safe("<i>sicher</i>"))
    html = assert_same(form["plain"])
    assert (
        '<p class="kern-error" id="id_plain-error" role="alert">'
        "&lt;b&gt;&quot;fett&quot;&lt;/b&gt; &amp; &#x27;so&#x27; &lt;W&gt; fehlt </p>"
    ) in html
    assert 'aria-invalid="true" aria-describedby="id_plain-error"' in html
    nasty = assert_same(form["nasty"])
    assert "<i>sicher</i> </p>" in nasty
    assert 'aria-describedby="eigen id_nasty-hint id_nasty-error"' in nasty


def test_the_exact_markup() -> None:
    form = DetailForm({"choice": ""})
    assert assert_same(form["choice"]) == (
        '<div class="kern-form-input">\n'
        '  <label class="kern-label" for="id_choice">Auswahl</label>\n'
        '  <div class="kern-hint" id="id_choice-hint">Hilfe</div>\n'
        '  <p class="kern-error" id="id_choice-error" role="alert">'
        "Dieses Feld ist zwingend erforderlich. </p>\n"
        '  <div class="kern-form-input__select-wrapper"><select name="choice" '
        'aria-invalid="true" aria-describedby="id_choice-hint id_choice-error" id="id_choice">\n'
        '  <option value="a">&lt;A&gt;</option>\n\n  <option value="b">B &amp; C</option>\n\n'
        "</select></div>\n"
        "</div>\n"
    )
    assert assert_same(DetailForm(auto_id=False)["nasty"]) == (
        '<div class="kern-form-input">\n'
        '  <label class="kern-label" for="">&lt;b&gt;&quot;fett&quot;&lt;/b&gt; &amp; '
        "&#x27;so&#x27; <span "
        'class="kern-label__optional">(optional)</span></label>\n'
        '  <div class="kern-hint" id="-hint">&lt;b&gt;&quot;fett&quot;&lt;/b&gt; &amp; '
        "&#x27;so&#x27;</div>\n"
        "  \n"
        '  <input type="text" name="nasty" aria-describedby="eigen -hint" class="x">\n'
        "</div>\n"
    )


def test_only_a_plain_select_gets_the_wrapper() -> None:
    form = DetailForm()
    wrapper = '<div class="kern-form-input__select-wrapper">'
    assert wrapper in assert_same(form["choice"])
    for name in ("multiple", "nullbool", "radio", "boxes", "plain"):
        assert wrapper not in assert_same(form[name])


def test_lazy_texts_are_escaped_unless_safe() -> None:
    html = assert_same(DetailForm()["lazy_nasty"])
    assert (
        '"id_lazy_nasty">&lt;b&gt;&quot;fett&quot;&lt;/b&gt; &amp; &#x27;so&#x27;</label>' in html
    )
    assert '"id_lazy_nasty-hint"><em>sicher</em></div>' in html


def test_labels_are_localised_like_the_engine() -> None:
    form = DetailForm()
    with translation.override("de"):
        assert '"id_number">1234,5 <span' in assert_same(form["number"])
        assert ">31. Dezember 2026</label>" in assert_same(form["day"])
    with translation.override("en"):
        assert '"id_number">1234.5 <span' in assert_same(form["number"])


# --- in templates: the tag against the include, in the template's context ---------------

WRAPPERS = [
    "{}",
    "{{% autoescape off %}}{}{{% endautoescape %}}",
    "{{% load l10n %}}{{% localize off %}}{}{{% endlocalize %}}",
    "{{% load l10n %}}{{% localize on %}}{}{{% endlocalize %}}",
    "{{% load tz %}}{{% localtime off %}}{}{{% endlocaltime %}}",
]


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_tag_in_a_template_equals_the_include(wrapper: str) -> None:
    tag = Template("{% load form_fields %}" + wrapper.format("{% form_field field %}"))
    included = Template(wrapper.format('{% include "includes/field.html" with field=field %}'))
    for data in (None, {"choice": "<x>"}):
        for field in DetailForm(data):
            context = {"field": field}
            assert tag.render(Context(context)) == included.render(Context(context)), field.name


def test_tag_in_a_loop_equals_the_include() -> None:
    form = DetailForm({"plain": "<x>"})
    tag = Template(
        "{% load form_fields %}{% for field in form %}{% form_field field %}{% endfor %}"
    )
    included = Template('{% for field in form %}{% include "includes/field.html" %}{% endfor %}')
    assert tag.render(Context({"form": form})) == included.render(Context({"form": form}))


# --- the meter form page ----------------------------------------------------------------

PAGE_FIELDS = ["reading_date", "comment", "photo", "email"]


def assert_fields_on_page(response: Any, names: list[str]) -> None:
    form = response.context["form"]
    for name in names:
        assert include(form[name]) in response.text, name
    assert response.text.count('<div class="kern-form-input">') == len(names)


def test_meter_form_page_shows_the_fields(citizen: Client, org_a: OrgData) -> None:
    response = citizen.get(form_url(org_a))
    assert response.status_code == 200
    value = f"value_{org_a.register.pk}"
    assert_fields_on_page(response, [value, *PAGE_FIELDS])
    text = response.text
    assert f'<label class="kern-label" for="id_{value}">Zählerstand' in text
    assert '<input type="date" name="reading_date" value="2026-12-30"' in text
    assert '<textarea name="comment" cols="40" rows="3"' in text
    assert 'name="photo" accept="image/jpeg' in text
    assert 'aria-describedby="id_photo-hint"' in text
    assert text.count('<span class="kern-label__optional">(optional)</span>') == 3


def test_meter_form_page_shows_errors(citizen: Client, org_a: OrgData) -> None:
    response = post_value(citizen, org_a, "", reading_date="kaputt", email="a<b")
    assert response.status_code == 400
    value = f"value_{org_a.register.pk}"
    assert_fields_on_page(response, [value, *PAGE_FIELDS])
    assert (
        f'<p class="kern-error" id="id_{value}-error" role="alert">'
        "Bitte geben Sie den Zählerstand ein. </p>"
    ) in response.text
    assert 'value="a&lt;b"' in response.text


def test_meter_form_page_in_english(citizen: Client, org_a: OrgData) -> None:
    citizen.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    response = citizen.get(form_url(org_a))
    assert response.status_code == 200
    assert_fields_on_page(response, [f"value_{org_a.register.pk}", *PAGE_FIELDS])
    assert ">Reading date</label>" in response.text
