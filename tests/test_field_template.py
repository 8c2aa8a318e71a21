"""Form fields in KERN's markup through Django's own rendering (``FORM_RENDERER`` and
``templates/includes/field.html``): label and widget paired, hint and errors with ids the
widget names in ``aria-describedby``, ``aria-invalid`` on errors, the optional marker,
selects in KERN's wrapper, radio groups as a fieldset."""

import pytest
from django import forms
from django.forms import BoundField
from django.template import Context, Template
from django.test import Client
from django.test.html import Element
from django.utils import translation

from ablesung.backend.forms import UploadForm
from ablesung.core.models import CampaignMeter, Register
from ablesung.portal.access_views import AccessForm
from ablesung.portal.forms import FinishForm, MessageForm, MeterReadingForm
from tests.html_tree import attributes, described_by, find, find_all, parse, text


def group(field: BoundField) -> Element:
    """The field as the templates draw it: ``{{ field.as_field_group }}``."""
    return parse(str(field.as_field_group()))


def reading_lines() -> list[CampaignMeter]:
    """A meter form's lines: one meter with a high (HT) and a low tariff (NT)."""
    return [
        CampaignMeter(register=Register(pk=pk, code=code)) for pk, code in ((12, "HT"), (13, "NT"))
    ]


# --- one field ---------------------------------------------------------------------------


def test_label_names_the_widget_and_the_hint_describes_it() -> None:
    html = group(FinishForm()["email"])
    label = find(html, "label", class_="kern-label")
    widget = find(html, "input", name="email")
    assert attributes(label)["for"] == attributes(widget)["id"] == "id_email"
    assert text(label).startswith("E-Mail-Adresse für eine Bestätigung")
    hint = find(html, "div", class_="kern-hint")
    assert attributes(hint)["id"] == "id_email_helptext"
    assert "Die Adresse wird nur dafür genutzt." in text(hint)
    assert described_by(widget) == ["id_email_helptext"]
    assert "aria-invalid" not in attributes(widget)
    assert find_all(html, "p", class_="kern-error") == []
    # the widget keeps its own attributes
    assert attributes(widget)["class"] == "kern-form-input__input"
    assert attributes(widget)["autocomplete"] == "email"


def test_an_error_has_an_id_the_widget_names_and_marks_the_widget_invalid() -> None:
    form = FinishForm({"email": "kaputt@"})
    assert not form.is_valid()
    html = group(form["email"])
    error = find(html, "p", class_="kern-error")
    assert attributes(error)["id"] == "id_email_error"
    assert attributes(error)["role"] == "alert"
    assert text(error) == "Bitte geben Sie eine gültige E-Mail-Adresse ein."
    widget = find(html, "input", name="email")
    assert attributes(widget)["aria-invalid"] == "true"
    assert described_by(widget) == ["id_email_helptext", "id_email_error"]
    assert "kern-form-input--error" in (
        attributes(find(html, "div", class_="kern-form-input"))["class"] or ""
    )
    assert attributes(widget)["value"] == "kaputt@"


def test_a_field_without_hint_is_described_by_its_error_only() -> None:
    form = AccessForm({"code": "", "meter_number": "M1"})
    assert not form.is_valid()
    widget = find(group(form["code"]), "input", name="code")
    assert described_by(widget) == ["id_code_error"]
    assert attributes(widget)["aria-invalid"] == "true"
    untouched = find(group(form["meter_number"]), "input", name="meter_number")
    assert "aria-describedby" not in attributes(untouched)
    assert "aria-invalid" not in attributes(untouched)


def test_only_optional_fields_say_so() -> None:
    optional = find(group(FinishForm()["email"]), "label")
    assert text(find(optional, "span", class_="kern-label__optional")) == "(optional)"
    required = find(group(AccessForm()["code"]), "label")
    assert find_all(required, "span", class_="kern-label__optional") == []


def test_a_select_sits_in_kerns_wrapper_and_other_widgets_do_not() -> None:
    form = UploadForm(campaigns=[(1, "Jahresablesung 2026")], profiles=["Standard"])
    html = group(form["campaign"])
    wrapper = find(html, "div", class_="kern-form-input__select-wrapper")
    select = find(wrapper, "select", name="campaign")
    assert attributes(select)["class"] == "kern-form-input__select"
    assert described_by(select) == ["id_campaign_helptext"]
    assert attributes(find(html, "label"))["for"] == "id_campaign"
    for name in ("new_campaign_name", "file"):
        assert find_all(group(form[name]), "div", class_="kern-form-input__select-wrapper") == []


