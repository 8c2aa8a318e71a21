"""``{% memo %}``: fragments rendered once per key, reused, and kept apart where they differ."""

from collections.abc import Iterator

import pytest
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.loaders.locmem import Loader
from django.test import override_settings
from django.utils import translation

from ablesung.core.templatetags import memo


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    memo.clear()
    yield
    memo.clear()


def render(source: str, **context: object) -> str:
    return Template("{% load memo %}" + source).render(Context(context))


def test_fragment_is_rendered_once_per_key() -> None:
    source = '{% memo "greeting" name %}Hallo {{ name }}, {{ extra }}{% endmemo %}'
    assert render(source, name="Anna", extra="eins") == "Hallo Anna, eins"
    # same key: the stored fragment, even though a value outside the key changed
    assert render(source, name="Anna", extra="zwei") == "Hallo Anna, eins"
    # another value of the key: rendered anew
    assert render(source, name="Ben", extra="zwei") == "Hallo Ben, zwei"


def test_fragments_with_different_names_do_not_mix() -> None:
    assert render('{% memo "a" %}{{ x }}{% endmemo %}', x=1) == "1"
    assert render('{% memo "b" %}{{ x }}{% endmemo %}', x=2) == "2"


def test_language_is_part_of_the_key() -> None:
    source = '{% load i18n %}{% memo "t" %}{% translate "Zählerstand" %}{% endmemo %}'
    with translation.override("de"):
        assert render(source) == "Zählerstand"
    with translation.override("en"):
        assert render(source) == "Meter reading"
    with translation.override("de"):
        assert render(source) == "Zählerstand"


def test_template_name_is_part_of_the_key() -> None:
    """A child template overriding a block inside the fragment gets its own fragment."""
    engine = Engine(
        loaders=[
            (
                "django.template.loaders.locmem.Loader",
                {
                    "base.html": '{% load memo %}{% memo "f" %}[{% block b %}base{% endblock %}]'
                    "{% endmemo %}",
                    "one.html": '{% extends "base.html" %}{% block b %}one{% endblock %}',
                    "two.html": '{% extends "base.html" %}{% block b %}two{% endblock %}',
                },
            )
        ],
        libraries={"memo": "ablesung.core.templatetags.memo"},
    )
    assert isinstance(engine.template_loaders[0], Loader)
    assert engine.get_template("one.html").render(Context()) == "[one]"
    assert engine.get_template("two.html").render(Context()) == "[two]"
    assert engine.get_template("base.html").render(Context()) == "[base]"


def test_autoescape_is_part_of_the_key() -> None:
    source = '{% memo "e" %}{{ text }}{% endmemo %}'
    assert render(source, text="<b>") == "&lt;b&gt;"
    unescaped = Template("{% load memo %}{% autoescape off %}" + source + "{% endautoescape %}")
    assert unescaped.render(Context({"text": "<b>"})) == "<b>"


def test_unhashable_value_renders_without_the_cache() -> None:
    source = '{% memo "list" items %}{{ items|length }} {{ extra }}{% endmemo %}'
    assert render(source, items=[1, 2], extra="a") == "2 a"
    assert render(source, items=[1, 2], extra="b") == "2 b"


def test_cache_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "MAX_ENTRIES", 2)
    source = '{% memo "n" n %}{{ n }}{{ extra }}{% endmemo %}'
    assert render(source, n=1, extra="a") == "1a"
    render(source, n=2, extra="a")
    render(source, n=3, extra="a")  # full: emptied, then n=3 stored
    assert render(source, n=1, extra="b") == "1b"


def test_changed_setting_empties_the_cache() -> None:
    source = '{% memo "s" %}{{ extra }}{% endmemo %}'
    assert render(source, extra="vorher") == "vorher"
    with override_settings(STATIC_URL="/anders/"):
        assert render(source, extra="nachher") == "nachher"


def test_name_must_be_quoted() -> None:
    with pytest.raises(TemplateSyntaxError, match="quoted name"):
        Template("{% load memo %}{% memo footer %}x{% endmemo %}")
