"""CSV cells that no spreadsheet runs as a formula."""

import csv
import io
from collections.abc import Iterable, Iterator

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value: str) -> str:
    """Prefixes an apostrophe to text that a spreadsheet would treat as a formula."""
    value = value.replace("\0", "")
    if value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Iterable[object]], *, delimiter: str = ";") -> Iterator[str]:
    """Streams rows as CSV text (CRLF), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(neutralise(str(cell)) for cell in row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
