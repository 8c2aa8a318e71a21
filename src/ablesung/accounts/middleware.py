"""Staff sessions: 30 minutes without a request end them, and so do 10 hours since login.
A user who must set up two-factor login is led to its setup before anything else."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

LAST_SEEN_KEY = "_last_seen"
LOGIN_AT_KEY = "_login_at"
#: session key set at login: the user must set up two-factor login first
SETUP_REQUIRED_KEY = "_2fa_setup_required"


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = int(request.session.get(LAST_SEEN_KEY, now))
            login_at = int(request.session.setdefault(LOGIN_AT_KEY, now))
            if (
                now - last_seen > settings.SESSION_IDLE_TIMEOUT
                or now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT
            ):
                logout(request)
            else:
                request.session[LAST_SEEN_KEY] = now
        elif SESSION_KEY in request.session:
            # the account can no longer sign in (deactivated, no active membership): the
            # session ends here rather than lingering until it expires
            request.session.flush()
        return self.get_response(request)


class TwoFactorSetupMiddleware:
    """Sends a user whose login asked for two-factor setup to the setup page, and nowhere else."""

    ALLOWED_PREFIXES = ("/static/", "/i18n/", "/health/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and request.session.get(SETUP_REQUIRED_KEY):
            allowed = {reverse("accounts:two_factor_setup"), reverse("accounts:logout")}
            if request.path not in allowed and not request.path.startswith(self.ALLOWED_PREFIXES):
                return redirect("accounts:two_factor_setup")
        return self.get_response(request)
