"""The reason choice next to a value that needs a confirmation (``portal/_feedback.html``)
in KERN's fieldset markup: the legend above, the radios in the fieldset's body (a legend
floats; without the body the first radios sat beside it), the free text after the group."""

from types import SimpleNamespace

from django.template.loader import render_to_string
from django.test.html import Element

from tests.html_tree import attributes, find, find_all, parse, text

REASONS = [("vacancy", "Leerstand"), ("pipe_burst", "Rohrbruch"), ("other", "Sonstiges")]


def feedback(outcome: str, submitted: str = "") -> Element:
    view = SimpleNamespace(
        result=SimpleNamespace(outcome=SimpleNamespace(key=outcome)),
        feedback=["Ihr Verbrauch ist mehr als dreimal so hoch wie erwartet."],
        reasons=REASONS,
        reason_name="reason_7",
        reason_text_name="reason_text_7",
        submitted_reason=submitted,
        submitted_reason_text="<Pool>",
    )
    return parse(render_to_string("portal/_feedback.html", {"view": view}))


def test_reasons_are_a_kern_fieldset_with_the_radios_in_its_body() -> None:
    html = feedback("warning", submitted="pipe_burst")
    fieldset = find(html, "fieldset", class_="kern-fieldset")
    legend = find(fieldset, "legend", class_="kern-label")
    assert text(legend) == "Der Wert stimmt, weil"
    assert fieldset.children[0] == legend
    body = find(fieldset, "div", class_="kern-fieldset__body")
    checks = find_all(body, "div", class_="kern-form-check")
    assert len(checks) == len(REASONS)
    for check, (value, label) in zip(checks, REASONS, strict=True):
        radio = find(check, "input", type="radio")
        assert attributes(radio)["class"] == "kern-form-check__radio"
        assert attributes(radio)["name"] == "reason_7"
        assert attributes(radio)["value"] == value
        assert ("checked" in attributes(radio)) is (value == "pipe_burst")
        assert attributes(find(check, "label"))["for"] == attributes(radio)["id"]
        assert text(find(check, "label")) == label
    # every radio sits in the body, none beside the legend
    assert len(find_all(fieldset, "input", type="radio")) == len(REASONS)
    # the free text is its own labelled input after the group, its value escaped
    assert find_all(fieldset, "input", type="text") == []
    reason_text = find(html, "input", type="text")
    assert attributes(reason_text)["value"] == "<Pool>"
    assert attributes(find(html, "label", **{"for": "id_reason_text_7"}))


def test_no_reasons_for_an_error_or_a_plausible_value() -> None:
    assert find_all(feedback("error"), "fieldset") == []
    assert find_all(feedback("ok"), "input") == []
