"""Fill or fix English translations: python scripts/po_fill.py 'msgid=>msgstr' ...

Plural entries: 'singular||plural=>one||many'.

Clears the fuzzy flag of each entry it sets. Used after `makemessages -l en`.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "src/ablesung/locale/en/LC_MESSAGES/django.po"


def main(pairs: list[str]) -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    for pair in pairs:
        msgid, _, msgstr = pair.partition("=>")
        key = msgid.split("||")[0]  # plural: 'one||many=>one||many'
        message = catalog.get(key)
        if message is None:
            raise SystemExit(f"unknown msgid: {msgid!r}")
        message.string = tuple(msgstr.split("||")) if "||" in msgstr else msgstr
        message.flags.discard("fuzzy")
    missing = [m.id for m in catalog if m.id and (not m.string or "fuzzy" in m.flags)]
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, include_previous=False)
    if missing:
        print("still untranslated:", *missing, sep="\n  ")


if __name__ == "__main__":
    main(sys.argv[1:])
