"""Seeds a fresh database for the portal load benchmark (run with the server's environment).

    python portal_seed.py seed PROPERTIES TOKENS_FILE   # migrate, collectstatic, import, open, issue
    python portal_seed.py count                         # online readings stored

``seed`` imports PROPERTIES properties with one water meter each through the real import
service (previous reading 1000 exactly 365 days ago, previous-year consumption 100, key
date today), opens the campaign online around today and issues one link per property.
TOKENS_FILE gets one line per property: ``token meter_id register_id plausible_value``.
Both commands print one JSON line.
"""

import csv
import datetime
import json
import os
import sys
import time
from pathlib import Path

PREVIOUS_VALUE = 1000
CONSUMPTION = 100
DIGITS = 5
HEADER = [
    "Objektnummer", "Kassenzeichen", "Name", "Vorname", "Straße", "Hausnummer", "PLZ", "Ort",
    "Zählernummer", "Zählerart", "Stellen", "Ablesedatum alt", "Zählerstand alt",
    "Vorjahresverbrauch", "Ablesedatum neu", "Zählerstand neu", "Ableseart", "Bemerkung",
]  # fmt: skip


def write_meter_list(path: Path, properties: int, previous_date: datetime.date) -> Path:
    """One main water meter per property, in the default FINANZ+ layout."""
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for prop in range(1, properties + 1):
            writer.writerow(
                [
                    f"{prop % 9 + 1}-{prop:06d}-001",
                    f"60.{prop:09d}",
                    "Müller",
                    "Jörg",
                    "Gartenstraße",
                    str(prop % 200 + 1),
                    "09111",
                    "Musterstadt",
                    str(20_000_000 + prop),
                    "Hauptwasserzähler",
                    str(DIGITS),
                    previous_date.strftime("%d.%m.%Y"),
                    str(PREVIOUS_VALUE),
                    str(CONSUMPTION),
                    "",
                    "",
                    "",
                    "",
                ]
            )
    return path


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")
    import django

    django.setup()


def seed(properties: int, tokens_file: Path) -> dict[str, object]:
    setup_django()
    from django.core.files import File
    from django.core.management import call_command
    from django.utils import timezone

    from ablesung.core.models import Campaign, CampaignMeter, CampaignStatus, Organisation
    from ablesung.core.scoping import organisation_scope
    from ablesung.core.services.access import do_issue_access
    from ablesung.core.services.actor import Actor
    from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
    from ablesung.core.services.readings import check_value
    from ablesung.formats import FINANZ_PLUS_STANDARD

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    today = timezone.localdate()
    org = Organisation.objects.create(slug="bench-portal", name="Bench Portal")
    actor = Actor.system("bench")
    meter_list = write_meter_list(
        tokens_file.with_suffix(".csv"), properties, today - datetime.timedelta(days=365)
    )
    with meter_list.open("rb") as handle:
        batch, _ = import_meter_list_now(
            NewCampaign("Bench Portal", today),
            File(handle, name=meter_list.name),
            original_name=meter_list.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=org,
            actor=actor,
        )
    if batch.status != "succeeded":
        raise SystemExit(f"import did not succeed: {batch.message}")
    with organisation_scope(org):
        campaign = Campaign.objects.get(pk=batch.campaign_id)
        campaign.status = CampaignStatus.OPEN
        campaign.online_from = today - datetime.timedelta(days=7)
        campaign.online_until = today + datetime.timedelta(days=30)
        campaign.save(update_fields=["status", "online_from", "online_until"])
        issued = do_issue_access(campaign, organisation=org, actor=actor)
        lines = {
            line.register.meter.property_id: line
            for line in CampaignMeter.objects.filter(campaign=campaign).select_related(
                "campaign__organisation", "register__meter"
            )
        }
        value = PREVIOUS_VALUE + CONSUMPTION
        sample = check_value(lines[issued[0].property.pk], str(value), today)
        if sample.outcome.name != "OK" or sample.needs_confirmation:
            raise SystemExit(f"seeded value {value} is not plausible: {sample}")
    with tokens_file.open("w", encoding="ascii") as out:
        for access in issued:
            line = lines[access.property.pk]
            out.write(f"{access.token} {line.register.meter_id} {line.register_id} {value}\n")
    return {
        "properties": len(issued),
        "meters": len(lines),
        "date": today.isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def count() -> dict[str, object]:
    setup_django()
    from django_scopes import scopes_disabled

    from ablesung.core.models import Reading, ReadingSource

    with scopes_disabled():
        online = Reading.objects.filter(source=ReadingSource.ONLINE)
        return {
            "readings": online.count(),
            "registers": online.values("register_id").distinct().count(),
        }


if __name__ == "__main__":
    command = sys.argv[1]
    print(json.dumps(seed(int(sys.argv[2]), Path(sys.argv[3])) if command == "seed" else count()))
