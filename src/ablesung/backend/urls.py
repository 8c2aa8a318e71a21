"""Clerk pages under /o/<org>/. Object ids are named ``<kind>_id`` (the isolation test relies on it)."""

from django.urls import path

from ablesung.backend import imports, inbox, views
from ablesung.backend.branding_views import branding_settings
from ablesung.backend.campaign_views import close_campaign, open_campaign
from ablesung.backend.settings_views import (
    campaign_plausibility,
    organisation_plausibility,
    plausibility_example,
)

app_name = "backend"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("ableseaktionen/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("zaehler/", views.meter_list, name="meter_list"),
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
]

urlpatterns += [
    path("einstellungen/portal/", branding_settings, name="branding_settings"),
    path("ableseaktionen/<int:campaign_id>/oeffnen/", open_campaign, name="campaign_open"),
    path("ableseaktionen/<int:campaign_id>/schliessen/", close_campaign, name="campaign_close"),
]

urlpatterns += [
    path("nachrichten/", inbox.inbox, name="inbox"),
]
