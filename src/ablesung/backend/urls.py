"""Clerk pages under /o/<org>/. Object ids are named ``<kind>_id`` (the isolation test relies on it)."""

from django.urls import path

from ablesung.backend import (
    audit_views,
    campaign_dashboard,
    campaign_views,
    capture_views,
    estimate_views,
    export_views,
    imports,
    inbox,
    invitation_views,
    letter_views,
    property_views,
    release_views,
    review_views,
    search_views,
    text_views,
    user_views,
    views,
)
from ablesung.backend.branding_views import branding_settings
from ablesung.backend.settings_views import (
    campaign_plausibility,
    organisation_plausibility,
    plausibility_example,
)

app_name = "backend"

urlpatterns = [
    path("", campaign_dashboard.dashboard, name="dashboard"),
    path(
        "ableseaktionen/<int:campaign_id>/",
        campaign_dashboard.campaign_detail,
        name="campaign_detail",
    ),
    path(
        "einstellungen/plausibilitaet/",
        organisation_plausibility,
        name="plausibility_settings",
    ),
    path(
        "einstellungen/plausibilitaet/beispiel/",
        plausibility_example,
        name="plausibility_example",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/plausibilitaet/",
        campaign_plausibility,
        name="campaign_plausibility",
    ),
    path("import/", imports.upload, name="import_upload"),
    path("importe/<int:import_batch_id>/", imports.batch_detail, name="import_batch"),
    path("importe/<int:import_batch_id>/zuordnung/", imports.mapping, name="import_mapping"),
    path(
        "importe/<int:import_batch_id>/fehler.csv",
        imports.batch_errors_csv,
        name="import_errors_csv",
    ),
    path("papierkorb/", views.trash, name="trash"),
    path("loeschen/<str:kind>/<int:object_id>/", views.delete_record, name="delete"),
    path(
        "papierkorb/<str:kind>/<int:object_id>/wiederherstellen/",
        views.restore_record,
        name="restore",
    ),
    path("einstellungen/portal/", branding_settings, name="branding_settings"),
    path("einstellungen/texte/", text_views.organisation_texts, name="texts"),
    path(
        "einstellungen/texte/vorschau.pdf",
        text_views.organisation_texts_pdf,
        name="texts_preview_pdf",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/briefe/texte/",
        text_views.campaign_texts,
        name="campaign_texts",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/briefe/texte/vorschau.pdf",
        text_views.campaign_texts_pdf,
        name="campaign_texts_preview_pdf",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/oeffnen/",
        campaign_views.open_campaign,
        name="campaign_open",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/schliessen/",
        campaign_views.close_campaign,
        name="campaign_close",
    ),
    path("nachrichten/", inbox.inbox, name="inbox"),
]

# capture (Erfassung): keyboard-only screen for reply cards, phone calls and visits
urlpatterns += [
    path(
        "ableseaktionen/<int:campaign_id>/erfassung/",
        capture_views.capture,
        name="capture",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/erfassung/pruefen/",
        capture_views.capture_check,
        name="capture_check",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/erfassung/<int:reading_id>/rueckgaengig/",
        capture_views.capture_undo,
        name="capture_undo",
    ),
]

# campaign dashboard actions, estimates (Schätzung), inbox (Nachrichten)
urlpatterns += [
    path(
        "ableseaktionen/<int:campaign_id>/zeitraum/",
        campaign_views.update_window,
        name="campaign_window",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/schaetzung/",
        estimate_views.estimates,
        name="estimates",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/schaetzung/<int:campaign_meter_id>/",
        estimate_views.estimate_line,
        name="estimate_line",
    ),
    path("nachrichten/bearbeiten/", inbox.update_message, name="inbox_update"),
]

# finding things: the meter and property list, the property page, staff-only photos
urlpatterns += [
    path("zaehler/", search_views.meter_list, name="meter_list"),
    path("objekte/<int:property_id>/", property_views.property_detail, name="property_detail"),
    path(
        "zaehlerstaende/<int:reading_id>/foto/",
        property_views.reading_photo,
        name="reading_photo",
    ),
]

