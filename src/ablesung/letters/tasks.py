"""``django.tasks`` entry points of the letters: they take a batch id, never a secret."""

import logging

from django.tasks import task

logger = logging.getLogger(__name__)


@task()
def build_letter_batch(batch_id: int) -> str:
    """Makes a letter batch chunk by chunk, continuing after its last committed chunk."""
    from ablesung.letters.services import build_batch

    return build_batch(batch_id)


def resume_letter_batches() -> int:
    """Every minute from the worker's schedule: enqueues batches whose task got lost or whose
    worker died (their lease ran out). Returns how many were enqueued."""
    from ablesung.letters.services import pending_batches

    ids = pending_batches()
    for batch_id in ids:
        build_letter_batch.enqueue(batch_id)
    if ids:
        logger.info("letter sweep: %s batches enqueued again", len(ids))
    return len(ids)
