"""Staff sessions end after 30 minutes without a request (absolute limit: 10 hours)."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LAST_SEEN_KEY = "_last_seen"


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY, now)
            if now - int(last_seen) > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
            else:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
