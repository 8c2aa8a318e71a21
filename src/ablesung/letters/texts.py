"""The texts of letters and mails: their kinds, placeholders, defaults, check and rendering.

Pure (no Django). An organisation may replace each default text, and a campaign its
letter texts; whoever stores such a text checks it with :func:`check` first, so that a
saved text always renders. Placeholders are written ``{name}``; a literal brace is
doubled (``{{``). Only the names of :data:`PLACEHOLDERS` for the text's kind are
allowed, without format specification, conversion, attribute or index: a text is data
from a clerk, never a way to reach into the values.
"""

import enum
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class TextKind(enum.StrEnum):
    LETTER = "letter"  # Ablesebrief
    REMINDER_LETTER = "reminder_letter"  # Erinnerungsbrief
    INVITATION_MAIL = "invitation_mail"  # Einladung per E-Mail
    REMINDER_MAIL = "reminder_mail"  # Erinnerung per E-Mail


#: what each placeholder stands for, shown beside the text field
PLACEHOLDER_HELP: dict[str, str] = {
    "name": "Name der Eigentümerin oder des Eigentümers",
    "objekt": "Objektnummer",
    "objekte": "die Objekte der Person, je Zeile Anschrift, Objektnummer und persönlicher Link",
    "stichtag": "Stichtag der Ablesung (TT.MM.JJJJ)",
    "frist": "letzter Tag der Online-Erfassung (TT.MM.JJJJ); ohne festes Ende "
    "„Ende der Online-Erfassung“",
    "link": "persönlicher Link zum Portal",
    "zugangscode": "Zugangscode",
    "portal": "Adresse des Portals",
    "organisation": "Name der Organisation",
}

_LETTER = ("name", "objekt", "stichtag", "frist", "link", "zugangscode", "portal", "organisation")
_MAIL_BODY = ("name", "objekte", "stichtag", "frist", "portal", "organisation")
_SUBJECT = ("stichtag", "frist", "organisation")

#: the placeholders each kind's body allows
PLACEHOLDERS: dict[TextKind, tuple[str, ...]] = {
    TextKind.LETTER: _LETTER,
    TextKind.REMINDER_LETTER: _LETTER,
    TextKind.INVITATION_MAIL: _MAIL_BODY,
    TextKind.REMINDER_MAIL: _MAIL_BODY,
}
#: the placeholders a subject (of a letter or a mail) allows
SUBJECT_PLACEHOLDERS: tuple[str, ...] = _SUBJECT

#: what ``{frist}`` says when the campaign's online window has no end date: it reads well
#: after "bis zum" and "bis", as the default texts write it
NO_DEADLINE = "Ende der Online-Erfassung"

MAX_SUBJECT = 150
MAX_BODY = 4000


@dataclass(frozen=True)
class TextSet:
    """A subject and a body: of a letter (subject line above the text) or of a mail."""

    subject: str
    body: str


DEFAULTS: dict[TextKind, TextSet] = {
    TextKind.LETTER: TextSet(
        subject="Ablesung Ihrer Zähler zum {stichtag}",
        body=(
            "Guten Tag {name},\n"
            "zum Stichtag {stichtag} bitten wir Sie, die Stände Ihrer Zähler abzulesen und "
            "uns bis zum {frist} mitzuteilen. Am einfachsten geht das online: Scannen Sie "
            "den QR-Code oder öffnen Sie {portal} und melden Sie sich mit Ihrem Zugangscode "
            "und einer Ihrer Zählernummern an. Ohne Internet füllen Sie bitte die "
            "Antwortkarte unten aus und senden Sie sie uns zurück.\n"
            "Vielen Dank für Ihre Mithilfe."
        ),
    ),
    TextKind.REMINDER_LETTER: TextSet(
        subject="Erinnerung: Ablesung Ihrer Zähler zum {stichtag}",
        body=(
            "Guten Tag {name},\n"
            "bisher haben wir von Ihnen keine Zählerstände zum Stichtag {stichtag} "
            "erhalten. Bitte lesen Sie Ihre Zähler ab und teilen Sie uns die Stände bis "
            "zum {frist} mit: online über den QR-Code oder unter {portal} mit dem "
            "Zugangscode dieses Briefes, oder mit der Antwortkarte unten. Der Zugangscode "
            "aus unserem ersten Brief gilt nicht mehr.\n"
            "Haben Sie Ihre Zählerstände in den letzten Tagen schon gemeldet, ist dieser "
            "Brief erledigt. Vielen Dank."
        ),
    ),
    TextKind.INVITATION_MAIL: TextSet(
        subject="Ablesung Ihrer Zähler zum {stichtag} – {organisation}",
        body=(
            "Guten Tag {name},\n\n"
            "zum Stichtag {stichtag} bitten wir Sie, die Stände Ihrer Zähler abzulesen und "
            "uns bis zum {frist} online mitzuteilen. Mit dem persönlichen Link Ihres "
            "Objekts gelangen Sie ohne weitere Anmeldung direkt zu Ihren Zählern:\n\n"
            "{objekte}\n\n"
            "Bitte geben Sie die Links nicht weiter.\n\n"
            "Vielen Dank für Ihre Mithilfe\n"
            "{organisation}"
        ),
    ),
    TextKind.REMINDER_MAIL: TextSet(
        subject="Erinnerung: Zählerstände bis {frist} – {organisation}",
        body=(
            "Guten Tag {name},\n\n"
            "bisher haben wir von Ihnen keine Zählerstände zum Stichtag {stichtag} "
            "erhalten. Bitte teilen Sie sie uns bis zum {frist} mit:\n\n"
            "{objekte}\n\n"
            "Haben Sie in den letzten Stunden schon gemeldet, ist diese E-Mail erledigt.\n\n"
            "Vielen Dank\n"
            "{organisation}"
        ),
    ),
}


class TextError(ValueError):
    """A text with an unknown or malformed placeholder; the message is German."""


def _names(text: str, what: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TextError(
            f"{what}: eine geschweifte Klammer ist nicht geschlossen oder steht allein. "
            "Platzhalter schreiben Sie als {name}, eine Klammer als Text doppelt: {{ oder }}."
        ) from exc
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise TextError(
                f"{what}: der Platzhalter {{{name}}} darf keine Formatangabe "
                "(„:“ oder „!“) enthalten."
            )
        names.append(name)
    return names


def check(text: str, allowed: tuple[str, ...], what: str = "Text") -> None:
    """Raises :class:`TextError` for an unknown or malformed placeholder in ``text``."""
    unknown = sorted({name for name in _names(text, what) if name not in allowed})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        known = ", ".join("{" + name + "}" for name in allowed)
        noun = "Unbekannter Platzhalter" if len(unknown) == 1 else "Unbekannte Platzhalter"
        raise TextError(f"{what}: {noun} {names}. Erlaubt sind: {known}.")


def check_set(kind: TextKind, texts: TextSet) -> None:
    """Checks a subject and body of ``kind``; raises :class:`TextError`."""
    check(texts.subject, SUBJECT_PLACEHOLDERS, "Betreff")
    check(texts.body, PLACEHOLDERS[kind], "Text")


def objects_list(entries: Iterable[tuple[str, str, str]]) -> str:
    """The ``{objekte}`` block of a mail from (address, object number, link) per property:
    what the invitation and reminder mails send and what their preview shows."""
    return "\n\n".join(
        f"• {address} (Objekt {number})\n  {link}" for address, number, link in entries
    )


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders filled from ``values`` (a missing value is empty).

    The text must have passed :func:`check`; rendering never evaluates anything but
    plain names.
    """
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)
