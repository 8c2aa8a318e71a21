"""The portal session: which property in which campaign this browser may see."""

from django.http import HttpRequest

from ablesung.core.services.access import PortalAccess, load_access

SESSION_KEY = "portal_access"


def open_session(request: HttpRequest, access: PortalAccess) -> None:
    """A new session id for a new access; anything from before is dropped."""
    request.session.flush()
    request.session[SESSION_KEY] = access.as_session()


def switch_property(request: HttpRequest, access: PortalAccess) -> None:
    request.session[SESSION_KEY] = access.as_session()


def current_access(request: HttpRequest) -> PortalAccess | None:
    access = load_access(request.session.get(SESSION_KEY))
    if access is None:
        request.session.pop(SESSION_KEY, None)
    return access
