"""A request body limit on every endpoint, checked before anything reads the body.

``RequestBodyLimitMiddleware`` resolves the URL, compares the declared ``Content-Length``
with its view's limit and answers 413 with a German page. No middleware reads the body in
its ``__call__``; ``CsrfViewMiddleware`` reads POST data in ``process_view``, which Django
runs after every middleware's ``__call__``. It stands before the organisation scope (whose
redirect and 404 would answer first) and after the ones that add headers and cookies to
every answer. The limit is ``REQUEST_BODY_MAX_BYTES`` (small: forms of text) unless
the view is marked with :func:`body_limit` (uploads: their documented size plus multipart
overhead) and the request comes from someone who may upload there (a signed-in staff
member, or a citizen with a portal session); a URL that resolves to nothing and an
anonymous client get the small limit.

A body without ``Content-Length`` (``Transfer-Encoding: chunked``) cannot be checked
before it is read, so it is refused as well. (Django would not read it anyway — its
request stream stops at the declared length, 0 — but the refusal makes that explicit.)
Browsers always declare the length of a form.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

V = TypeVar("V", bound=Callable[..., Any])

LIMIT_ATTRIBUTE = "request_body_limit"
MESSAGE_ATTRIBUTE = "request_body_limit_message"
ALLOWED_ATTRIBUTE = "request_body_limit_allowed"
#: room for an upload form's other fields and the multipart boundaries and headers; a file
#: a little over its limit still reaches the form, whose message names the limit
MULTIPART_OVERHEAD = 1024 * 1024
DEFAULT_MESSAGE = _("Die gesendeten Daten sind zu groß. Es wurde nichts gespeichert.")


def signed_in(request: HttpRequest) -> bool:
    """A staff member's session (``AuthenticationMiddleware`` runs before the limit)."""
    return bool(request.user.is_authenticated)


def body_limit(
    max_bytes: int,
    message: str | Promise = DEFAULT_MESSAGE,
    *,
    allowed: Callable[[HttpRequest], bool] = signed_in,
) -> Callable[[V], V]:
    """Allows request bodies up to ``max_bytes`` for this view to clients for whom
    ``allowed(request)`` holds (without a database query; others get the small limit);
    ``message`` on the 413 page.

    Put it outermost (above the other decorators) so that the URL configuration's view
    carries it.
    """

    def mark(view: V) -> V:
        setattr(view, LIMIT_ATTRIBUTE, max_bytes)
        setattr(view, MESSAGE_ATTRIBUTE, message)
        setattr(view, ALLOWED_ATTRIBUTE, allowed)
        return view

    return mark


def declared_length(request: HttpRequest) -> int | None:
    """The body's declared length; ``None`` when it has a body of unknown length."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw.strip():
        return None if request.META.get("HTTP_TRANSFER_ENCODING") else 0
    try:
        length = int(raw)
    except ValueError:
        return None
    return length if length >= 0 else None


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            view: Callable[..., Any] | None = resolve(request.path_info).func
        except Resolver404:
            view = None
        limit: int = settings.REQUEST_BODY_MAX_BYTES
        length = declared_length(request)
        allowed = getattr(view, ALLOWED_ATTRIBUTE, None)
        if allowed is not None and (length is None or length > limit) and allowed(request):
            limit = getattr(view, LIMIT_ATTRIBUTE)
        if length is not None and length <= limit:
            return self.get_response(request)
        message = getattr(view, MESSAGE_ATTRIBUTE, DEFAULT_MESSAGE)
        return render(request, "errors/413.html", {"message": message}, status=413)
