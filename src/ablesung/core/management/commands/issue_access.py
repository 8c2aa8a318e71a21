"""``ablesung issue_access``: new links and access codes for a campaign, as CSV for a print service.

The codes exist only in this file (the database keeps hashes); the file is
created with mode 0600 and never overwritten. Issuing again revokes the codes
and links of the previous run.
"""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from ablesung.core.models import Campaign, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import IssuedAccess, do_issue_access
from ablesung.core.services.actor import Actor
from ablesung.lib.safe_csv import csv_lines

HEADER = ("Objektnummer", "Kassenzeichen", "Name", "Zugangscode", "Link")


def personal_link(token: str) -> str:
    return settings.BASE_URL + reverse("portal:token_link", kwargs={"token": token})


def rows(issued: list[IssuedAccess]) -> list[tuple[str, ...]]:
    return [
        (
            access.property.object_number,
            access.property.customer_number,
            access.property.owner_display,
            access.code,
            personal_link(access.token),
        )
        for access in sorted(issued, key=lambda a: a.property.object_number)
    ]


class Command(BaseCommand):
    help = (
        "Gibt für alle Objekte einer Ableseaktion neue Zugangscodes und Links aus "
        "(die bisherigen werden ungültig) und schreibt sie als CSV für den Druckdienst."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="Kurzname der Organisation")
        parser.add_argument("--campaign", required=True, help="Name der Ableseaktion")
        parser.add_argument("--out", required=True, type=Path, help="neue CSV-Datei")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"Organisation „{options['organisation']}“ gibt es nicht.")
        with organisation_scope(organisation):
            campaign = Campaign.objects.filter(name=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"Ableseaktion „{options['campaign']}“ gibt es nicht.")
        try:
            # O_EXCL: refuses an existing file (and a symlink planted in its place)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"{out} gibt es schon; die Datei wird nicht überschrieben.") from exc
        except OSError as exc:
            raise CommandError(f"{out} kann nicht angelegt werden: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
                issued = do_issue_access(
                    campaign,
                    organisation=organisation,
                    actor=Actor.system("command issue_access"),
                )
                for line in csv_lines([HEADER, *rows(issued)]):
                    handle.write(line)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        self.stdout.write(
            f"{len(issued)} Zugänge für „{campaign.name}“ ausgegeben und nach {out} geschrieben. "
            "Frühere Zugangscodes und Links dieser Ableseaktion sind ungültig."
        )
