"""``ablesung close_campaign``: close and export a campaign from the command line."""

from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models.fields.files import FieldFile

from ablesung.core.models import Campaign, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.exports.models import ExportRun, ExportStatus
from ablesung.exports.services import (
    ExportRefused,
    build_run,
    describe_counts,
    do_export_campaign,
)


class Command(BaseCommand):
    help = (
        "Schließt eine Ableseaktion ab und exportiert sie: Rückgabedatei im Aufbau der "
        "importierten Datei und Ergebnisse als Excel, per E-Mail an die Export-Empfänger:innen."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="Kurzname der Organisation")
        parser.add_argument("--campaign", required=True, help="Name der Ableseaktion")
        parser.add_argument(
            "--estimate-missing",
            action="store_true",
            help="fehlende Zählerstände vorher schätzen",
        )
        parser.add_argument(
            "--out", type=Path, help="Verzeichnis, in das die Dateien kopiert werden"
        )
        parser.add_argument(
            "--no-mail", action="store_true", help="keine E-Mail senden (nur die Dateien erstellen)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path | None = options["out"]
        if out is not None and not out.is_dir():
            raise CommandError(f"Das Verzeichnis {out} gibt es nicht.")
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"Organisation „{options['organisation']}“ gibt es nicht.")
        with organisation_scope(organisation):
            campaign = Campaign.objects.filter(name=options["campaign"]).first()
        if campaign is None:
            raise CommandError(
                f"Ableseaktion „{options['campaign']}“ gibt es bei „{organisation.slug}“ nicht."
            )
        campaign.organisation = organisation
        try:
            run = do_export_campaign(
                campaign,
                estimate_missing=options["estimate_missing"],
                send_mail=not options["no_mail"],
                actor=Actor.system("command close_campaign"),
                enqueue=False,
            )
        except ExportRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Ableseaktion „{campaign.name}“ abgeschlossen; Export, Lauf {run.number} …"
        )
        build_run(run.pk)
        with organisation_scope(organisation):
            run = ExportRun.objects.get(pk=run.pk)
        if run.status != ExportStatus.SUCCEEDED:
            raise CommandError(
                f"Der Export ist fehlgeschlagen: {run.message} Die Ableseaktion ist als exportiert "
                "markiert; der Lauf kann in der Verwaltung erneut erstellt werden."
            )
        for label, file, name, digest in (
            ("Rückgabedatei", run.return_file, run.return_name, run.return_sha256),
            ("Ergebnisse", run.report_file, run.report_name, run.report_sha256),
        ):
            self.stdout.write(f"{label}: {self._place(file, name, out)}  (SHA-256 {digest})")
        self.stdout.write("Übernahmestatistik:")
        for line in describe_counts(run.counts):
            self.stdout.write(f"  {line}")
        if run.send_mail:
            self.stdout.write(
                "E-Mail: " + ("in den Postausgang gelegt" if run.sends else "keine Empfänger:innen")
            )

    def _place(self, file: FieldFile, name: str, out: Path | None) -> str:
        if out is None:
            try:
                return default_storage.path(file.name or "")
            except NotImplementedError:  # a remote storage: its name
                return file.name or ""
        target = out / name
        with file.open("rb") as source, target.open("wb") as copy:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                copy.write(chunk)
        return str(target)
