from django.urls import path

from ablesung.portal import access_views, views

app_name = "portal"

urlpatterns = [
    # the printed link has no trailing slash (shorter QR code); both forms work
    path("r/<str:token>", access_views.token_link, name="token_link"),
    path("r/<str:token>/", access_views.token_link),
    path("zugang/", access_views.access_form, name="access"),
    path("portal/", access_views.home, name="home"),
    path("impressum/", views.legal_page, {"page": "imprint"}, name="imprint"),
    path("datenschutz/", views.legal_page, {"page": "privacy"}, name="privacy"),
    path("barrierefreiheit/", views.legal_page, {"page": "accessibility"}, name="accessibility"),
]
