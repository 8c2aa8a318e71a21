"""The reply card's code on its own: one line of keyboard-safe characters, every number
back as it was, nothing else taken for a card, a small QR code."""

import segno
from hypothesis import given
from hypothesis import strategies as st

from ablesung.core.services.capture import MAX_TEXT
from ablesung.letters import reply_card
from ablesung.letters.reply_card import ReplyCard, encode, parse

#: what a scanner set to a US layout types unchanged on a German keyboard (and vice versa)
SAFE = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWX.%")

AWKWARD = [
    ("8-000049-001", ["51000049", "51000050"]),
    ("Obj 12/3 a", ["Zähler 1/2", "WZ.2024.0001", "100%"]),
    ("Straße 5 ÄÖÜ ß", ["y-z~[{]}", "Şahin ł ř", "\\|@€µ"]),
    ("9" * 50, ["M" * 50, "m" * 50, "%2D", "AK1.X.Y"]),
    ("AK1", ["."]),
]


def test_awkward_numbers_survive_the_round_trip() -> None:
    for object_number, meters in AWKWARD:
        code = encode(object_number, meters)
        assert set(code) <= SAFE, code
        assert "\n" not in code
        assert parse(code) == ReplyCard(object_number, tuple(meters))


def test_the_format_is_readable_and_versioned() -> None:
    assert encode("8-000049-001", ["51000049", "51000050"]) == (
        "AK1.8%2D000049%2D001.51000049.51000050"
    )
    assert encode("o", ["Y", "z", "Y"]) == "AK1.%6F.%59.%7A"
    assert parse("AK1.OBJ") == ReplyCard("OBJ", ())


def test_caps_lock_and_surrounding_whitespace_do_not_matter() -> None:
    code = encode("Obj-7", ["M-1", "m-2"])
    assert parse(f"  {code.lower()}\t") == ReplyCard("Obj-7", ("M-1", "m-2"))
    assert parse(code.swapcase()) == ReplyCard("Obj-7", ("M-1", "m-2"))


def test_texts_that_are_no_card() -> None:
    for text in [
        "",
        "51000049",
        "8-000049-001",
        "stadt-a-1",
        "AK1",
        "AK2.OBJ.M1",  # a later version is not read as this one
        "AK.OBJ.M1",
        "AK1..M1",  # an empty number
        "AK1.OBJ.",
        "AK1.OBJ-1.M1",  # "-" is never in a code
        "AK1.OBJ.M%2",  # a broken escape
        "AK1.OBJ.M%ZZ",
        "AK1.OBJ.%C3",  # not UTF-8
        "AK1.OBJ.YZ",  # Y and Z are always escaped
        "AK1 OBJ M1",
        "ABLESUNG-ANTWORT\nOBJ\nM1",
        "https://ablesung.example/r/token",
    ]:
        assert parse(text) is None, text


@given(
    st.text(min_size=1, max_size=50),
    st.lists(st.text(min_size=1, max_size=50), max_size=4, unique=True),
)
def test_any_numbers_survive_the_round_trip(object_number: str, meters: list[str]) -> None:
    code = encode(object_number, meters)
    assert set(code) <= SAFE
    assert parse(code) == ReplyCard(object_number, tuple(meters))


def test_a_card_with_four_meters_makes_a_small_qr_code() -> None:
    """The card's QR code is 30 mm wide with its quiet zone: the modules stay printable."""
    typical = encode("8-000049-001", [f"5100004{i}" for i in range(4)])
    worst = encode("o" * 50, [f"{i}" + "m" * 49 for i in range(4)])
    sizes: dict[str, tuple[int, float]] = {}
    for name, code in (("typical", typical), ("worst", worst)):
        qr = segno.make_qr(code, error="m")
        assert qr.mode == "alphanumeric"
        assert isinstance(qr.version, int)
        sizes[name] = (qr.version, 30 / qr.symbol_size(border=4)[0])
    assert sizes["typical"][0] <= 3
    assert sizes["typical"][1] >= 0.8  # mm per module
    assert sizes["worst"][1] >= 0.3
    # the capture screen's search field takes any card: four meters, 50 four-byte characters
    longest = encode("𝔸" * 50, [f"{i}" + "𝔸" * 49 for i in range(4)])
    assert len(longest) <= MAX_TEXT
    assert reply_card.PREFIX + reply_card.VERSION == "AK1"
