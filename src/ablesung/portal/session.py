"""The portal session: which property in which campaign this browser may see.

It lives in a signed cookie, not in a database row: the link or code that opens it sets
the cookie, and every portal page checks its signature and age and then, as before, that
its access still holds (``access.load_access``: one query; revoking the grant ends the
session at once). A citizen's visit thus writes no session row and reads none, which
spares the database three statements per visit (measured in ``make bench``).

The cookie holds ids only (organisation, campaign, property, grant) and a random part,
so that each opening gives a new value. It is ``HttpOnly``, ``Secure`` and
``SameSite=Lax`` like the session cookie, lives as long (``SESSION_COOKIE_AGE``), and
nobody can make one without ``SECRET_KEY``. What the finish pages keep (the e-mail
address, the last submission) stays in Django's session, which exists only once they
write to it; opening a new portal session drops it.
"""

import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

from ablesung.core.services.access import PortalAccess, load_access

SALT = "ablesung.portal.session"
NONCE_KEY = "n"


def _set(response: HttpResponseBase, access: PortalAccess) -> None:
    data: dict[str, Any] = {**access.as_session(), NONCE_KEY: secrets.token_urlsafe(9)}
    response.set_cookie(
        settings.PORTAL_COOKIE_NAME,
        signing.dumps(data, salt=SALT),
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def open_session(request: HttpRequest, response: HttpResponseBase, access: PortalAccess) -> None:
    """A new portal session for ``access``; whatever the browser's session held is dropped."""
    request.session.flush()
    _set(response, access)


def switch_property(response: HttpResponseBase, access: PortalAccess) -> None:
    """The same session, now for another property (its e-mail address and submission stay)."""
    _set(response, access)


def forget(request: HttpRequest, response: HttpResponseBase) -> None:
    """Removes a portal cookie that no longer opens anything."""
    if settings.PORTAL_COOKIE_NAME in request.COOKIES:
        response.delete_cookie(settings.PORTAL_COOKIE_NAME, samesite="Lax")


def _signed_data(request: HttpRequest) -> Any:
    """The portal cookie's content if its signature holds and it is not too old, else None."""
    value = request.COOKIES.get(settings.PORTAL_COOKIE_NAME)
    if not value:
        return None
    try:
        return signing.loads(value, salt=SALT, max_age=settings.SESSION_COOKIE_AGE)
    except signing.BadSignature:  # forged, changed or expired (SignatureExpired)
        return None


def has_portal_cookie(request: HttpRequest) -> bool:
    """Whether the browser holds a genuine portal cookie (signature and age only, no query):
    who may send a photo-sized body to the portal."""
    return _signed_data(request) is not None


def current_access(request: HttpRequest) -> PortalAccess | None:
    """The access of this browser's portal session, if it is genuine, not older than
    ``SESSION_COOKIE_AGE`` and still opens the portal."""
    data = _signed_data(request)
    return None if data is None else load_access(data)