# review (Prüfung) and release (Freigabe): the queue, one reading, release runs and their logs
urlpatterns += [
    path(
        "ableseaktionen/<int:campaign_id>/pruefung/",
        review_views.review_queue_page,
        name="review_queue",
    ),
    path(
        "zaehlerstaende/<int:reading_id>/pruefung/",
        review_views.review_item_page,
        name="review_item",
    ),
    path(
        "zaehlerstaende/<int:reading_id>/pruefung/annehmen/",
        review_views.review_accept,
        name="review_accept",
    ),
    path(
        "zaehlerstaende/<int:reading_id>/pruefung/korrigieren/",
        review_views.review_correct,
        name="review_correct",
    ),
    path(
        "zaehlerstaende/<int:reading_id>/freigeben/",
        release_views.reading_release,
        name="reading_release",
    ),
    path(
        "ableseaktionen/zaehler/<int:campaign_meter_id>/kontrollablesung/anfordern/",
        review_views.review_control_request,
        name="review_control_request",
    ),
    path(
        "ableseaktionen/zaehler/<int:campaign_meter_id>/kontrollablesung/aufheben/",
        review_views.review_control_clear,
        name="review_control_clear",
    ),
    path("ableseaktionen/<int:campaign_id>/freigabe/", release_views.release, name="release"),
    path(
        "ableseaktionen/<int:campaign_id>/freigabe/starten/",
        release_views.release_start,
        name="release_start",
    ),
    path("ableseaktionen/<int:campaign_id>/export/", export_views.export_page, name="export"),
    path(
        "ableseaktionen/<int:campaign_id>/export/starten/",
        export_views.export_campaign,
        name="export_start",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/export/wieder-oeffnen/",
        export_views.reopen_exported,
        name="export_reopen",
    ),
    path("ableseaktionen/<int:campaign_id>/briefe/", letter_views.letters_page, name="letters"),
    path(
        "ableseaktionen/<int:campaign_id>/briefe/erstellen/",
        letter_views.letters_start,
        name="letters_start",
    ),
    path("briefe/<int:letter_batch_id>/", letter_views.letter_batch, name="letter_batch"),
    path(
        "briefe/<int:letter_batch_id>/fortsetzen/",
        letter_views.letter_batch_retry,
        name="letter_batch_retry",
    ),
    path(
        "briefe/<int:letter_batch_id>/pdf/", letter_views.letter_batch_pdf, name="letter_batch_pdf"
    ),
    path(
        "ableseaktionen/<int:campaign_id>/portal-bereit/",
        invitation_views.readiness,
        name="portal_ready",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/portal-bereit/einladen/",
        invitation_views.invite,
        name="invite",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/erinnerungen/",
        invitation_views.reminders,
        name="reminders",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/erinnerungen/einstellung/",
        invitation_views.reminder_setting,
        name="reminder_setting",
    ),
    path(
        "ableseaktionen/<int:campaign_id>/erinnerungen/senden/",
        invitation_views.remind_now,
        name="remind_now",
    ),
    path(
        "email-laeufe/<int:invitation_run_id>/",
        invitation_views.invitation_run,
        name="invitation_run",
    ),
    path(
        "email-laeufe/<int:invitation_run_id>/erneut/",
        invitation_views.invitation_run_resend,
        name="invitation_run_resend",
    ),
    path("exporte/<int:export_run_id>/", export_views.export_run, name="export_run"),
    path(
        "exporte/<int:export_run_id>/rueckgabedatei/",
        export_views.download_return_file,
        name="export_return_file",
    ),
    path(
        "exporte/<int:export_run_id>/ergebnisse/",
        export_views.download_report,
        name="export_report",
    ),
    path("exporte/<int:export_run_id>/senden/", export_views.export_resend, name="export_resend"),
    path(
        "exporte/<int:export_run_id>/wiederholen/", export_views.export_retry, name="export_retry"
    ),
    path("einstellungen/export/", export_views.export_settings, name="export_settings"),
    path("freigaben/<int:release_run_id>/", release_views.release_run, name="release_run"),
    path(
        "freigaben/<int:release_run_id>/protokoll.csv",
        release_views.release_run_csv,
        name="release_run_csv",
    ),
]

# users (Benutzer) and the audit log (Protokoll)
urlpatterns += [
    path("benutzer/", user_views.users, name="users"),
    path("benutzer/einladen/", user_views.invite, name="user_invite"),
    path(
        "benutzer/zwei-faktor/",
        user_views.two_factor_requirement,
        name="two_factor_requirement",
    ),
    path("benutzer/<int:membership_id>/", user_views.member, name="user_detail"),
    path("benutzer/<int:membership_id>/rolle/", user_views.change_role, name="user_role"),
    path(
        "benutzer/<int:membership_id>/deaktivieren/",
        user_views.deactivate,
        name="user_deactivate",
    ),
    path(
        "benutzer/<int:membership_id>/aktivieren/",
        user_views.reactivate,
        name="user_reactivate",
    ),
    path(
        "einladungen/<int:invitation_id>/zurueckziehen/",
        user_views.revoke_invitation,
        name="invitation_revoke",
    ),
    path("protokoll/", audit_views.audit_log, name="audit_log"),
    path("protokoll.csv", audit_views.audit_log_csv, name="audit_log_csv"),
]
