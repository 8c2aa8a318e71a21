"""Failure counters for guessable entry points (citizen access).

Fixed windows in the default cache: ``cache.add`` creates a counter with the
window as its timeout and ``cache.incr`` increments it. Both are atomic on
Redis; on the database cache and LocMemCache (tests) ``incr`` is a read and a
write, so under heavy concurrency a few extra tries may slip through — the
limits stay in the right order of magnitude.

Only failures count. Before checking a credential, :func:`retry_after` tells
whether any counter is exhausted; the caller then answers 429 with
``Retry-After`` (also for the right credential: a locked target stays locked).
Subjects (IP addresses, meter numbers) are hashed into the cache key, so the
cache holds no typed values.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    name: str
    max_failures: int
    window: int  # seconds


#: per client IP: 10 failures a minute and 50 an hour
IP_LIMITS = (Limit("ip-minute", 10, 60), Limit("ip-hour", 50, 3600))
#: per target (the meter number typed): 5 failures in 15 minutes
TARGET_LIMITS = (Limit("target", 5, 15 * 60),)


def _key(limit: Limit, subject: str, now: float) -> tuple[str, int]:
    bucket = int(now // limit.window)
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    remaining = math.ceil((bucket + 1) * limit.window - now)
    return f"ratelimit:{limit.name}:{digest}:{bucket}", max(1, remaining)


def _counters(ip: str | None, target: str | None) -> list[tuple[Limit, str]]:
    counters = [(limit, ip or "unknown") for limit in IP_LIMITS]
    if target:
        counters += [(limit, target.casefold()) for limit in TARGET_LIMITS]
    return counters


def retry_after(*, ip: str | None, target: str | None = None) -> int | None:
    """Seconds until the next try is allowed, or ``None`` if no limit is reached."""
    now = time.time()
    keyed = [(limit, *_key(limit, subject, now)) for limit, subject in _counters(ip, target)]
    counts = cache.get_many([key for _, key, _ in keyed])  # one round trip for all counters
    waits = [
        remaining for limit, key, remaining in keyed if counts.get(key, 0) >= limit.max_failures
    ]
    return max(waits) if waits else None


def record_failure(*, ip: str | None, target: str | None = None) -> None:
    now = time.time()
    for limit, subject in _counters(ip, target):
        key, remaining = _key(limit, subject, now)
        cache.add(key, 0, timeout=remaining + 1)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=remaining + 1)
