from django.urls import path

from ablesung.portal import access_views, finish_views, message_views, reading_views, views

app_name = "portal"

urlpatterns = [
    # the printed link has no trailing slash (shorter QR code); both forms work
    path("r/<str:token>", access_views.token_link, name="token_link"),
    path("r/<str:token>/", access_views.token_link),
    path("zugang/", access_views.access_form, name="access"),
    path("zugang/<slug:slug>/", access_views.organisation_access_form, name="organisation_access"),
    path("portal/", reading_views.home, name="home"),
    path("portal/zaehler/<int:meter_id>/", reading_views.meter_form, name="meter"),
    path(
        "portal/zaehler/<int:meter_id>/pruefen/<int:register_id>/",
        reading_views.meter_check,
        name="meter_check",
    ),
    path("portal/objekt/<int:property_id>/", reading_views.switch, name="switch"),
    path("portal/abschluss/", finish_views.finish, name="finish"),
    path("portal/bestaetigung/", finish_views.confirmation, name="confirmation"),
    path("portal/nachricht/", message_views.message, name="message"),
    path("hilfe/ablesen/", views.how_to_read, name="how_to_read"),
    path("logo/<slug:slug>.jpg", views.logo, name="logo"),
    path("impressum/", views.legal_page, {"page": "imprint"}, name="imprint"),
    path("datenschutz/", views.legal_page, {"page": "privacy"}, name="privacy"),
    path("barrierefreiheit/", views.legal_page, {"page": "accessibility"}, name="accessibility"),
]
