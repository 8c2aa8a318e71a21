"""The project's URLs plus one view that crashes (for the 500 page tests)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ablesung.urls import handler400, handler403, handler404
from ablesung.urls import urlpatterns as project_urlpatterns

BOOM_MESSAGE = "geheimer-Absturz-Text-4711"


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(BOOM_MESSAGE)


urlpatterns = [path("boom/", boom, name="boom"), *project_urlpatterns]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
handler500 = "ablesung.core.errors.server_error"
