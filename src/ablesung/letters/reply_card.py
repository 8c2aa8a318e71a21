"""The reply card's machine-readable code: one line a handheld scanner types into the
capture screen's search field.

Pure (no Django). Format, version 1::

    AK1.<object number>.<meter number>.<meter number>…

``AK1`` (Antwortkarte, version 1), then the object number and the card's meter numbers in
card order, separated by ``.``. Every character of a number other than ``0–9`` and
``A–X`` is percent-encoded as the upper-case hex of its UTF-8 bytes (``-`` → ``%2D``,
``ä`` → ``%C3%A4``, ``y`` → ``%79``, ``.`` → ``%2E``, ``%`` → ``%25``), so any number
survives and the separator is never ambiguous.

Why this character set: a scanner in keyboard-wedge mode "types" the text as key presses
for the keyboard layout it is configured for. When that differs from the PC's layout (a
scanner set to US on a German QWERTZ keyboard is the common case), only keys in the same
place on both layouts come through unchanged: the digits, the letters except Y and Z
(swapped), ``.``, space, and the shifted digits ``%`` and ``$``; ``-``, ``/``, ``:``,
``+``, ``*``, brackets and lower-case umlauts do not. The code therefore uses only
``0–9``, ``A–X``, ``.`` and ``%`` (hex digits are ``0–9 A–F``), and no line breaks (Enter
would send the search after the first line). Caps Lock inverts the case of what a
scanner types; as a literal lower-case letter never occurs in a code, :func:`parse`
reads the literal letters in upper case, so such a code is still read correctly. All of
these characters belong to the QR code's alphanumeric mode (5.5 bits a character), which
keeps the symbol small: a card with four meters fits in a version 3–5 QR code, modules of
0.7 mm and more on the card's 30 mm code.

Not a card: anything without the ``AK1.`` prefix, with a character outside the set, a
broken escape, bytes that are not UTF-8, or an empty number. A plain object or meter
number typed or scanned is therefore never taken for a card. (A card without meters, which
letters never print, would be ``AK1.<object number>``.)
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "AK"
VERSION = "1"
SEPARATOR = "."
#: the characters a number keeps as they are (safe on US and German keyboard layouts)
PLAIN = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWX")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_ALLOWED = re.compile(r"[0-9A-Xa-x%]*")


@dataclass(frozen=True)
class ReplyCard:
    """What a reply card's code says: the object and the meters printed on the card."""

    object_number: str
    meter_numbers: tuple[str, ...]


def _encode(number: str) -> str:
    return "".join(
        char if char in PLAIN else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in number
    )


def encode(object_number: str, meter_numbers: Sequence[str]) -> str:
    """The code of a card for ``object_number`` with ``meter_numbers`` (duplicates once,
    in their first place)."""
    numbers = list(dict.fromkeys(meter_numbers))
    return SEPARATOR.join([PREFIX + VERSION, *(_encode(n) for n in [object_number, *numbers])])


def _decode(part: str) -> str | None:
    if not part or _ALLOWED.fullmatch(part) is None:
        return None
    raw = bytearray()
    index = 0
    while index < len(part):
        if part[index] == "%":
            escape = _ESCAPE.match(part, index)
            if escape is None:
                return None
            raw.append(int(escape.group(1), 16))
            index += 3
        else:
            raw.extend(part[index].upper().encode("ascii"))
            index += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse(text: str) -> ReplyCard | None:
    """The card a scanned text is the code of; ``None`` when it is no card's code."""
    parts = text.strip().split(SEPARATOR)
    if len(parts) < 2 or parts[0].upper() != PREFIX + VERSION:
        return None
    decoded = [_decode(part) for part in parts[1:]]
    numbers = [number for number in decoded if number is not None]
    if len(numbers) != len(decoded):
        return None
    return ReplyCard(numbers[0], tuple(dict.fromkeys(numbers[1:])))
