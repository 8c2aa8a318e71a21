"""Search keys: text folded so that a clerk finds it however it is typed (pure, no Django).

``fold("Gartenstraße 12")`` is ``"gartenstrasse 12"``: case folded, the German umlauts
written out (ä → ae, ö → oe, ü → ue, ß → ss), every other accent stripped (é → e),
runs of white space made one blank, blanks at both ends removed. A stored key and a typed
search term folded the same way compare as plain strings, so "Strasse" finds "Straße"
and "Mueller" finds "Müller" (and the other way round).

Keys are compared byte by byte (binary collation): a prefix ``p`` matches exactly the
keys ``k`` with ``p <= k < p + PREFIX_END``. No key contains ``PREFIX_END`` itself.
"""

import unicodedata
from functools import lru_cache

#: the largest code point: the upper end of a prefix range (never part of a key)
PREFIX_END = "\U0010ffff"
#: the longest key stored; longer keys are cut (a prefix search never needs more)
MAX_KEY = 255

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", PREFIX_END: None})


def fold(text: str) -> str:
    """The search form of ``text`` (see the module's docstring)."""
    if text.isascii():
        return " ".join(text.lower().split())
    return _fold_unicode(text)


@lru_cache(maxsize=4096)  # names and streets repeat; numbers take the ASCII path
def _fold_unicode(text: str) -> str:
    # composed first, so that a decomposed "a" + "¨" is an "ä" and becomes "ae"
    folded = unicodedata.normalize("NFC", text).casefold().translate(_UMLAUTS)
    # then compatibility forms apart (ﬁ → fi, ℌ → H) and accents off, and case once more
    stripped = "".join(
        char for char in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(char)
    )
    return " ".join(stripped.casefold().split())


def search_key(*parts: str) -> str:
    """The stored key of one or more fields (e.g. last and first name), folded and cut to
    :data:`MAX_KEY` characters."""
    return fold(" ".join(part for part in parts if part))[:MAX_KEY]
