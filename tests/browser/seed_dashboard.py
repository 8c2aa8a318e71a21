"""Seeds the data of the dashboard browser tests (run in the server's environment).

    python seed_dashboard.py

Creates its own organisation "Gemeinde Dashboardheim" (so that the other browser tests
never see it) with its own admin account, and two campaigns:

* an open campaign whose readings arrived over the last ten days: online, from reading
  cards and phone calls, with warnings and implausible values, released ones, a control
  reading requested, and citizen messages (two open, one done);
* a closed campaign whose key date has passed, with registers nobody reported: one with a
  previous-year consumption, one without (the median of its kind applies), one without a
  previous reading.

Prints one JSON object: ``{"email", "password", "slug", "open", "closed"}`` (campaign ids).
"""

import datetime
import json
import os
from decimal import Decimal

EMAIL = "dashboard-admin@example.org"
PASSWORD = "Zaehlerstand-Dashboard-2026"
SLUG = "dashboardheim"


def seed() -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()
    from django.utils import timezone

    from ablesung.accounts.models import User
    from ablesung.core.models import (
        Campaign,
        CampaignMeter,
        CampaignStatus,
        CitizenMessage,
        Membership,
        Meter,
        Organisation,
        Property,
        Reading,
        ReadingSource,
        Register,
        Role,
    )
    from ablesung.core.scoping import organisation_scope

    today = timezone.localdate()
    now = timezone.now()
    org = Organisation.objects.create(
        slug=SLUG,
        name="Gemeinde Dashboardheim",
        contact_email="ablesung@dashboardheim.example",
        imprint_url="https://dashboardheim.example/impressum",
        privacy_url="https://dashboardheim.example/datenschutz",
    )
    user = User.objects.create_user(EMAIL, PASSWORD)
    with organisation_scope(org):
        Membership.objects.create(organisation=org, user=user, role=Role.ADMIN)
        counter = iter(range(1, 10_000))

        def line(campaign: Campaign, **values: object) -> CampaignMeter:
            number = next(counter)
            prop = Property.objects.create(
                organisation=org,
                object_number=f"8-{number:06d}-001",
                customer_number=f"80.{number:09d}",
                owner_last_name=["Müller", "Schmidt", "Schneider", "Fischer"][number % 4],
                owner_first_name="Anna",
                street="Lindenstraße",
                house_number=str(number),
                postal_code="09111",
                city="Dashboardheim",
            )
            meter = Meter.objects.create(
                organisation=org,
                property=prop,
                number=f"4200{number:04d}",
                kind=values.pop("kind", "water_main"),
                digits=5,
            )
            register = Register.objects.create(organisation=org, meter=meter, code="")
            defaults: dict[str, object] = {
                "previous_value": Decimal(1000),
                "previous_date": today - datetime.timedelta(days=365),
                "previous_year_consumption": Decimal(100),
            }
            defaults.update(values)
            created: CampaignMeter = CampaignMeter.objects.create(
                organisation=org,
                campaign=campaign,
                register=register,
                row_number=number,
                **defaults,
            )
            return created

        def reading(
            target: CampaignMeter, value: int, source: str, outcome: str, days_ago: int, state: str
        ) -> None:
            target.last_version += 1
            CampaignMeter.objects.filter(pk=target.pk).update(last_version=target.last_version)
            Reading.objects.create(
                organisation=org,
                campaign=target.campaign,
                register=target.register,
                version=target.last_version,
                is_effective=True,
                value=Decimal(value),
                reading_date=today - datetime.timedelta(days=days_ago),
                source=source,
                outcome=outcome,
                state=state,
                released_at=now if state == "released" else None,
                created_at=now - datetime.timedelta(days=days_ago),
            )

        running = Campaign.objects.create(
            organisation=org,
            name="Jahresablesung 2026 (Dashboard)",
            key_date=today + datetime.timedelta(days=20),
            online_from=today - datetime.timedelta(days=10),
            online_until=today + datetime.timedelta(days=20),
            status=CampaignStatus.OPEN,
        )
        sources = [ReadingSource.ONLINE] * 3 + [ReadingSource.LETTER, ReadingSource.PHONE]
        for index in range(40):
            target = line(running)
            if index >= 30:
                continue  # no reading yet
            outcome = "implausible" if index % 9 == 4 else "warning" if index % 7 == 3 else "ok"
            state = "released" if index < 6 and outcome == "ok" else "submitted"
            reading(target, 1090, sources[index % 5], outcome, index % 10, state)
            if index == 12:
                CampaignMeter.objects.filter(pk=target.pk).update(control_requested_at=now)
            if index in (1, 2, 3):
                CitizenMessage.objects.create(
                    organisation=org,
                    campaign=running,
                    property=target.register.meter.property,
                    reason="meter_defect",
                    text="Der Zähler ist schwer ablesbar, bitte melden Sie sich.",
                    phone="0371 12345",
                    handled_at=now if index == 3 else None,
                )

        closed = Campaign.objects.create(
            organisation=org,
            name="Ablesung 2025 (Schätzung)",
            key_date=today - datetime.timedelta(days=30),
            online_from=today - datetime.timedelta(days=60),
            online_until=today - datetime.timedelta(days=5),
            status=CampaignStatus.CLOSED,
        )
        for _index in range(8):
            reading(line(closed), 1080, ReadingSource.ONLINE, "ok", 35, "submitted")
        line(closed)  # previous-year consumption: estimated from it
        line(closed, kind="water_garden", previous_year_consumption=None)  # the median: none
        line(closed, kind="water_garden", previous_year_consumption=Decimal(30))
        line(closed, previous_value=None, previous_date=None)  # nothing to carry
    return {
        "email": EMAIL,
        "password": PASSWORD,
        "slug": SLUG,
        "open": running.pk,
        "closed": closed.pk,
    }


if __name__ == "__main__":
    print(json.dumps(seed()))
