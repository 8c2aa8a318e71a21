"""The one registry of audit action codes and their German texts.

Every audit entry's ``action`` is a namespaced code registered here (``record`` refuses any
other), and the audit log page, the property page and the CSV export describe an entry by
this text. A new write path adds its code here, in the same change.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class UnknownAction(ValueError):
    """An audit entry with an action code that is not in :data:`ACTIONS`."""


ACTIONS: dict[str, Promise] = {
    # staff accounts and login
    "auth.login": _("Angemeldet"),
    "auth.login_failed": _("Anmeldung fehlgeschlagen"),
    "auth.login_blocked": _("Anmeldung wegen zu vieler Fehlversuche gesperrt"),
    "auth.logout": _("Abgemeldet"),
    "auth.second_factor_failed": _("Zweiter Faktor falsch"),
    "auth.recovery_code_used": _("Mit Wiederherstellungscode angemeldet"),
    "auth.two_factor_enabled": _("Zwei-Faktor-Anmeldung eingerichtet"),
    "auth.recovery_codes_renewed": _("Neue Wiederherstellungscodes erzeugt"),
    "auth.password_changed": _("Passwort geändert"),
    "auth.password_reset_requested": _("Passwort-Zurücksetzen angefordert"),
    "auth.password_reset": _("Passwort über E-Mail-Link neu gesetzt"),
    "user.created": _("Benutzerkonto angelegt"),
    "membership.created": _("Mitglied aufgenommen"),
    "membership.role_changed": _("Rolle geändert"),
    "membership.deactivated": _("Mitglied deaktiviert"),
    "membership.reactivated": _("Mitglied wieder aktiviert"),
    "invitation.sent": _("Einladung verschickt"),
    "invitation.accepted": _("Einladung angenommen"),
    "invitation.revoked": _("Einladung zurückgezogen"),
    "organisation.created": _("Organisation angelegt"),
    "organisation.two_factor_changed": _("Pflicht zur Zwei-Faktor-Anmeldung geändert"),
    "organisation.branding_updated": _("Portal und Erscheinungsbild geändert"),
    "organisation.export_settings_changed": _("Versand der Exporte geändert"),
    # settings
    "settings.thresholds_updated": _("Plausibilitätsgrenzen geändert"),
    "settings.thresholds_reset": _("Plausibilitätsgrenzen zurückgesetzt"),
    "settings.consumption_profile_imported": _("Verbrauchsprofil importiert"),
    "settings.consumption_profile_removed": _("Verbrauchsprofil entfernt"),
    # campaigns, imports, letters
    "campaign.created": _("Ableseaktion angelegt"),
    "campaign.opened": _("Ableseaktion geöffnet"),
    "campaign.closed": _("Ableseaktion geschlossen"),
    "campaign.window_changed": _("Erfassungszeitraum geändert"),
    "campaign.estimated": _("Schätzung berechnet"),
    "campaign.deleted": _("Ableseaktion in den Papierkorb gelegt"),
    "campaign.restored": _("Ableseaktion wiederhergestellt"),
    "campaign.exported": _("Ableseaktion abgeschlossen und exportiert"),
    "campaign.reopened": _("Exportierte Ableseaktion wieder geöffnet"),
    "export.sent": _("Export erneut per E-Mail gesendet"),
    "export.retried": _("Fehlgeschlagener Export erneut gestartet"),
    # reading letters
    "letters.requested": _("Ablesebriefe angefordert"),
    "letters.generated": _("Ablesebriefe erstellt (neue Zugangscodes und Links)"),
    # invitation and reminder mails
    "invitations.requested": _("Einladungen per E-Mail angefordert"),
    "invitations.queued": _("Einladungen per E-Mail in den Postausgang gelegt (neue Links)"),
    "invitations.resent": _("Fehlgeschlagene E-Mails mit neuen Links erneut gesendet"),
    "reminders.requested": _("Erinnerungen per E-Mail angefordert"),
    "reminders.queued": _("Erinnerungen per E-Mail in den Postausgang gelegt (neue Links)"),
    "reminders.setting_changed": _("Automatische Erinnerung geändert"),
    "letters.text_saved": _("Text für Briefe oder E-Mails geändert"),
    "letters.text_reset": _("Text für Briefe oder E-Mails auf den Standard zurückgesetzt"),
    "letters.retried": _("Ablesebriefe: fehlgeschlagener Lauf wird fortgesetzt"),
    "import.uploaded": _("Zählerliste hochgeladen"),
    "import.started": _("Import gestartet"),
    "import.succeeded": _("Import abgeschlossen"),
    "import.rejected": _("Import abgelehnt (fehlerhafte Zeilen)"),
    "import.failed": _("Import fehlgeschlagen"),
    "import_profile.created": _("Importprofil angelegt"),
    "import_profile.updated": _("Importprofil geändert"),
    "access.issued": _("Zugangscodes und Links ausgegeben"),
    # properties, meters, readings
    "property.updated": _("Objekt durch Import geändert"),
    "property.deleted": _("Objekt in den Papierkorb gelegt"),
    "property.restored": _("Objekt wiederhergestellt"),
    "meter.updated": _("Zähler durch Import geändert"),
    "meter.deleted": _("Zähler in den Papierkorb gelegt"),
    "meter.restored": _("Zähler wiederhergestellt"),
    "reading.submitted": _("Zählerstand erfasst"),
    "reading.corrected": _("Zählerstand ersetzt (neue Version)"),
    "reading.undone": _("Erfassung rückgängig gemacht (neue Version)"),
    "reading.estimated": _("Zählerstand geschätzt"),
    "reading.reviewed": _("Zählerstand geprüft"),
    "reading.released": _("Zählerstand freigegeben"),
    "reading.deleted": _("Zählerstand in den Papierkorb gelegt"),
    "reading.restored": _("Zählerstand wiederhergestellt"),
    "reading.confirmation_requested": _("Bestätigung per E-Mail angefordert"),
    "release_run.completed": _("Freigabelauf abgeschlossen"),
    "campaign_meter.control_requested": _("Kontrollablesung angefordert"),
    "campaign_meter.control_cleared": _("Kontrollablesung zurückgenommen"),
    "citizen_message.received": _("Nachricht an die Verwaltung eingegangen"),
    "citizen_message.updated": _("Nachricht bearbeitet"),
    "trash.purged": _("Papierkorb endgültig geleert"),
}


def check(action: str) -> str:
    """The code itself if it is registered; raises :class:`UnknownAction` else."""
    if action not in ACTIONS:
        raise UnknownAction(f"audit action {action!r} is not registered in core/audit_actions.py")
    return action


def describe(action: str) -> str:
    """The German text of a code (the code itself for entries of codes since retired)."""
    text = ACTIONS.get(action)
    return str(text) if text is not None else action
