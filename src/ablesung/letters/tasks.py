"""``django.tasks`` entry point of the letters: it takes a batch id, never a secret."""

from django.tasks import task


@task()
def build_letter_batch(batch_id: int) -> str:
    """Issues new access for a queued letter batch and writes its PDF (idempotent)."""
    from ablesung.letters.services import build_batch

    return build_batch(batch_id)
