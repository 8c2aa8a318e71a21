"""Django's database sessions, with two queries fewer per portal visit.

* A new session key is not looked up first: 32 random characters from 36 (about 165
  bits) do not collide, and if one ever did, the insert's unique key would fail and
  Django's ``create()`` would draw another key (``CreateError``).
* Loading reads the row with SQL written out once instead of compiling an ORM query
  on every request (see :mod:`ablesung.lib.model_rows`).
* A new session outside a transaction is one INSERT, which is atomic by itself:
  Django's ``save()`` wraps it in BEGIN and COMMIT (two more round trips).

Expiry, cookie handling and cleanup stay Django's (``SESSION_ENGINE`` points here).
"""

from functools import cache

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.models import Session
from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from ablesung.lib.model_rows import Part, RowShape, insert, table

_SESSION = RowShape(Part(Session, "s"))


@cache
def _load_sql() -> str:
    return f"FROM {table(Session, 's')} WHERE s.session_key = %s AND s.expire_date > %s"


class SessionStore(db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        if not must_create or self.session_key is None or connection.in_atomic_block:
            super().save(must_create)
            return
        data = self._get_session(no_load=True)  # type: ignore[attr-defined]  # not in the stubs
        try:
            insert(self.create_model_instance(data))
        except IntegrityError as taken:  # create() draws another key
            raise CreateError from taken

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def _get_session_from_db(self) -> Session | None:
        if not self.session_key:  # no cookie, or one that is not a valid key
            return None
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        found = _SESSION.fetch(Session, _load_sql(), [self.session_key, now])
        if not found:
            self._session_key = None
            return None
        return found[0]
