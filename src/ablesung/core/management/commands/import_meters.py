"""``ablesung import_meters``: the operator's way to import a meter list."""

import datetime
import sys
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ablesung.core.models import Campaign, ImportStatus, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import (
    ImportRefused,
    NewCampaign,
    available_profiles,
    describe_layout,
    import_meter_list_now,
)


class Command(BaseCommand):
    help = "Importiert eine Zählerliste (CSV/XLSX) in eine Ableseaktion – ganz oder gar nicht."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--organisation", required=True, help="Kurzname der Organisation")
        parser.add_argument("--campaign", required=True, help="Name der Ableseaktion")
        parser.add_argument(
            "--key-date",
            type=datetime.date.fromisoformat,
            help="Stichtag (YYYY-MM-DD); legt die Ableseaktion an, wenn es sie nicht gibt",
        )
        parser.add_argument("--profile", default="FINANZ+ (Standard)", help="Importprofil")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"Datei {path} nicht gefunden.")
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"Organisation „{options['organisation']}“ gibt es nicht.")
        profiles = available_profiles(organisation)
        profile = profiles.get(options["profile"])
        if profile is None:
            raise CommandError(
                f"Importprofil „{options['profile']}“ gibt es nicht. Vorhanden: "
                + ", ".join(f"„{name}“" for name in profiles)
            )
        actor = Actor.system("command import_meters")
        campaign = self._campaign(organisation, options["campaign"], options["key_date"])
        self.stdout.write(f"{path.name}: Import in „{campaign.name}“ läuft …")
        try:
            with path.open("rb") as handle:
                batch, detected = import_meter_list_now(
                    campaign,
                    File(handle, name=path.name),
                    original_name=path.name,
                    profile=profile,
                    organisation=organisation,
                    actor=actor,
                    on_progress=self._progress,
                )
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        if isinstance(campaign, NewCampaign):
            self.stdout.write(
                f"Ableseaktion „{campaign.name}“ (Stichtag {campaign.key_date:%d.%m.%Y}) angelegt."
            )
        self.stdout.write(f"Gelesen als: {describe_layout(detected)}")
        self.stderr.write("")
        self._summary(batch)
        if batch.status != ImportStatus.SUCCEEDED:
            sys.exit(1)

    def _campaign(
        self, organisation: Organisation, name: str, key_date: datetime.date | None
    ) -> Campaign | NewCampaign:
        with organisation_scope(organisation):
            existing: Campaign | None = Campaign.objects.filter(name=name).first()
            if existing is not None:
                return existing
            if key_date is None:
                raise CommandError(
                    f"Ableseaktion „{name}“ gibt es nicht. Mit --key-date YYYY-MM-DD wird sie angelegt."
                )
            return NewCampaign(name, key_date)

    def _progress(self, rows: int, total: int) -> None:
        if total:
            width = 30
            done = min(width, width * rows // total)
            bar = "#" * done + "-" * (width - done)
            self.stderr.write(f"\r[{bar}] {rows:,} / {total:,} Zeilen".replace(",", "."), ending="")
        else:
            self.stderr.write(f"\r{rows:,} Zeilen".replace(",", "."), ending="")
        self.stderr.flush()

    def _summary(self, batch: Any) -> None:
        counts = batch.counts
        self.stdout.write(f"Ergebnis: {batch.get_status_display()}")
        if batch.message:
            self.stdout.write(batch.message)
        if counts:
            self.stdout.write(
                f"  Zeilen gelesen: {counts['rows']}\n"
                f"  Objekte: {counts['properties_created']} neu, "
                f"{counts['properties_updated']} geändert, {counts['properties_unchanged']} unverändert\n"
                f"  Zähler: {counts['meters_created']} neu, "
                f"{counts['meters_updated']} geändert, {counts['meters_unchanged']} unverändert"
            )
        with organisation_scope(batch.organisation):
            for error in batch.row_errors.all()[:200]:
                self.stdout.write(f"  {error.message}")
            if batch.error_count > 200:
                self.stdout.write(f"  … und {batch.error_count - 200} weitere abgelehnte Zeilen")
