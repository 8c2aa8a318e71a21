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

Failed logins (staff login, second-factor step, operator admin): :func:`login_retry_after`
and :func:`record_login_failure`. Failures are counted per client address (IPv6 per /64)
and per account typed, in windows of 5 minutes; a subject whose failures in the current
and the previous window reach its limit is locked for 5 minutes from that failure (a lock
is a key of its own with that end), so any 10 (5) failures within 5 minutes block, even
across a window's end. The lock holds for unknown accounts exactly as for known ones.

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
#: failed logins: 10 per client address (IPv6 per /64) and 5 per account in 5 minutes
LOGIN_IP_LIMIT = Limit("login-ip", 10, 5 * 60)
LOGIN_ACCOUNT_LIMIT = Limit("login-account", 5, 5 * 60)
#: how long a reached login limit blocks further tries
LOGIN_BLOCK_SECONDS = 5 * 60


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

    def lock(self, key: str, seconds: int, now: float) -> None:
        """Creates a lock that ends ``seconds`` from ``now``, unless one holds already."""
        ...

    def lock_ends(self, keys: Sequence[str], now: float) -> dict[str, float]:
        """The end (POSIX seconds) of each lock of ``keys`` that still holds."""
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

    def lock(self, key: str, seconds: int, now: float) -> None:
        then = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
        RateLimitCounter.objects.filter(key=key, expires_at__lte=then).delete()
        RateLimitCounter.objects.bulk_create(
            [RateLimitCounter(key=key, count=1, expires_at=then + datetime.timedelta(0, seconds))],
            ignore_conflicts=True,
        )

    def lock_ends(self, keys: Sequence[str], now: float) -> dict[str, float]:
        then = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
        rows = RateLimitCounter.objects.filter(key__in=keys, expires_at__gt=then)
        return {key: ends.timestamp() for key, ends in rows.values_list("key", "expires_at")}


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

    def lock(self, key: str, seconds: int, now: float) -> None:
        self.client.set(key, 1, ex=seconds, nx=True)

    def lock_ends(self, keys: Sequence[str], now: float) -> dict[str, float]:
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pttl(key)
            results = pipe.execute()
        return {
            key: now + int(ttl) / 1000
            for key, ttl in zip(keys, results, strict=True)
            if int(ttl) > 0
        }


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


def _login_subjects(ip: str | None, account: str) -> list[tuple[Limit, str]]:
    subjects = [(LOGIN_IP_LIMIT, f"ip:{limit_subject(ip)}")]
    if account.strip():
        subjects.append((LOGIN_ACCOUNT_LIMIT, f"account:{account.strip().casefold()}"))
    return subjects


def _lock_key(limit: Limit, subject: str) -> str:
    digest = salted_hmac(KEY_SALT, subject, algorithm="sha256").hexdigest()[:32]
    return f"ratelimit:{limit.name}-lock:{digest}"


def login_retry_after(*, ip: str | None, account: str = "") -> int | None:
    """Seconds until the next login try is allowed from ``ip`` on ``account``, or ``None``.

    The same for an account that does not exist: the answer reveals nothing."""
    now = timezone.now().timestamp()
    keys = [_lock_key(limit, subject) for limit, subject in _login_subjects(ip, account)]
    ends = store().lock_ends(keys, now)
    return max(1, math.ceil(max(ends.values()) - now)) if ends else None


def record_login_failure(*, ip: str | None, account: str = "") -> None:
    """Counts one failed login; a subject that reaches its limit is locked for 5 minutes."""
    now = timezone.now().timestamp()
    subjects = _login_subjects(ip, account)
    current = [counter(limit, subject, now) for limit, subject in subjects]
    previous = [counter(limit, subject, now - limit.window) for limit, subject in subjects]
    backend = store()
    counts = backend.increment(current)
    earlier = backend.counts([c.key for c in previous])
    for (limit, subject), now_counter, before in zip(subjects, current, previous, strict=True):
        if counts.get(now_counter.key, 0) + earlier.get(before.key, 0) >= limit.allowed:
            backend.lock(_lock_key(limit, subject), LOGIN_BLOCK_SECONDS, now)


def purge_expired(now: datetime.datetime | None = None) -> int:
    """Deletes the table's counters whose window has ended (Redis expires its own keys)."""
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
