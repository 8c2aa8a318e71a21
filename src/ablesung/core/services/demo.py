"""Demo data for ``make run``: Stadt Musterstadt with its 2026 meter list.

The meter list goes through the real import (the same path a clerk's upload
takes), so the demo shows what an import produces.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File

from ablesung.core.models import Campaign, CampaignMeter, ImportStatus
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import (
    NewCampaign,
    import_meter_list_now,
)
from ablesung.core.services.organisation import CreatedOrganisation, do_create_organisation
from ablesung.formats import FINANZ_PLUS_STANDARD

DEMO_SLUG = "musterstadt"
DEMO_NAME = "Stadt Musterstadt"
DEMO_ADMIN = "admin@musterstadt.example"
DEMO_CAMPAIGN = "Jahresablesung 2026"
DEMO_KEY_DATE = datetime.date(2026, 12, 31)


@dataclass(frozen=True)
class DemoResult:
    created: CreatedOrganisation
    campaign: Campaign | None
    meters_loaded: int
    message: str = ""


def do_create_demo(sample: Path | None, *, actor: Actor) -> DemoResult:
    """Creates the demo organisation once; a second run reuses everything."""
    created = do_create_organisation(DEMO_SLUG, name=DEMO_NAME, admin_email=DEMO_ADMIN, actor=actor)
    organisation = created.organisation
    with organisation_scope(organisation):
        campaign = Campaign.with_trashed.filter(name=DEMO_CAMPAIGN).first()
        if campaign is not None and CampaignMeter.objects.filter(campaign=campaign).exists():
            return DemoResult(created, campaign, 0)
    if sample is None or not sample.is_file():
        return DemoResult(created, campaign, 0)
    target = campaign or NewCampaign(DEMO_CAMPAIGN, DEMO_KEY_DATE)
    with sample.open("rb") as handle:
        batch, _detected = import_meter_list_now(
            target,
            File(handle, name=sample.name),
            original_name=sample.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=organisation,
            actor=actor,
        )
    loaded = batch.counts.get("meters_created", 0) if batch.status == ImportStatus.SUCCEEDED else 0
    return DemoResult(created, batch.campaign, loaded, batch.message)
