"""``django.tasks`` entry points: they take ids, not objects, and re-enter the scope."""

import logging

from django.tasks import task

from ablesung.core.services.trash import purge_all_organisations

logger = logging.getLogger(__name__)


@task()
def purge_trash() -> dict[str, dict[str, int]]:
    """Daily: deletes what has been in the trash for more than 365 days."""
    results = purge_all_organisations()
    summary = {slug: result.counts for slug, result in results.items() if result.total}
    logger.info("trash purge: %s", summary or "nothing to purge")
    return summary


@task()
def purge_rate_limit_counters() -> int:
    """Daily: deletes rate-limit counters whose window has ended (the table never culls)."""
    from ablesung.core.ratelimit import purge_expired

    deleted = purge_expired()
    logger.info("rate-limit purge: %s expired counters deleted", deleted)
    return deleted


@task()
def run_meter_import(batch_id: int) -> str:
    """Runs one queued meter-list import (all or nothing)."""
    from ablesung.core.services.meter_import import run_import

    return run_import(batch_id).status
