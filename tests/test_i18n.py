"""English as the second locale: the catalogue is complete, up to date and actually used.

German is the source language (every msgid is German); English comes from
``src/ablesung/locale/en/LC_MESSAGES/django.po``.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.test import Client
from django.utils import translation
from django.utils.translation.reloader import translation_file_changed

import ablesung

PACKAGE_DIR = Path(ablesung.__file__).resolve().parent
PO_PATH = PACKAGE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# %(name)s, %s, %d … (python-format) and {name} / {{ name }} (brace and template variables).
PERCENT_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0+-]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
BRACE_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}|\{(\w*)\}")

# {% translate "…" %} / {% trans '…' %}, optionally followed by noop, context or "as var".
TRANSLATE_TAG = re.compile(
    r"""\{%\s*trans(?:late)?\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
)
GETTEXT_FUNCTIONS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}


def load_catalog() -> Catalog:
    with PO_PATH.open("rb") as f:
        return read_po(f, locale="en")


def translated_messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def as_tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def placeholders(text: str) -> set[str]:
    found = {f"%({m[1]})" if m[1] else m[0] for m in PERCENT_PLACEHOLDER.finditer(text)}
    for match in BRACE_PLACEHOLDER.finditer(text):
        found.add("{{" + match[1] + "}}" if match[1] is not None else "{" + match[2] + "}")
    return found


def compile_mo() -> None:
    catalog = load_catalog()
    with MO_PATH.open("wb") as f:
        write_mo(f, catalog)


@pytest.fixture(scope="module", autouse=True)
def compiled_catalog() -> None:
    """`make test` builds the .mo first; when this file runs on its own, build it here.

    Django caches loaded catalogues per process, so after (re)compiling the cache is
    reset; the fixture runs before the first request of this module.
    """
    if not MO_PATH.exists() or MO_PATH.stat().st_mtime < PO_PATH.stat().st_mtime:
        compile_mo()
        translation_file_changed(sender=None, file_path=MO_PATH)


@pytest.fixture(autouse=True)
def restore_language() -> Iterator[None]:
    """The locale middleware activates the cookie's language and leaves it active in the thread."""
    before = translation.get_language()
    yield
    translation.activate(before)


# --- the catalogue itself ----------------------------------------------------------


def test_catalogue_is_english_and_not_fuzzy() -> None:
    catalog = load_catalog()
    assert str(catalog.locale) == "en"
    assert catalog.num_plurals == 2
    assert not catalog.fuzzy, "the header is marked fuzzy"
    fuzzy = [message.id for message in translated_messages(catalog) if message.fuzzy]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"


def test_every_message_is_translated() -> None:
    catalog = load_catalog()
    missing = [
        message.id
        for message in translated_messages(catalog)
        if not all(form.strip() for form in as_tuple(message.string))
        or len(as_tuple(message.string)) != len(as_tuple(message.id))
    ]
    assert not missing, f"untranslated: {missing}"


def test_placeholders_match() -> None:
    catalog = load_catalog()
    problems = []
    for message in translated_messages(catalog):
        expected = set().union(*(placeholders(form) for form in as_tuple(message.id)))
        if any(name.startswith("%") for name in expected) and not message.python_format:
            problems.append(f"{message.id!r}: placeholders but no python-format flag")
        for form in as_tuple(message.string):
            if placeholders(form) != expected:
                problems.append(f"{message.id!r} -> {form!r}: {placeholders(form)} != {expected}")
    assert not problems, "\n".join(problems)


def test_babel_checks_and_compiles(tmp_path: Path) -> None:
    catalog = load_catalog()
    errors = [(message.id, [str(e) for e in errs]) for message, errs in catalog.check()]
    assert not errors, errors
    mo = tmp_path / "django.mo"
    with mo.open("wb") as f:
        write_mo(f, catalog)
    assert mo.stat().st_size > 0


# --- the catalogue is up to date ---------------------------------------------------


def template_strings() -> Iterator[tuple[Path, int, str]]:
    # {% blocktranslate %} blocks are not scanned: their msgids are rewritten by Django
    # ({{ name }} becomes %(name)s, whitespace and plural forms vary). makemessages
    # covers them; the placeholder test above checks their translations.
    for path in sorted(PACKAGE_DIR.glob("**/templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for match in TRANSLATE_TAG.finditer(text):
            raw = match[1] if match[1] is not None else match[2]
            line = text.count("\n", 0, match.start()) + 1
            yield path, line, re.sub(r"\\(.)", r"\1", raw)


def python_strings() -> Iterator[tuple[Path, int, str]]:
    for path in sorted(PACKAGE_DIR.glob("**/*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else None
            )
            first = node.args[0]
            if (
                name in GETTEXT_FUNCTIONS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield path, node.lineno, first.value


def test_scanner_finds_known_strings() -> None:
    templates = {text for _path, _line, text in template_strings()}
    python = {text for _path, _line, text in python_strings()}
    assert "Anmeldung für Mitarbeitende" in templates
    assert "E-Mail-Adresse" in python


def test_every_marked_string_is_in_the_catalogue() -> None:
    msgids: set[str] = set()
    for message in translated_messages(load_catalog()):
        msgids.update(as_tuple(message.id))
    missing = [
        f"{path.relative_to(PACKAGE_DIR)}:{line}: {text!r}"
        for path, line, text in [*template_strings(), *python_strings()]
        if text not in msgids
    ]
    assert not missing, (
        "strings missing from the English catalogue – in src/ablesung run "
        "`django-admin makemessages -l en --settings=ablesung.settings_test` "
        "(PYTHONPATH=src) and translate them:\n" + "\n".join(missing)
    )


# --- the language switch -----------------------------------------------------------

LOGIN = "/konto/anmelden/"


def test_login_page_is_german_by_default_whatever_the_browser_says() -> None:
    response = Client().get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert '<html lang="de">' in response.text
    assert "Anmeldung für Mitarbeitende" in response.text
    assert response["Content-Language"] == "de"


def test_switching_to_english() -> None:
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert response["Location"] == LOGIN

    response = client.get(LOGIN)
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Staff login" in response.text
    assert response["Content-Language"] == "en"
    for german in ("Anmeld", "Mitarbeitende", "Passwort", "E-Mail-Adresse", "Zum Inhalt"):
        assert german not in response.text
    for english in ("Log in", "Email address", "Password", "Skip to content", "Legal notice"):
        assert english in response.text

    response = client.post("/i18n/setlang/", {"language": "de", "next": LOGIN}, follow=True)
    assert '<html lang="de">' in response.text
    assert "Anmeldung für Mitarbeitende" in response.text
