from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from ablesung.core.views import health

admin.site.site_header = "Ablesung – Betreiberverwaltung"
admin.site.site_title = "Ablesung"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("health/", health, name="health"),
    path("", include("ablesung.accounts.urls")),
    path("o/<slug:org>/", include("ablesung.backend.urls")),
    path("", include("ablesung.portal.urls")),
]

handler400 = "ablesung.core.errors.bad_request"
handler403 = "ablesung.core.errors.permission_denied"
handler404 = "ablesung.core.errors.not_found"
handler500 = "ablesung.core.errors.server_error"
