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
    assert len(form_queries) <= 2, form_queries  # grant, lines with readings and history
    assert len(post_queries) <= 7, post_queries
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


def test_a_submission_reads_its_lines_and_readings_once_under_the_lock(
    citizen: Client, org_a: OrgData
) -> None:
    """The POST locks the meter's lines first and reads the readings under that lock: no
    second read of either inside the write (two round trips fewer per submission)."""
    stored, queries = run(lambda: post_value(citizen, org_a, "76440"))
    assert stored.status_code == 302
    lines = [sql for sql in queries if '"core_campaignmeter" "cm"' in sql]
    readings = [sql for sql in queries if sql.startswith('SELECT "rd"')]
    assert len(lines) == 1, lines
    assert len(readings) == 1, readings
    if connection.vendor == "postgresql":
        assert lines[0].endswith("FOR UPDATE OF cm")
    assert queries.index(lines[0]) < queries.index(readings[0])
