"""Access codes and link tokens for the citizen portal (pure functions, no Django).

Access codes are 11 symbols of Crockford Base32 (5 bits each, 55 bits), drawn
with ``secrets`` and printed in groups as ``ABCD-EFGH-JKM``. Typing is forgiving:
case does not matter, spaces and hyphens are ignored, and the letters that
Crockford leaves out because they look like digits are read as those digits
(I and L as 1, O as 0). U and every other character make the code invalid.

Link tokens are 128 bits (``secrets.token_urlsafe(16)``, 22 characters); only
their SHA-256 is stored.
"""

import hashlib
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 11
CODE_BITS = CODE_LENGTH * 5
GROUPS = (4, 4, 3)
TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")

_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_IGNORED = str.maketrans("", "", " -\t\u00a0")
_VALID = frozenset(ALPHABET)


def generate_code() -> str:
    """A new access code, normalised (11 symbols, no grouping)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Groups a normalised code for print: ``ABCD-EFGH-JKM``."""
    parts = []
    start = 0
    for size in GROUPS:
        parts.append(code[start : start + size])
        start += size
    return "-".join(parts)


def normalise_code(typed: str) -> str | None:
    """The canonical form of a typed code, or ``None`` if it cannot be a code."""
    if len(typed) > 64:
        return None
    code = typed.translate(_IGNORED).upper().translate(_LOOKALIKES)
    if len(code) != CODE_LENGTH or not set(code) <= _VALID:
        return None
    return code


def generate_token() -> str:
    """A new link token: 128 bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token_shaped(value: str) -> bool:
    return TOKEN_PATTERN.fullmatch(value) is not None


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
