"""Long lists of ids in batches that every database takes in one statement.

With parameters bound on the server (settings), PostgreSQL takes at most 65,535 in one
statement; SQLite's limit depends on how it was built (32,766 by default). Django
batches its own bulk operations and cascades; an ``__in`` lookup with our own list of
ids goes through :func:`batches`.
"""

from collections.abc import Iterable, Iterator

#: ids per statement: well below every limit, with room for the statement's other values
BATCH_SIZE = 10_000


def batches[T](items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (default :data:`BATCH_SIZE`), in order."""
    size = BATCH_SIZE if size is None else size
    if size < 1:
        raise ValueError("size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
