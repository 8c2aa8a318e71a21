"""The portal's hot path stays lean: a bounded number of queries per page (load benchmark)."""

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import OrgData
from tests.portal.conftest import form_url, open_and_issue, post_value


def run(callable_: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = callable_()
    return response, [query["sql"] for query in queries.captured_queries]


def test_form_and_submit_need_few_queries(citizen: Client, org_a: OrgData) -> None:
    page, form_queries = run(lambda: citizen.get(form_url(org_a)))
    assert page.status_code == 200
    stored, post_queries = run(lambda: post_value(citizen, org_a, "76440"))
    assert stored.status_code == 302
    # the grant; the lines with their readings and history
    assert len(form_queries) <= 2, form_queries
    # the grant, the lines with their readings for the form; then in the write: lock the
    # lines, their readings, the next version, insert, audit (and the test's savepoints)
    assert len(post_queries) <= 9, post_queries
    # the portal session is a signed cookie: no session row is read or written
    assert not any("django_session" in sql for sql in form_queries + post_queries)


def test_opening_a_link_reads_the_grant_and_writes_no_session(
    org_a: OrgData, portal_clock: None
) -> None:
    access = open_and_issue(org_a)
    response, queries = run(lambda: Client().get(f"/r/{access.token}"))
    assert response.status_code == 302
    assert not any("django_session" in sql for sql in queries), queries
    assert len(queries) <= 2, queries  # rate-limit counters (cache), grant


def test_a_submission_locks_the_lines_before_it_reads_what_it_replaces(
    citizen: Client, org_a: OrgData
) -> None:
    """Inside the write, the meter's campaign-meter rows are locked (PostgreSQL: those rows
    only) before the effective readings are read again and the new version is written."""
    stored, queries = run(lambda: post_value(citizen, org_a, "76440"))
    assert stored.status_code == 302
    write = queries[next(i for i, sql in enumerate(queries) if sql.startswith("SAVEPOINT")) :]
    lock = next(i for i, sql in enumerate(write) if 'FROM "core_campaignmeter"' in sql)
    read = next(i for i, sql in enumerate(write) if sql.startswith('SELECT "core_reading"'))
    insert = next(i for i, sql in enumerate(write) if sql.startswith('INSERT INTO "core_reading"'))
    assert lock < read < insert
    if connection.vendor == "postgresql":
        assert write[lock].endswith('FOR UPDATE OF "core_campaignmeter"'), write[lock]
