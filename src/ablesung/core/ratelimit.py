"""Counters for guessable entry points (citizen access) and for mail a visitor can trigger.

Fixed windows: a counter's key holds the limit's name, a keyed digest of its subject (an
IP network, a meter number, a grant) and the window's number; it counts until the window
ends. The counters live in a store that never evicts a counter before its window ends:

* with ``REDIS_URL``: Redis. ``SET key 0 EX <rest of the window> NX`` and ``INCR key`` run
  in one ``MULTI``; ``MGET`` reads. The instance must not evict keys
  (``maxmemory-policy noeviction``, see README).
* else the table of :class:`~ablesung.core.models.RateLimitCounter`: one ``INSERT … ON
  CONFLICT DO NOTHING`` (``bulk_create(ignore_conflicts=True)``) creates missing counters,
  one ``UPDATE … SET count = count + 1`` counts; both are atomic on SQLite and PostgreSQL.
  The worker's daily schedule deletes expired rows (:func:`purge_expired`). Django's
  database cache is no option: it deletes a third of its keys once it holds 300.

Access failures: only failures count. Before checking a credential, :func:`retry_after`
tells whether any counter is exhausted; the caller then answers 429 with ``Retry-After``
(also for the right credential: a locked target stays locked). The per-IP limits count an
IPv6 client by its /64 (:func:`ablesung.lib.net.limit_subject`).

Visitor-triggered mail: :func:`take` counts one use against each limit and says whether
one is exceeded. Inside the caller's transaction the table's counts roll back with a
refused request; Redis keeps them (a refused request then counts as a use).

Keys hold HMAC digests (keyed with ``SECRET_KEY``; a new key starts every counter
afresh), never a typed value.
"""

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import redis
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ablesung.core.models import RateLimitCounter
from ablesung.lib.net import limit_subject

KEY_SALT = "ablesung.core.ratelimit"
REDIS_TIMEOUT = 5  # seconds; a store that does not answer fails the request, never opens it


@dataclass(frozen=True)
class Limit:
    name: str
    allowed: int  # uses (failures, mails) within one window
    window: int  # seconds


#: per client IP (IPv6 per /64): 10 failures a minute and 50 an hour
IP_LIMITS = (Limit("ip-minute", 10, 60), Limit("ip-hour", 50, 3600))
#: per target (the meter number typed, a customer number): 5 failures in 15 minutes
TARGET_LIMITS = (Limit("target", 5, 15 * 60),)
DAY = 24 * 3600


@dataclass(frozen=True)
class Counter:
    limit: Limit
    key: str
    ends: float  # the window's end, POSIX seconds

    @property
    def expires_at(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.ends, tz=datetime.UTC)

    def wait(self, now: float) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, math.ceil(self.ends - now))


def counter(limit: Limit, subject: str, now: float) -> Counter:
    bucket = int(now // limit.window)
    digest = salted_hmac(KEY_SALT, subject, algorithm="sha256").hexdigest()[:32]
    return Counter(limit, f"ratelimit:{limit.name}:{digest}:{bucket}", (bucket + 1) * limit.window)


class CounterStore(Protocol):
    def counts(self, keys: Sequence[str]) -> dict[str, int]:
        """The current count of each key that exists."""
        ...

    def increment(self, counters: Sequence[Counter]) -> dict[str, int]:
        """Adds one to each counter (created with its window's end) and returns the counts."""
        ...


class DatabaseStore:
    """The ``RateLimitCounter`` table: rows are created and counted atomically, never culled."""

    def counts(self, keys: Sequence[str]) -> dict[str, int]:
        return dict(RateLimitCounter.objects.filter(key__in=keys).values_list("key", "count"))

    def increment(self, counters: Sequence[Counter]) -> dict[str, int]:
        RateLimitCounter.objects.bulk_create(
            [RateLimitCounter(key=c.key, count=0, expires_at=c.expires_at) for c in counters],
            ignore_conflicts=True,
        )
        keys = [c.key for c in counters]
        RateLimitCounter.objects.filter(key__in=keys).update(count=F("count") + 1)
        return self.counts(keys)


class RedisStore:
    """Redis: a counter is created with its expiry and incremented in one transaction."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def counts(self, keys: Sequence[str]) -> dict[str, int]:
        values = self.client.mget(keys)
        return {key: int(value) for key, value in zip(keys, values, strict=True) if value}

    def increment(self, counters: Sequence[Counter]) -> dict[str, int]:
        now = timezone.now().timestamp()
        with self.client.pipeline(transaction=True) as pipe:
            for c in counters:
                # one second past the window: never gone before its end
                pipe.set(c.key, 0, ex=c.wait(now) + 1, nx=True)
                pipe.incr(c.key)
            results = pipe.execute()
        return {c.key: int(count) for c, count in zip(counters, results[1::2], strict=True)}


@cache
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )


def store() -> CounterStore:
    """Redis when ``REDIS_URL`` is set, else the database table."""
    if settings.REDIS_URL:
        return RedisStore(_redis_client(settings.REDIS_URL))
    return DatabaseStore()


def _access_counters(ip: str | None, target: str | None, now: float) -> list[Counter]:
    subject = limit_subject(ip)
    counters = [counter(limit, f"ip:{subject}", now) for limit in IP_LIMITS]
    if target:
        counters += [counter(limit, f"target:{target.casefold()}", now) for limit in TARGET_LIMITS]
    return counters


def retry_after(*, ip: str | None, target: str | None = None) -> int | None:
    """Seconds until the next try is allowed, or ``None`` if no limit is reached."""
    now = timezone.now().timestamp()
    counters = _access_counters(ip, target, now)
    counts = store().counts([c.key for c in counters])  # one round trip for all
    waits = [c.wait(now) for c in counters if counts.get(c.key, 0) >= c.limit.allowed]
    return max(waits) if waits else None


def record_failure(*, ip: str | None, target: str | None = None) -> None:
    store().increment(_access_counters(ip, target, timezone.now().timestamp()))


def take(uses: Sequence[tuple[Limit, str]]) -> int | None:
    """Counts one use of each ``(limit, subject)``; seconds to wait if one is now exceeded.

    ``None`` means every limit still allows this use.
    """
    now = timezone.now().timestamp()
    counters = [counter(limit, subject, now) for limit, subject in uses]
    counts = store().increment(counters)
    waits = [c.wait(now) for c in counters if counts.get(c.key, 0) > c.limit.allowed]
    return max(waits) if waits else None


def purge_expired(now: datetime.datetime | None = None) -> int:
    """Deletes the table's counters whose window has ended (Redis expires its own keys)."""
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
