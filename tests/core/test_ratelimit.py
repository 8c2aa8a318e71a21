"""Rate-limit counters in a store that never evicts them before their window ends.

The table store runs on SQLite and PostgreSQL (whichever the suite runs on); the Redis
store runs when a Redis server answers at 127.0.0.1:6379 (else its tests skip, saying so).
"""

import datetime
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ablesung.core import ratelimit
from ablesung.core.models import RateLimitCounter
from ablesung.core.services.access import IssuedAccess
from tests.conftest import OrgData
from tests.portal.test_access import issue, open_campaign, typed

REDIS_URL = "redis://127.0.0.1:6379/0"
#: 02:35 local time on 24.11.2026: the daily counter purge (due from 02:00) runs
PURGE_DUE = datetime.datetime(2026, 11, 24, 1, 35, tzinfo=datetime.UTC)
WRONG_CODE = "ABCD-EFGH-JKM"


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """Mid-window (12:00:30 UTC): a test must not straddle a fixed window's end."""
    with time_machine.travel(
        datetime.datetime(2026, 12, 30, 12, 0, 30, tzinfo=datetime.UTC), tick=False
    ):
        yield


@pytest.fixture
def access_a(org_a: OrgData) -> IssuedAccess:
    open_campaign(org_a)
    return issue(org_a)


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except (OSError, redis.RedisError):
        return False


@pytest.fixture
def redis_store(settings: Any) -> Iterator[redis.Redis]:
    """Counters in the local Redis; the keys this test made are deleted afterwards."""
    if not redis_answers():
        pytest.skip("no Redis server answers at 127.0.0.1:6379")
    settings.REDIS_URL = REDIS_URL
    client = redis.Redis.from_url(REDIS_URL)
    before = set(client.keys("ratelimit:*"))
    yield client
    made = set(client.keys("ratelimit:*")) - before
    if made:
        client.delete(*made)


def lock_meter_and_ip(org_a: OrgData) -> None:
    """5 wrong codes on the meter (from 5 addresses) and 10 bad links from one IPv6 /64."""
    for n in range(5):
        response = typed(Client(REMOTE_ADDR=f"192.0.2.{n + 1}"), WRONG_CODE, org_a.meter.number)
        assert response.status_code == 200
    for n in range(10):
        assert Client(REMOTE_ADDR=f"2001:db8:5:6::{n + 1}").get("/r/" + "B" * 22).status_code == 404


def assert_locks_hold(org_a: OrgData, access: IssuedAccess) -> None:
    # the meter stays locked, even for the right code from a fresh address
    response = typed(Client(REMOTE_ADDR="192.0.2.99"), access.code, org_a.meter.number)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    # the /64 stays locked, for another host of it and the right link
    response = Client(REMOTE_ADDR="2001:db8:5:6:ffff::1").get(f"/r/{access.token}")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    # while another network and the right code elsewhere still get in
    assert Client(REMOTE_ADDR="2001:db8:5:7::1").get(f"/r/{access.token}").status_code == 302


# --- the table store --------------------------------------------------------------------------


@pytest.mark.django_db
def test_locks_hold_after_more_than_ten_thousand_counters(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess
) -> None:
    """Django's database cache culled a third of its keys at 300: 31 tries passed in 3 s."""
    lock_meter_and_ip(org_a)
    # the counters of 3,400 wrong tries with new meter numbers from as many networks,
    # written through the store in batches (one try at a time takes seconds)
    now = timezone.now().timestamp()
    flood = [
        ratelimit.counter(limit, subject, now)
        for n in range(3400)
        for limits, subject in (
            (ratelimit.IP_LIMITS, f"ip:2001:db8:{n:x}::/64"),
            (ratelimit.TARGET_LIMITS, f"target:flut-{n}"),
        )
        for limit in limits
    ]
    store = ratelimit.store()
    for start in range(0, len(flood), 500):
        store.increment(flood[start : start + 500])
    assert RateLimitCounter.objects.count() > 10_000
    assert_locks_hold(org_a, access_a)


