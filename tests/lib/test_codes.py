import re

from hypothesis import given
from hypothesis import strategies as st

from ablesung.lib.codes import (
    ALPHABET,
    CODE_BITS,
    format_code,
    generate_code,
    generate_token,
    is_token_shaped,
    normalise_code,
    sha256_hex,
)

codes = st.text(alphabet=ALPHABET, min_size=11, max_size=11)


def test_codes_have_at_least_50_bits_and_print_in_groups() -> None:
    assert CODE_BITS >= 50
    code = generate_code()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{11}", code)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{3}", format_code(code))
    assert len({generate_code() for _ in range(200)}) == 200


@given(codes)
def test_printed_code_normalises_back(code: str) -> None:
    assert normalise_code(format_code(code)) == code


@given(codes, st.lists(st.sampled_from([" ", "-", "  "]), max_size=4), st.booleans())
def test_case_spaces_and_hyphens_do_not_matter(code: str, noise: list[str], lower: bool) -> None:
    typed = "".join(noise) + (code.lower() if lower else code) + "".join(noise)
    assert normalise_code(typed) == code


@given(codes)
def test_lookalike_letters_read_as_digits(code: str) -> None:
    typed = code.replace("1", "I").replace("0", "o")
    assert normalise_code(typed) == code
    assert normalise_code(code.replace("1", "l")) == code


@given(codes, st.integers(0, 10), st.sampled_from(["U", "u", "*", "ä", "_", "+"]))
def test_u_and_other_characters_are_rejected(code: str, at: int, bad: str) -> None:
    assert normalise_code(code[:at] + bad + code[at + 1 :]) is None


@given(st.text(max_size=40))
def test_normalised_codes_are_always_canonical(typed: str) -> None:
    result = normalise_code(typed)
    assert result is None or (len(result) == 11 and set(result) <= set(ALPHABET))


def test_wrong_lengths_are_rejected() -> None:
    assert normalise_code("ABCD-EFGH-JK") is None
    assert normalise_code("ABCD-EFGH-JKMN") is None
    assert normalise_code("") is None


def test_tokens_have_128_bits_and_hash_to_sha256_hex() -> None:
    token = generate_token()
    assert is_token_shaped(token)
    assert len(token) == 22  # 16 bytes, URL-safe Base64 without padding
    assert not is_token_shaped(token + "x")
    assert not is_token_shaped("../" + token[3:])
    assert re.fullmatch(r"[0-9a-f]{64}", sha256_hex(token))
    assert sha256_hex(token) != token
