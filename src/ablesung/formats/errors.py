"""The one exception the formats package raises for bad input."""

from __future__ import annotations


class FormatError(Exception):
    """A file or profile cannot be read; ``message`` is German and shown to the clerk."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def de_int(n: int) -> str:
    """Format an integer with German thousands separators: 500000 → "500.000"."""
    return f"{n:,}".replace(",", ".")


def shorten(value: str, limit: int = 60) -> str:
    """Shorten ``value`` for messages: at most ``limit`` characters, ending with "…"."""
    if len(value) <= limit:
        return value
    return value[: limit - 1] + "…"
