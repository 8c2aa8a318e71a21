"""Clerk pages under /o/<org>/. Object ids are named ``<kind>_id`` (the isolation test relies on it)."""

from django.urls import path

from ablesung.backend import views

app_name = "backend"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("ableseaktionen/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("zaehler/", views.meter_list, name="meter_list"),
    path("papierkorb/", views.trash, name="trash"),
    path("loeschen/<str:kind>/<int:object_id>/", views.delete_record, name="delete"),
    path(
        "papierkorb/<str:kind>/<int:object_id>/wiederherstellen/",
        views.restore_record,
        name="restore",
    ),
]
