"""Builds campaigns with lines and reading versions directly in the database (test data for
the dashboard figures and the estimates; the services under test read what is here)."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    CitizenMessage,
    Meter,
    Organisation,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)

_numbers = count(1)


@dataclass
class Builder:
    organisation: Organisation
    campaign: Campaign
    lines: dict[str, CampaignMeter] = field(default_factory=dict)

    @classmethod
    def campaign_of(
        cls,
        organisation: Organisation,
        name: str,
        *,
        key_date: datetime.date = datetime.date(2026, 12, 31),
        status: str = CampaignStatus.CLOSED,
        online_from: datetime.date | None = datetime.date(2026, 12, 1),
        online_until: datetime.date | None = datetime.date(2027, 1, 15),
    ) -> "Builder":
        with scopes_disabled():
            campaign = Campaign.objects.create(
                organisation=organisation,
                name=name,
                key_date=key_date,
                status=status,
                online_from=online_from,
                online_until=online_until,
            )
        return cls(organisation, campaign)

    def property(self, owner: str = "Muster") -> Property:
        number = next(_numbers)
        with scopes_disabled():
            created: Property = Property.objects.create(
                organisation=self.organisation,
                object_number=f"O-{number}",
                customer_number=f"K-{number}",
                owner_last_name=owner,
                street="Hauptstraße",
                house_number=str(number),
            )
        return created

    def line(
        self,
        name: str,
        *,
        kind: str = "water_main",
        digits: int = 5,
        decimals: int = 0,
        previous: Decimal | int | None = 1000,
        previous_date: datetime.date | None = datetime.date(2025, 12, 31),
        consumption: Decimal | int | None = 365,
        code: str = "",
        meter: Meter | None = None,
        prop: Property | None = None,
        register: Register | None = None,
    ) -> CampaignMeter:
        """A line of a new meter, of another register of ``meter``, or of ``register``."""
        with scopes_disabled():
            if register is not None:
                meter = register.meter
            if meter is None:
                meter = Meter.objects.create(
                    organisation=self.organisation,
                    property=prop or self.property(),
                    number=f"Z-{name}-{next(_numbers)}",
                    kind=kind,
                    digits=digits,
                    decimals=decimals,
                )
            if register is None:
                register = Register.objects.create(
                    organisation=self.organisation, meter=meter, code=code
                )
            line: CampaignMeter = CampaignMeter.objects.create(
                organisation=self.organisation,
                campaign=self.campaign,
                register=register,
                previous_value=Decimal(previous) if previous is not None else None,
                previous_date=previous_date,
                previous_year_consumption=Decimal(consumption) if consumption is not None else None,
                row_number=len(self.lines) + 2,
            )
        self.lines[name] = line
        return line

    def reading(
        self,
        name: str,
        value: Decimal | int,
        *,
        source: str = ReadingSource.ONLINE,
        outcome: str = "ok",
        state: str = ReviewState.SUBMITTED,
        reading_date: datetime.date = datetime.date(2026, 12, 30),
        created_at: datetime.datetime | None = None,
    ) -> Reading:
        """A new version of the line's register, effective (the previous one no longer)."""
        line = self.lines[name]
        with scopes_disabled():
            line.refresh_from_db()
            version = line.last_version + 1
            CampaignMeter.objects.filter(pk=line.pk).update(last_version=version)
            Reading.objects.filter(
                campaign=self.campaign, register_id=line.register_id, is_effective=True
            ).update(is_effective=False)
            reading: Reading = Reading.objects.create(
                organisation=self.organisation,
                campaign=self.campaign,
                register_id=line.register_id,
                version=version,
                is_effective=True,
                value=Decimal(value),
                reading_date=reading_date,
                source=source,
                outcome=outcome,
                state=state,
                released_at=timezone.now() if state == ReviewState.RELEASED else None,
                created_at=created_at or timezone.now(),
            )
        line.last_version = version
        return reading

    def message(self, name: str, *, handled: bool = False) -> CitizenMessage:
        line = self.lines[name]
        with scopes_disabled():
            message: CitizenMessage = CitizenMessage.objects.create(
                organisation=self.organisation,
                campaign=self.campaign,
                property=line.register.meter.property,
                reason="meter_defect",
                text="Zähler klemmt",
                handled_at=timezone.now() if handled else None,
            )
        return message
