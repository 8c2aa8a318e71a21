"""The session store: Django's database sessions with two queries fewer per visit."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ablesung.core.session_store import SessionStore

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # autocommit, as in a request
def test_a_new_session_is_one_insert() -> None:
    store = SessionStore()
    store["portal_access"] = {"grant": 7}
    with CaptureQueriesContext(connection) as queries:
        store.save()
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 1  # no lookup, no BEGIN/COMMIT around the insert
    assert statements[0].startswith("INSERT")
    assert store.session_key is not None
    assert len(store.session_key) == 32
    assert SessionStore(store.session_key)["portal_access"] == {"grant": 7}


def test_loading_takes_one_query_and_sees_only_live_sessions() -> None:
    store = SessionStore()
    store["x"] = 1
    store.save()
    key = store.session_key
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key).load() == {"x": 1}
    assert len(queries.captured_queries) == 1
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None  # a new key is drawn when it is saved


@pytest.mark.parametrize("key", [None, "", "short", "x" * 40, "'; DROP TABLE django_session; --"])
def test_unknown_or_malformed_keys_give_an_empty_session(key: str | None) -> None:
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    assert Session.objects.count() == 0


def test_a_colliding_key_draws_another(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = SessionStore()
    taken["owner"] = "first"
    taken.save()
    keys = iter([taken.session_key, "b" * 32])
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(keys))
    second = SessionStore()
    second["owner"] = "second"
    second.save()
    assert second.session_key == "b" * 32
    assert SessionStore(taken.session_key)["owner"] == "first"


def test_inside_a_transaction_a_new_session_is_saved_as_django_does() -> None:
    store = SessionStore()
    store["x"] = 2
    with transaction.atomic():
        store.save()
    assert SessionStore(store.session_key)["x"] == 2
