from django.urls import path

from ablesung.portal import views

app_name = "portal"

urlpatterns = [
    path("impressum/", views.legal_page, {"page": "imprint"}, name="imprint"),
    path("datenschutz/", views.legal_page, {"page": "privacy"}, name="privacy"),
    path("barrierefreiheit/", views.legal_page, {"page": "accessibility"}, name="accessibility"),
]
