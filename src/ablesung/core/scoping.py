"""Organisation scope: who may see which tenant, and with which permissions.

Two lines of defence: every tenant model has a scoped manager (a query outside
an organisation scope raises), and this middleware answers 404 to anyone who is
not a member of the organisation named in the URL.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django_scopes import scope, scopes_disabled

from ablesung.core.models import Membership, Organisation, Role

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({"view"}),
    Role.CLERK: frozenset(
        {
            "view",
            "capture",
            "review",
            "release",
            "estimate",
            "export",
            "delete",
            "restore",
            "import",
            "manage_campaigns",
            "letters",  # reading letters: new access codes, and the PDF that holds them
        }
    ),
    Role.ADMIN: frozenset(
        {
            "view",
            "capture",
            "review",
            "release",
            "estimate",
            "export",
            "delete",
            "restore",
            "import",
            "manage_campaigns",
            "letters",
            "delete_campaign",  # destructive campaign actions are for admins
            "reopen_export",  # an exported campaign is reopened only by an admin
            "export_all_current",  # exporting readings that were not released
            "manage_settings",
            "manage_users",
            "view_audit",
        }
    ),
}
# the audit log is for admins and viewers (auditors), not for clerks
PERMISSIONS[Role.VIEWER] = PERMISSIONS[Role.VIEWER] | {"view_audit"}

ORG_URL_KWARG = "org"


class OrgRequest(HttpRequest):
    """A request under /o/<org>/: the middleware has checked membership."""

    organisation: Organisation
    membership: Membership


def permissions_for(role: str) -> frozenset[str]:
    return PERMISSIONS.get(role, frozenset())


def has_permission(request: HttpRequest, permission: str) -> bool:
    membership: Membership | None = getattr(request, "membership", None)
    return membership is not None and permission in permissions_for(membership.role)


@contextmanager
def organisation_scope(organisation: Organisation) -> Iterator[None]:
    """Run tenant queries for one organisation (services, tasks, commands)."""
    with scope(organisation=organisation.pk):
        yield


def memberships_of(user: Any) -> list[Membership]:
    """All active memberships of a user, across organisations (the org switcher)."""
    if not getattr(user, "is_authenticated", False):
        return []
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user, is_active=True, organisation__is_active=True)
            .select_related("organisation")
            .order_by("organisation__name")
        )


class OrganisationScopeMiddleware:
    """Resolves ``<org>`` in the URL, checks membership (404 otherwise), sets the scope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
        request.organisation = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        if match is not None and match.app_name == "admin":
            with scopes_disabled():
                return self.get_response(request)
        slug = match.kwargs.get(ORG_URL_KWARG) if match is not None else None
        if slug is None:
            with scope():
                return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = self._membership(request, slug)
        if membership is None:
            raise Http404
        request.organisation = membership.organisation  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        with organisation_scope(membership.organisation):
            return self.get_response(request)

    @staticmethod
    def _membership(request: HttpRequest, slug: str) -> Membership | None:
        with scopes_disabled():
            return (
                Membership.objects.filter(
                    user=request.user,
                    is_active=True,
                    organisation__slug=slug,
                    organisation__is_active=True,
                )
                .select_related("organisation")
                .first()
            )


View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def require_permission(permission: str) -> Callable[[View], View]:
    """View decorator: 403 unless the member's role grants the permission."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_permission(request, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]  # for the role tests
        return cast(View, wrapper)

    return decorator


def organisation_context(request: HttpRequest) -> dict[str, Any]:
    membership: Membership | None = getattr(request, "membership", None)
    return {
        "organisation": getattr(request, "organisation", None),
        "membership": membership,
        "permissions": permissions_for(membership.role) if membership else frozenset(),
        "user_memberships": memberships_of(getattr(request, "user", None)),
    }
