"""The operator's admin site: its login is the staff login (throttling, second factor)."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from ablesung.accounts.twofactor import two_factor_satisfied


class OperatorAdminSite(admin.AdminSite):
    site_header = "Ablesung – Betreiberverwaltung"
    site_title = "Ablesung"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and two_factor_satisfied(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from ablesung.accounts.views import StaffLoginView

        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied  # signed in, but no operator: no redirect loop
        view = StaffLoginView.as_view(
            extra_context={"operator_login": True},
            next_page=reverse("admin:index"),
        )
        response: HttpResponseBase = view(request)
        return response
