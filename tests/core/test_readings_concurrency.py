"""A citizen and a clerk writing the same register at the same moment (two real connections).

SECURITY.md: both versions are kept in the history, exactly one is effective. The
campaign-meter row lock serialises the two writers (SQLite: the write lock of the
IMMEDIATE transaction; PostgreSQL: SELECT … FOR UPDATE).
"""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Reading,
    ReadingSource,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import Submission, do_record_reading
from tests.conftest import OrgData

TODAY = datetime.date(2026, 12, 30)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_citizen_and_clerk_at_once_keep_both_versions_and_one_effective(
    org_a: OrgData, round_: int
) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(
            status=CampaignStatus.OPEN, online_until=datetime.date(2027, 1, 15)
        )
        before = Reading.objects.filter(register=org_a.register).count()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(value: int, source: str, label: str) -> None:
        try:
            with organisation_scope(org_a.organisation):
                line = CampaignMeter.objects.select_related(
                    "campaign__organisation", "register__meter"
                ).get(pk=org_a.campaign_meter.pk)
                barrier.wait(timeout=10)
                do_record_reading(
                    line,
                    Submission(str(value), TODAY),
                    source=source,
                    actor=Actor.system(label),
                    today=TODAY,
                )
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(76441, ReadingSource.ONLINE, "citizen")),
        threading.Thread(target=write, args=(76443, ReadingSource.PHONE, "clerk")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with scopes_disabled():
        rows = list(Reading.objects.filter(register=org_a.register).order_by("version"))
    assert len(rows) == before + 2
    assert {row.value for row in rows[-2:]} == {Decimal(76441), Decimal(76443)}
    assert [row.version for row in rows] == list(range(1, len(rows) + 1))  # no gap, no twice
    current = [row for row in rows if row.is_effective]
    assert current == [rows[-1]]  # the later write is the effective one
    assert max(rows, key=lambda row: row.created_at) == rows[-1]
