from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ablesung.core.services.actor import Actor
from ablesung.core.services.organisation import do_create_organisation


class Command(BaseCommand):
    help = "Legt eine Organisation mit ihrer ersten Administratorin / ihrem ersten Admin an."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Kurzname in der Adresse, z. B. musterstadt")
        parser.add_argument("--name", required=True, help="Anzeigename, z. B. 'Stadt Musterstadt'")
        parser.add_argument("--admin-email", required=True, help="E-Mail-Adresse des Admins")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = do_create_organisation(
                options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                actor=Actor.system("command create_organisation"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        org = result.organisation
        verb = "angelegt" if result.created else "bereits vorhanden"
        self.stdout.write(f"Organisation {org.name} ({org.slug}) {verb}.")
        if result.password:
            self.stdout.write(f"Admin: {result.admin.email}  Passwort: {result.password}")
        else:
            self.stdout.write(
                f"Admin: {result.admin.email} (bestehendes Konto, Passwort unverändert)"
            )
