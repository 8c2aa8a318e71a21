"""Portal fixtures: an open campaign with an issued link, a citizen session, a frozen clock."""

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import Campaign, CampaignStatus, Reading
from ablesung.core.services.access import IssuedAccess, do_issue_access
from ablesung.core.services.actor import Actor
from tests.conftest import OrgData

TODAY = datetime.datetime(2026, 12, 30, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def portal_clock() -> Iterator[None]:
    """30.12.2026, inside the online window 01.12.2026–15.01.2027."""
    with time_machine.travel(TODAY, tick=False):
        yield


def open_and_issue(data: OrgData) -> IssuedAccess:
    with scopes_disabled():
        Campaign.objects.filter(pk=data.campaign.pk).update(
            status=CampaignStatus.OPEN,
            online_from=datetime.date(2026, 12, 1),
            online_until=datetime.date(2027, 1, 15),
        )
        # the fixture's reading is not part of this citizen's story
        Reading.objects.filter(pk=data.reading.pk).delete()
    [access] = do_issue_access(
        data.campaign, organisation=data.organisation, actor=Actor.system("test")
    )
    return access


@pytest.fixture
def citizen(org_a: OrgData, portal_clock: None) -> Client:
    """A browser session opened with organisation A's personal link."""
    access = open_and_issue(org_a)
    client = Client()
    assert client.get(f"/r/{access.token}").status_code == 302
    return client


def form_url(data: OrgData) -> str:
    return f"/portal/zaehler/{data.meter.pk}/"


def post_value(client: Client, data: OrgData, value: str, **extra: Any) -> Any:
    fields = {f"value_{data.register.pk}": value, "reading_date": "2026-12-30", **extra}
    return client.post(form_url(data), fields)
