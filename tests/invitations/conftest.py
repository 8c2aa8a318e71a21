"""A campaign open for citizens with properties that share, lack or misspell addresses."""

import datetime
from decimal import Decimal

from django_scopes import scopes_disabled

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    Property,
    Reading,
    ReadingSource,
    Register,
)
from ablesung.core.services.actor import Actor
from tests.conftest import OrgData
from tests.mail.conftest import smtp, smtp_down  # noqa: F401  (fixtures for the mail tests)

ACTOR = Actor.system("test")
#: the online window ends on this day; the tests travel around it
UNTIL = datetime.date(2027, 1, 20)
TODAY = datetime.datetime(2027, 1, 5, 9, tzinfo=datetime.UTC)


def add(
    data: OrgData, number: str, email: str = "", *, reported: bool = False, street: str = "Weg"
) -> Property:
    """A property with one meter in the campaign; ``reported``: with an effective reading."""
    org = data.organisation
    with scopes_disabled():
        prop = Property.objects.create(
            organisation=org,
            object_number=f"{org.slug}-{number}",
            customer_number=f"{org.slug}-K{number}",
            owner_last_name=f"Eigner {number}",
            street=street,
            house_number=number,
            postal_code="09111",
            city="Stadt",
            email=email,
        )
        meter = Meter.objects.create(
            organisation=org, property=prop, number=f"{org.slug}-M{number}"
        )
        register = Register.objects.create(organisation=org, meter=meter)
        CampaignMeter.objects.create(
            organisation=org,
            campaign=data.campaign,
            register=register,
            last_version=1 if reported else 0,
        )
        if reported:
            Reading.objects.create(
                organisation=org,
                campaign=data.campaign,
                register=register,
                version=1,
                is_effective=True,
                value=Decimal(5),
                reading_date=datetime.date(2026, 12, 30),
                source=ReadingSource.ONLINE,
            )
    assert isinstance(prop, Property)
    return prop


def open_campaign(data: OrgData, until: datetime.date = UNTIL) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=data.campaign.pk).update(
            status=CampaignStatus.OPEN,
            online_from=min(datetime.date(2027, 1, 1), until),
            online_until=until,
        )
        data.campaign.refresh_from_db()