def test_a_widgets_own_description_is_kept_next_to_the_error() -> None:
    """The meter value names its live feedback region (the portal view sets it); Django
    would drop the error id then, the project's bound field keeps both."""
    form = MeterReadingForm(reading_lines(), {"value_12": "", "value_13": "1", "reading_date": ""})
    form.fields["value_12"].widget.attrs["aria-describedby"] = "feedback-12"
    form.fields["value_13"].widget.attrs["aria-describedby"] = "feedback-13"
    assert not form.is_valid()
    invalid = find(group(form["value_12"]), "input", name="value_12")
    assert described_by(invalid) == ["feedback-12", "id_value_12_error"]
    assert attributes(invalid)["aria-invalid"] == "true"
    valid = find(group(form["value_13"]), "input", name="value_13")
    assert described_by(valid) == ["feedback-13"]
    html = group(form["value_12"])
    assert text(find(html, "label")) == "Zählerstand HT"
    assert attributes(find(html, "p", class_="kern-error"))["id"] == "id_value_12_error"


def test_texts_are_escaped() -> None:
    class Nasty(forms.Form):
        name = forms.CharField(label="<b>Name</b>", help_text="a < b & c")

    form = Nasty({"name": ""})
    form.is_valid()
    form.add_error("name", "<script>x</script>")
    html = str(form["name"].as_field_group())
    assert "<b>" not in html
    assert "<script>" not in html
    assert "&lt;b&gt;Name&lt;/b&gt;" in html
    assert "a &lt; b &amp; c" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_english() -> None:
    with translation.override("en"):
        form = FinishForm({"email": "kaputt@"})
        form.is_valid()
        html = group(form["email"])
    label = find(html, "label")
    assert text(label).startswith("Email address for a confirmation")
    assert text(find(label, "span", class_="kern-label__optional")) == "(optional)"
    assert text(find(html, "p", class_="kern-error")) == "Please enter a valid email address."


# --- a group of radios -------------------------------------------------------------------


def test_radios_are_a_fieldset_with_a_legend_and_kerns_radio_markup() -> None:
    html = group(MessageForm()["reason"])
    fieldset = find(html, "fieldset", class_="kern-fieldset")
    assert text(find(fieldset, "legend", class_="kern-label")) == "Worum geht es?"
    body = find(fieldset, "div", class_="kern-fieldset__body")
    checks = find_all(body, "div", class_="kern-form-check")
    assert len(checks) == len(MessageForm.base_fields["reason"].choices)  # type: ignore[attr-defined]
    for check in checks:
        radio = find(check, "input", type="radio")
        assert attributes(radio)["class"] == "kern-form-check__radio"
        assert attributes(find(check, "label"))["for"] == attributes(radio)["id"]
    assert "aria-describedby" not in attributes(fieldset)


def test_a_radio_group_with_an_error_names_it_on_the_fieldset() -> None:
    form = MessageForm({"text": "Hallo"})
    assert not form.is_valid()
    html = group(form["reason"])
    fieldset = find(html, "fieldset")
    assert "kern-fieldset--error" in (attributes(fieldset)["class"] or "")
    assert described_by(fieldset) == ["id_reason_error"]
    error = find(fieldset, "p", class_="kern-error")
    assert attributes(error)["id"] == "id_reason_error"
    assert text(error) == "Bitte wählen Sie aus, worum es geht."
    for radio in find_all(fieldset, "input", type="radio"):
        assert attributes(radio)["aria-invalid"] == "true"


# --- in templates and on pages -----------------------------------------------------------


def test_form_rendering_uses_the_field_template() -> None:
    """``{{ form }}`` and ``as_field_group`` in a template draw the same KERN groups."""
    form = AccessForm()
    whole = parse(Template("{{ form }}").render(Context({"form": form})))
    assert len(find_all(whole, "div", class_="kern-form-input")) == 2
    one = Template("{{ form.code.as_field_group }}").render(Context({"form": form}))
    assert parse(one) == group(form["code"])


@pytest.mark.django_db
def test_login_page_fields(client: Client) -> None:
    page = parse(client.get("/konto/anmelden/").text)
    for name in ("username", "password"):
        widget = find(page, "input", name=name)
        assert find(page, "label", **{"for": attributes(widget)["id"] or ""})
        assert "aria-invalid" not in attributes(widget)
    response = client.post("/konto/anmelden/", {"username": "", "password": ""})
    page = parse(response.text)
    widget = find(page, "input", name="username")
    assert attributes(widget)["aria-invalid"] == "true"
    [error_id] = described_by(widget)
    assert attributes(find(page, "p", id=error_id))["role"] == "alert"
