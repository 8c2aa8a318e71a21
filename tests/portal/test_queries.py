"""The portal's hot path stays lean: a bounded number of queries per page (load benchmark)."""

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import OrgData
from tests.portal.conftest import form_url, post_value


def count(callable_: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = callable_()
    return response, len(queries)


def test_form_and_submit_need_few_queries(citizen: Client, org_a: OrgData) -> None:
    page, form_queries = count(lambda: citizen.get(form_url(org_a)))
    assert page.status_code == 200
    stored, post_queries = count(lambda: post_value(citizen, org_a, "76440"))
    assert stored.status_code == 302
    assert form_queries <= 7
    assert post_queries <= 14
