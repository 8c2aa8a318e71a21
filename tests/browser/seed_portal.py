"""Seeds an open campaign for the portal browser tests (run in the server's environment).

    python seed_portal.py NAME [NAME ...]

Creates its own organisation (so that the staff tests never see it) with contact and
legal links, an open campaign around today, and per NAME one property with one main
water meter: previous reading 1000 exactly 365 days ago, previous-year consumption 100.
Then issues the links and codes once (issuing again would revoke them) and prints one
JSON object: ``{NAME: {"token", "code", "meter", "meter_id", "register_id"}, ...}`` plus
``"_values": {"plausible", "warning"}`` — both checked here with the real engine.
"""

import datetime
import json
import os
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ablesung.core.models import Organisation

PREVIOUS_VALUE = 1000
CONSUMPTION = 100
PLAUSIBLE = PREVIOUS_VALUE + CONSUMPTION  # 1100
WARNING = PREVIOUS_VALUE + 9 * CONSUMPTION  # 1900: nine times the usual consumption


def seed(names: list[str]) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.utils import timezone

    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        CampaignStatus,
        Meter,
        MeterKind,
        Organisation,
        Property,
        Register,
    )
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.access import do_issue_access
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.readings import check_value

    today = timezone.localdate()
    org = Organisation.objects.create(
        slug="portalheim",
        name="Stadtwerke Portalheim",
        contact_email="ablesung@portalheim.example",
        contact_phone="01234 5678",
        imprint_url="https://portalheim.example/impressum",
        privacy_url="https://portalheim.example/datenschutz",
        access_methods=["code_meter", "customer_meter", "customer_name"],
    )
    result: dict[str, object] = {}
    with organisation_scope(org):
        campaign = Campaign.objects.create(
            organisation=org,
            name="Ablesung 2026 (Portal-Browsertest)",
            key_date=today,
            online_from=today - datetime.timedelta(days=7),
            online_until=today + datetime.timedelta(days=30),
            status=CampaignStatus.OPEN,
        )
        lines: dict[int, CampaignMeter] = {}
        for index, _name in enumerate(names, start=1):
            prop = Property.objects.create(
                organisation=org,
                object_number=f"7-{index:06d}-001",
                customer_number=f"70.{index:09d}",
                owner_last_name="Müller",
                owner_first_name="Jörg",
                street="Gartenstraße",
                house_number=str(index),
                postal_code="09111",
                city="Portalheim",
            )
            meter = Meter.objects.create(
                organisation=org,
                property=prop,
                number=f"3100{index:04d}",
                kind=MeterKind.WATER_MAIN,
                digits=5,
                location_hint="Keller, neben der Heizung",
            )
            register = Register.objects.create(organisation=org, meter=meter, code="")
            lines[prop.pk] = CampaignMeter.objects.create(
                organisation=org,
                campaign=campaign,
                register=register,
                previous_value=Decimal(PREVIOUS_VALUE),
                previous_date=today - datetime.timedelta(days=365),
                previous_year_consumption=Decimal(CONSUMPTION),
            )
        issued = do_issue_access(campaign, organisation=org, actor=Actor.system("browsertest"))
        by_property = {access.property.pk: access for access in issued}
        for index, name in enumerate(names):
            prop_pk = list(lines)[index]
            line = lines[prop_pk]
            access = by_property[prop_pk]
            result[name] = {
                "token": access.token,
                "code": access.code,
                "meter": line.register.meter.number,
                "meter_id": line.register.meter_id,
                "register_id": line.register_id,
            }
        line = next(iter(lines.values()))
        plausible = check_value(line, str(PLAUSIBLE), today)
        if plausible.outcome.name != "OK" or plausible.needs_confirmation:
            raise SystemExit(f"{PLAUSIBLE} is not plausible: {plausible}")
        warning = check_value(line, str(WARNING), today)
        if not warning.needs_confirmation:
            raise SystemExit(f"{WARNING} does not ask for a confirmation: {warning}")
        result["_later"] = {"token": _later_campaign(org, today)}
    result["_values"] = {"plausible": str(PLAUSIBLE), "warning": str(WARNING)}
    return result


def _later_campaign(org: "Organisation", today: datetime.date) -> str:
    """A campaign whose online window starts in ten days: its link shows the window page."""
    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        CampaignStatus,
        Meter,
        Property,
        Register,
    )
    from ablesung.core.services.access import do_issue_access
    from ablesung.core.services.actor import Actor

    campaign = Campaign.objects.create(
        organisation=org,
        name="Gartenwasser 2026 (später)",
        key_date=today,
        online_from=today + datetime.timedelta(days=10),
        online_until=today + datetime.timedelta(days=40),
        status=CampaignStatus.OPEN,
    )
    prop = Property.objects.create(
        organisation=org,
        object_number="7-999999-001",
        customer_number="70.999999999",
        owner_last_name="Später",
        street="Wiesenweg",
    )
    meter = Meter.objects.create(organisation=org, property=prop, number="39999999")
    register = Register.objects.create(organisation=org, meter=meter)
    CampaignMeter.objects.create(organisation=org, campaign=campaign, register=register)
    [access] = do_issue_access(campaign, organisation=org, actor=Actor.system("browsertest"))
    return access.token


if __name__ == "__main__":
    print(json.dumps(seed(sys.argv[1:])))