@pytest.mark.django_db
def test_counters_hold_digests_never_a_typed_value(frozen_clock: None, org_a: OrgData) -> None:
    typed(Client(REMOTE_ADDR="198.51.100.23"), WRONG_CODE, "ZN-4711-0815")
    keys = list(RateLimitCounter.objects.values_list("key", flat=True))
    assert len(keys) == 3  # IP per minute and per hour, the meter number
    for key in keys:
        assert "4711" not in key
        assert "198.51.100.23" not in key
        assert key.startswith("ratelimit:")


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_lose_no_count() -> None:
    """Threads with their own connections count against the same counters at once."""
    threads, each = 8, 20
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def fail_repeatedly() -> None:
        try:
            barrier.wait()
            for _ in range(each):
                ratelimit.record_failure(ip="203.0.113.50", target="zaehler-parallel")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    with time_machine.travel(datetime.datetime(2026, 12, 30, 12, 0, 5, tzinfo=datetime.UTC)):
        workers = [threading.Thread(target=fail_repeatedly) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert errors == []
    counts = sorted(RateLimitCounter.objects.values_list("count", flat=True))
    assert counts == [threads * each] * 3, connection.vendor


@pytest.mark.django_db(transaction=True)
def test_the_daily_schedule_purges_expired_counters(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    yesterday = PURGE_DUE - datetime.timedelta(days=1)
    with time_machine.travel(yesterday, tick=False):
        ratelimit.record_failure(ip="198.51.100.1", target="alt")
        ratelimit.take([(ratelimit.Limit("mail-address", 3, ratelimit.DAY), "address:alt")])
    with time_machine.travel(PURGE_DUE - datetime.timedelta(minutes=2), tick=False):
        ratelimit.record_failure(ip="198.51.100.2", target="neu")
    assert RateLimitCounter.objects.count() == 7
    with time_machine.travel(PURGE_DUE, tick=False):
        call_command("worker", "--once")
        remaining = list(RateLimitCounter.objects.values_list("expires_at", flat=True))
        assert all(expires > timezone.now() for expires in remaining)
    # yesterday's four are gone; of the three from 02:33 the minute has ended (02:34), the
    # hour (until 03:00) and the target's 15 minutes (until 02:45) still count
    assert len(remaining) == 2
    assert (
        DBTaskResult.objects.get(task_path="ablesung.core.tasks.purge_rate_limit_counters").status
        == "SUCCESSFUL"
    )


@pytest.mark.django_db
def test_take_counts_uses_and_says_when_a_limit_is_exceeded(frozen_clock: None) -> None:
    limit = ratelimit.Limit("mail-grant", 2, ratelimit.DAY)
    assert ratelimit.take([(limit, "grant:1")]) is None
    assert ratelimit.take([(limit, "grant:1")]) is None
    wait = ratelimit.take([(limit, "grant:1")])
    assert wait is not None
    assert wait == 12 * 3600 - 30  # until the day's window ends (00:00 UTC)
    assert ratelimit.take([(limit, "grant:2")]) is None


# --- the Redis store ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_redis_store_keeps_the_locks_with_their_window(
    frozen_clock: None, org_a: OrgData, access_a: IssuedAccess, redis_store: redis.Redis
) -> None:
    lock_meter_and_ip(org_a)
    assert_locks_hold(org_a, access_a)
    assert not RateLimitCounter.objects.exists()  # all of it went to Redis
    store = ratelimit.store()
    assert isinstance(store, ratelimit.RedisStore)
    # every counter expires one second after its window ends, not before
    now = timezone.now().timestamp()
    meter = ratelimit.counter(
        ratelimit.TARGET_LIMITS[0], f"target:{org_a.meter.number.casefold()}", now
    )
    assert store.counts([meter.key]) == {meter.key: 5}
    assert meter.wait(now) - 60 < redis_store.ttl(meter.key) <= meter.wait(now) + 1
    assert org_a.meter.number not in meter.key


def test_redis_store_loses_no_count_under_threads(redis_store: redis.Redis) -> None:
    subject = f"ip:{uuid.uuid4()}"
    threads, each = 8, 25
    barrier = threading.Barrier(threads)
    limit = ratelimit.Limit("parallel", 1000, 3600)

    def count() -> None:
        barrier.wait()
        for _ in range(each):
            ratelimit.take([(limit, subject)])

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    key = ratelimit.counter(limit, subject, timezone.now().timestamp()).key
    assert ratelimit.store().counts([key]) == {key: threads * each}


# --- failed logins: a lock of 5 minutes once a limit is reached ---------------------------------


@pytest.mark.django_db
def test_a_login_lock_lasts_five_minutes_and_can_be_set_again_over_an_expired_row() -> None:
    with time_machine.travel("2026-12-30 12:00:30 +0000", tick=False) as traveller:
        for _ in range(4):
            ratelimit.record_login_failure(ip="192.0.2.9", account="A@B.example")
        assert ratelimit.login_retry_after(ip="192.0.2.10", account="a@b.example") is None
        ratelimit.record_login_failure(ip="192.0.2.9", account="a@b.example")
        assert ratelimit.login_retry_after(ip="192.0.2.10", account="a@b.example") == 300
        assert ratelimit.login_retry_after(ip="192.0.2.10", account="c@b.example") is None
        traveller.shift(299)
        assert ratelimit.login_retry_after(ip="192.0.2.10", account="a@b.example") == 1
        traveller.shift(2)
        assert ratelimit.login_retry_after(ip="192.0.2.10", account="a@b.example") is None
        # the expired lock row is still there (the nightly purge deletes it); a new lock
        # replaces it
        ratelimit.record_login_failure(ip="192.0.2.9", account="a@b.example")
        assert ratelimit.login_retry_after(ip="192.0.2.10", account="a@b.example") == 300


@pytest.mark.django_db
def test_redis_store_keeps_a_login_lock_for_five_minutes(redis_store: redis.Redis) -> None:
    for _ in range(5):
        ratelimit.record_login_failure(ip="2001:db8:9::1", account="redis@b.example")
    assert not RateLimitCounter.objects.exists()
    wait = ratelimit.login_retry_after(ip="2001:db8:9::2", account="")
    assert wait is None  # 5 failures from the /64: the address's budget of 10 holds
    wait = ratelimit.login_retry_after(ip="198.51.100.1", account="redis@b.example")
    assert wait is not None
    assert 295 <= wait <= 300
    locks = [key for key in redis_store.keys("ratelimit:login-account-lock:*")]
    assert len(locks) == 1
    assert 295 <= redis_store.ttl(locks[0]) <= 300
