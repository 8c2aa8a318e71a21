"""Migrations that change data: an installation's readings keep their history."""

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("core", "0004_organisation_constraint")]
AFTER = [("core", "0005_reading_versions")]


@pytest.mark.django_db(transaction=True)
def test_reading_versions_follow_the_old_chain_and_the_newest_live_one_is_effective() -> None:
    """Readings stored as a ``superseded_by`` chain get versions in the order they were
    recorded; the newest one not in the trash becomes effective (the old chain pointed at
    a trashed version and left the register without one), and the line counts them."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Organisation = apps.get_model("core", "Organisation")
    Campaign = apps.get_model("core", "Campaign")
    Property = apps.get_model("core", "Property")
    Meter = apps.get_model("core", "Meter")
    Register = apps.get_model("core", "Register")
    CampaignMeter = apps.get_model("core", "CampaignMeter")
    Reading = apps.get_model("core", "Reading")
    org = Organisation.objects.create(slug="alt", name="Alt")
    campaign = Campaign.objects.create(
        organisation=org, name="2026", key_date=datetime.date(2026, 12, 31)
    )
    prop = Property.objects.create(organisation=org, object_number="1")
    meter = Meter.objects.create(organisation=org, property=prop, number="M1")
    first, second = (Register.objects.create(organisation=org, meter=meter, code=c) for c in "HN")
    for register in (first, second):
        CampaignMeter.objects.create(organisation=org, campaign=campaign, register=register)
    now = timezone.now()

    def add(register: Any, value: int, minutes: int, **extra: Any) -> Any:
        return Reading.objects.create(
            organisation=org,
            campaign=campaign,
            register=register,
            value=Decimal(value),
            reading_date=datetime.date(2026, 12, 30),
            source="online",
            created_at=now + datetime.timedelta(minutes=minutes),
            **extra,
        )

    a1, a2, a3 = add(first, 10, 1), add(first, 11, 2), add(first, 12, 3, deleted_at=now)
    Reading.objects.filter(pk=a1.pk).update(superseded_by=a2)
    Reading.objects.filter(pk=a2.pk).update(superseded_by=a3)
    b1 = add(second, 20, 1)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    Reading = apps.get_model("core", "Reading")
    CampaignMeter = apps.get_model("core", "CampaignMeter")
    rows = {
        row["pk"]: row
        for row in Reading.objects.values("pk", "version", "is_effective", "register_id")
    }
    assert [(rows[r.pk]["version"], rows[r.pk]["is_effective"]) for r in (a1, a2, a3, b1)] == [
        (1, False),
        (2, True),  # the newest live version, though the trashed one superseded it
        (3, False),
        (1, True),
    ]
    lines = dict(CampaignMeter.objects.values_list("register_id", "last_version"))
    assert lines == {first.pk: 3, second.pk: 1}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
