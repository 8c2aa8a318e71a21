"""The texts of letters and mails: placeholders checked on save, rendered without evaluation."""

import pytest

from ablesung.letters import texts
from ablesung.letters.texts import TextKind, TextSet


@pytest.mark.parametrize("kind", list(TextKind))
def test_every_default_passes_its_own_check(kind: TextKind) -> None:
    texts.check_set(kind, texts.DEFAULTS[kind])


def test_render_fills_names_and_keeps_doubled_braces() -> None:
    text = "Hallo {name}, Code {zugangscode} {{nicht ersetzt}} {frist}"
    texts.check(text, texts.PLACEHOLDERS[TextKind.LETTER])
    rendered = texts.render(text, {"name": "Jörg", "zugangscode": "ABCD-EFGH-JKM"})
    assert rendered == "Hallo Jörg, Code ABCD-EFGH-JKM {nicht ersetzt} "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hallo {vorname}", r"Text: Unbekannter Platzhalter \{vorname\}. Erlaubt sind: \{name\}"),
        ("{a} {b}", r"Unbekannte Platzhalter \{a\}, \{b\}"),
        ("Hallo {name", "nicht geschlossen"),
        ("Hallo name}", "nicht geschlossen"),
        ("{name:>20}", "keine Formatangabe"),
        ("{name!r}", "keine Formatangabe"),
        ("{name.__class__}", r"Unbekannter Platzhalter \{name.__class__\}"),
        ("{name[0]}", r"Unbekannter Platzhalter \{name\[0\]\}"),
        ("{}", r"Unbekannter Platzhalter \{\}"),
    ],
)
def test_bad_texts_are_refused_in_german(text: str, message: str) -> None:
    with pytest.raises(texts.TextError, match=message):
        texts.check(text, texts.PLACEHOLDERS[TextKind.LETTER])


def test_a_mail_body_has_the_property_list_but_no_access_code() -> None:
    texts.check("{objekte}", texts.PLACEHOLDERS[TextKind.INVITATION_MAIL])
    with pytest.raises(texts.TextError, match=r"\{zugangscode\}"):
        texts.check("{zugangscode}", texts.PLACEHOLDERS[TextKind.INVITATION_MAIL])
    with pytest.raises(texts.TextError, match=r"^Betreff: "):
        texts.check_set(TextKind.REMINDER_MAIL, TextSet(subject="{name}", body="x"))
