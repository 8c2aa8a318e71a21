"""``ablesung generate_letters``: reading letters for a campaign as one PDF.

Issues new access codes and links for the selected properties (their old letters stop
working) and writes the letters to ``--out`` (mode 0600, never overwritten). The PDF is
also kept with the campaign's letter batches for the backend.
"""

import os
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ablesung.core.models import Campaign, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.letters.models import LetterSelection
from ablesung.letters.pdf import FontMissing
from ablesung.letters.services import LettersRefused, do_generate_letters


class Command(BaseCommand):
    help = (
        "Erstellt die Ablesebriefe einer Ableseaktion als PDF (ein Brief je Objekt) mit neuen "
        "Zugangscodes und Links; die bisherigen dieser Objekte werden ungültig."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="Kurzname der Organisation")
        parser.add_argument("--campaign", required=True, help="Name der Ableseaktion")
        parser.add_argument(
            "--only-without-email",
            action="store_true",
            help="nur Objekte ohne E-Mail-Adresse",
        )
        parser.add_argument(
            "--reminder",
            action="store_true",
            help="Erinnerungsbriefe: nur Objekte ohne Zählerstand in der Ableseaktion und ohne "
            "E-Mail-Adresse",
        )
        parser.add_argument(
            "--objects", nargs="+", default=[], metavar="OBJEKTNUMMER", help="nur diese Objekte"
        )
        parser.add_argument(
            "--street",
            default="",
            metavar="STRASSE",
            help="nur Objekte in dieser Straße (mit --district nur in diesem Ort)",
        )
        parser.add_argument(
            "--district",
            default="",
            metavar="ORT",
            help="nur Objekte in diesem Ort oder Ortsteil (wie im Feld Ort der Zählerliste)",
        )
        parser.add_argument("--out", required=True, type=Path, help="neue PDF-Datei")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"Organisation „{options['organisation']}“ gibt es nicht.")
        with organisation_scope(organisation):
            campaign = Campaign.objects.filter(name=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"Ableseaktion „{options['campaign']}“ gibt es nicht.")
        street, district = options["street"].strip(), options["district"].strip()
        chosen = [
            name
            for name, given in (
                ("--only-without-email", options["only_without_email"]),
                ("--reminder", options["reminder"]),
                ("--objects", options["objects"]),
                ("--street", street),
                ("--district", district and not street),
            )
            if given
        ]
        if len(chosen) > 1:
            raise CommandError(
                "Bitte nur eine Auswahl angeben: --only-without-email, --reminder, --objects, "
                "--street (mit oder ohne --district) oder --district."
            )
        selection = LetterSelection.ALL
        if options["reminder"]:
            selection = LetterSelection.REMINDER
        elif options["only_without_email"]:
            selection = LetterSelection.WITHOUT_EMAIL
        elif options["objects"]:
            selection = LetterSelection.OBJECT_NUMBERS
        elif street:
            selection = LetterSelection.STREET
        elif district:
            selection = LetterSelection.DISTRICT
        try:
            # O_EXCL: refuses an existing file (and a symlink planted in its place)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"{out} gibt es schon; die Datei wird nicht überschrieben.") from exc
        except OSError as exc:
            raise CommandError(f"{out} kann nicht angelegt werden: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                batch = do_generate_letters(
                    campaign,
                    organisation=organisation,
                    selection=selection,
                    object_numbers=options["objects"],
                    street=street,
                    district=district,
                    actor=Actor.system("command generate_letters"),
                )
                with batch.pdf_file.open("rb") as stored:
                    shutil.copyfileobj(stored, handle)
        except (LettersRefused, FontMissing) as exc:
            out.unlink(missing_ok=True)
            raise CommandError(str(exc)) from exc
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        self.stdout.write(
            f"{batch.done} Ablesebriefe ({batch.pages} Seiten) für „{campaign.name}“ nach {out} "
            "geschrieben. Frühere Zugangscodes und Links dieser Objekte sind ungültig."
        )
