"""Pacing bulk mails: each queued mail gets its own sending time, N per minute.

The SMTP server is the platform's, so the pace is one setting for the whole platform
(``settings.BULK_MAILS_PER_MINUTE``) and one locked row (:class:`MailPace`) holds the next
free slot. Spreading the *due times* when the mails are queued (instead of counting in a
sending process) keeps the pace with any number of workers: the outbox sweep only sends
mails that are due.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ablesung.invitations.models import MailPace


def interval(per_minute: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=1) / max(per_minute, 1)


def spread(start: datetime.datetime, count: int, per_minute: int) -> list[datetime.datetime]:
    """``count`` sending times from ``start`` on, ``per_minute`` in each minute (pure)."""
    step = interval(per_minute)
    return [start + index * step for index in range(count)]


def reserve(count: int, now: datetime.datetime | None = None) -> list[datetime.datetime]:
    """Reserves ``count`` consecutive slots after the ones already given out.

    Runs inside the caller's transaction: the pace row stays locked until it commits, so
    two runs queueing at once (in two workers, for two organisations) get separate slots.
    """
    assert transaction.get_connection().in_atomic_block, "reserve() needs a transaction"
    now = now or timezone.now()
    per_minute = settings.BULK_MAILS_PER_MINUTE
    MailPace.objects.get_or_create(pk=1)
    pace = MailPace.objects.select_for_update().get(pk=1)
    start = max(now, pace.next_slot or now)
    slots = spread(start, count, per_minute)
    pace.next_slot = start + count * interval(per_minute)
    pace.save(update_fields=["next_slot"])
    return slots
