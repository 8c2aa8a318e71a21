"""Error pages: a 500 shows an error id for support, never a trace."""

import logging
import secrets
from collections.abc import Callable

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from ablesung.lib.log_redact import redact

logger = logging.getLogger("ablesung.errors")


class ErrorIdMiddleware:
    """Gives every unhandled exception an id, logged with the trace and shown to the user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(
            exception,
            (Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError),
        ):
            return  # Django answers these with 4xx; they are not crashes
        error_id = secrets.token_hex(6)
        request.error_id = error_id  # type: ignore[attr-defined]
        # the path of a personal link holds its token: never logged (SECURITY.md)
        logger.error("unhandled error %s on %s", error_id, redact(request.path), exc_info=exception)


def server_error(request: HttpRequest) -> HttpResponse:
    error_id = getattr(request, "error_id", None) or secrets.token_hex(6)
    return render(request, "errors/500.html", {"error_id": error_id}, status=500)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "errors/csrf.html", status=403)
