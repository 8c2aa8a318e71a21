"""``django.tasks`` entry points of the exports: they take ids and re-enter the scope."""

import logging

from django.tasks import task

logger = logging.getLogger(__name__)


@task()
def build_export_run(run_id: int) -> str:
    """Writes an export run's files and queues its mails (idempotent)."""
    from ablesung.exports.services import build_run

    return build_run(run_id)


def resume_export_runs() -> int:
    """Every minute from the worker's schedule: enqueues runs whose task got lost or whose
    worker died (their lease ran out). Returns how many were enqueued."""
    from ablesung.exports.services import pending_runs

    ids = pending_runs()
    for run_id in ids:
        build_export_run.enqueue(run_id)
    if ids:
        logger.info("export sweep: %s runs enqueued again", len(ids))
    return len(ids)
