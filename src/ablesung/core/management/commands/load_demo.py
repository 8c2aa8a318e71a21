from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ablesung.core.services.actor import Actor
from ablesung.core.services.demo import do_create_demo

DEFAULT_SAMPLE = settings.REPO_DIR.parent / "shared" / "samples" / "musterstadt-2026.csv"


class Command(BaseCommand):
    help = "Legt einmalig die Demo-Organisation Stadt Musterstadt mit Ableseaktion an."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=DEFAULT_SAMPLE, help="Zählerliste (CSV)")

    def handle(self, *args: Any, **options: Any) -> None:
        sample: Path = options["file"]
        if not sample.is_file():
            self.stderr.write(f"Zählerliste {sample} nicht gefunden – Demo ohne Zähler.")
        result = do_create_demo(sample, actor=Actor.system("command load_demo"))
        org = result.created.organisation
        campaign = result.campaign.name if result.campaign else "–"
        self.stdout.write(f"Demo: {org.name} ({org.slug}), Ableseaktion „{campaign}“")
        if result.meters_loaded:
            self.stdout.write(f"  {result.meters_loaded} Zähler aus {sample.name} importiert")
        if result.message:
            self.stderr.write(f"  Import: {result.message}")
        if result.access is not None:
            link = f"{settings.BASE_URL}/r/{result.access.token}"
            self.stdout.write(
                f"  Portal zum Ausprobieren ({result.access.property.address}): {link}\n"
                f"  oder {settings.BASE_URL}/zugang/ mit Zugangscode {result.access.code}"
            )
        admin = result.created.admin.email
        if result.created.password:
            self.stdout.write(
                self.style.SUCCESS(f"  Anmeldung: {admin} / {result.created.password}")
            )
        else:
            self.stdout.write(
                f"  Anmeldung: {admin} (Passwort wurde beim ersten Start ausgegeben; "
                f"neu setzen mit: ablesung changepassword {admin})"
            )
