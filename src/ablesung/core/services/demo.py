"""Demo data for ``make run``: Stadt Musterstadt with its 2026 meter list.

A deliberately simple loader for the sample file; the real import (profiles,
validation, all-or-nothing) is ``ablesung.formats`` and its own service.
"""

import csv
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    Meter,
    MeterKind,
    Organisation,
    Property,
    Register,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.organisation import CreatedOrganisation, do_create_organisation

DEMO_SLUG = "musterstadt"
DEMO_NAME = "Stadt Musterstadt"
DEMO_ADMIN = "admin@musterstadt.example"
DEMO_CAMPAIGN = "Jahresablesung 2026"
DEMO_KEY_DATE = datetime.date(2026, 12, 31)

KIND_BY_LABEL = {
    "hauptwasserzähler": MeterKind.WATER_MAIN,
    "gartenwasserzähler": MeterKind.WATER_GARDEN,
    "unterzähler": MeterKind.WATER_SUB,
    "stromzähler": MeterKind.ELECTRICITY,
    "gaszähler": MeterKind.GAS,
    "wärmezähler": MeterKind.HEAT,
}


@dataclass(frozen=True)
class DemoResult:
    created: CreatedOrganisation
    campaign: Campaign
    meters_loaded: int


def _date(text: str) -> datetime.date | None:
    text = text.strip()
    if not text:
        return None
    return datetime.datetime.strptime(text, "%d.%m.%Y").date()


def _decimal(text: str) -> Decimal | None:
    text = text.strip().replace(".", "").replace(",", ".")
    return Decimal(text) if text else None


def load_meter_list(
    organisation: Organisation, campaign: Campaign, data: bytes, *, actor: Actor
) -> int:
    """Loads the default-profile CSV (cp1252 or UTF-8) into a campaign; returns meters added."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = next(reader)
    added = 0
    with transaction.atomic(), organisation_scope(organisation):
        for row_number, cells in enumerate(reader, start=2):
            row = dict(zip(header, cells, strict=False))
            prop, _ = Property.objects.get_or_create(
                organisation=organisation,
                object_number=row["Objektnummer"],
                defaults={
                    "customer_number": row["Kassenzeichen"],
                    "owner_last_name": row["Name"],
                    "owner_first_name": row.get("Vorname", ""),
                    "street": row["Straße"],
                    "house_number": row.get("Hausnummer", ""),
                    "postal_code": row.get("PLZ", ""),
                    "city": row.get("Ort", ""),
                },
            )
            meter, _ = Meter.objects.get_or_create(
                organisation=organisation,
                number=row["Zählernummer"],
                defaults={
                    "property": prop,
                    "kind": KIND_BY_LABEL.get(
                        row.get("Zählerart", "").strip().lower(), MeterKind.WATER_MAIN
                    ),
                    "digits": int(row.get("Stellen") or 5),
                },
            )
            register, _ = Register.objects.get_or_create(
                organisation=organisation, meter=meter, code=""
            )
            _link, linked = CampaignMeter.objects.get_or_create(
                organisation=organisation,
                campaign=campaign,
                register=register,
                defaults={
                    "previous_value": _decimal(row["Zählerstand alt"]),
                    "previous_date": _date(row["Ablesedatum alt"]),
                    "previous_year_consumption": _decimal(row["Vorjahresverbrauch"]),
                    "row_number": row_number,
                    "raw_row": cells,
                },
            )
            added += int(linked)
        if added:
            audit.record(
                "campaign.demo_loaded",
                actor=actor,
                organisation=organisation,
                obj=campaign,
                data={"meters": added},
            )
    return added


def do_create_demo(sample: Path | None, *, actor: Actor) -> DemoResult:
    """Creates the demo organisation once; a second run reuses everything."""
    created = do_create_organisation(DEMO_SLUG, name=DEMO_NAME, admin_email=DEMO_ADMIN, actor=actor)
    organisation = created.organisation
    with transaction.atomic(), organisation_scope(organisation):
        campaign, new = Campaign.objects.get_or_create(
            organisation=organisation,
            name=DEMO_CAMPAIGN,
            defaults={"key_date": DEMO_KEY_DATE},
        )
        if new:
            audit.record(
                "campaign.created",
                actor=actor,
                organisation=organisation,
                obj=campaign,
                data={"name": campaign.name, "key_date": campaign.key_date.isoformat()},
            )
    loaded = 0
    if sample is not None and sample.is_file():
        loaded = load_meter_list(organisation, campaign, sample.read_bytes(), actor=actor)
    return DemoResult(created, campaign, loaded)
