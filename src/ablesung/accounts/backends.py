"""Who may sign in: an active account with an active membership, or an operator."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django_scopes import scopes_disabled

from ablesung.core.models import Membership


class StaffBackend(ModelBackend):
    """Django's backend, refusing the password of an account that belongs to no organisation
    any more (its last membership was deactivated); operators (``is_staff``) sign in.

    Only the login asks (no query on every request): open sessions of a deactivated member
    end through the account's new session stamp (``User.get_session_auth_hash``).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or user.is_staff or user.is_superuser:
            return user
        with scopes_disabled():
            member = Membership.objects.filter(
                user=user, is_active=True, organisation__is_active=True
            ).exists()
        return user if member else None
