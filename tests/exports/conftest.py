"""An organisation with export recipients, a campaign imported from a real file, readings."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    ImportBatch,
    ImportStatus,
    Organisation,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import (
    NewCampaign,
    do_start_import,
    do_upload_meter_list,
    run_import,
)
from ablesung.formats import Profile
from tests.mail.conftest import smtp, smtp_down  # noqa: F401  (fixtures for the mail tests)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
CLEAN = SAMPLES / "musterstadt-2026.csv"
RECIPIENTS = ["abrechnung@musterstadt.example", "kasse@musterstadt.example"]
KEY_DATE = datetime.date(2026, 12, 31)
ACTOR = Actor.system("test")
CAMPAIGN = "Jahresablesung 2026"


@pytest.fixture
def org(db: object) -> Organisation:
    organisation: Organisation = Organisation.objects.create(
        slug="musterstadt",
        name="Stadt Musterstadt",
        contact_email="zaehler@musterstadt.example",
        settings={"export_recipients": list(RECIPIENTS)},
    )
    return organisation


def import_file(
    org: Organisation,
    data: bytes,
    *,
    name: str = "musterstadt-2026.csv",
    profile: Profile | None = None,
    campaign: str = CAMPAIGN,
) -> ImportBatch:
    from ablesung.formats import FINANZ_PLUS_STANDARD

    profile = profile or FINANZ_PLUS_STANDARD
    with organisation_scope(org):
        existing = Campaign.objects.filter(name=campaign).first()
    target = existing or NewCampaign(campaign, KEY_DATE)
    batch, _ = do_upload_meter_list(
        target,
        ContentFile(data, name=name),
        original_name=name,
        profile=profile,
        organisation=org,
        actor=ACTOR,
    )
    do_start_import(batch, profile, organisation=org, actor=ACTOR, enqueue=False)
    done = run_import(batch.pk)
    assert done.status == ImportStatus.SUCCEEDED, done.message
    return done


def campaign_of(org: Organisation, name: str = CAMPAIGN) -> Campaign:
    with organisation_scope(org):
        campaign: Campaign = Campaign.objects.select_related("organisation").get(name=name)
    return campaign


def set_status(campaign: Campaign, status: str) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.status = status


def closed_sample(org: Organisation) -> Campaign:
    import_file(org, CLEAN.read_bytes())
    campaign = campaign_of(org)
    set_status(campaign, CampaignStatus.CLOSED)
    return campaign


def line_of(campaign: Campaign, meter_number: str) -> CampaignMeter:
    with scopes_disabled():
        line: CampaignMeter = CampaignMeter.objects.select_related("register__meter").get(
            campaign=campaign, register__meter__number=meter_number
        )
    return line


def add_reading(
    campaign: Campaign,
    meter_number: str,
    value: Decimal | int | str,
    *,
    source: str = ReadingSource.ONLINE,
    state: str = ReviewState.RELEASED,
    outcome: str = "ok",
    reason: str = "",
    comment: str = "",
    reading_date: datetime.date = datetime.date(2026, 12, 5),
) -> Reading:
    """A new effective version of the meter's reading (what the services would store)."""
    line = line_of(campaign, meter_number)
    with scopes_disabled():
        version = line.last_version + 1
        CampaignMeter.objects.filter(pk=line.pk).update(last_version=version)
        Reading.objects.filter(
            campaign=campaign, register_id=line.register_id, is_effective=True
        ).update(is_effective=False)
        reading: Reading = Reading.objects.create(
            organisation=campaign.organisation,
            campaign=campaign,
            register_id=line.register_id,
            version=version,
            is_effective=True,
            value=Decimal(value),
            reading_date=reading_date,
            source=source,
            state=state,
            outcome=outcome,
            reason=reason,
            comment=comment,
            released_at=timezone.now() if state == ReviewState.RELEASED else None,
        )
    return reading
