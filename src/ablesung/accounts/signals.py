"""Logins, failed logins and logouts go to the audit log."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.lib.net import client_ip


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit.record(
        "auth.login",
        actor=Actor(user=user, label=user.email, ip=client_ip(request)),
        organisation=None,
        obj=user,
    )


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempted = str(credentials.get("username", ""))[:254]
    audit.record(
        "auth.login_failed",
        actor=Actor(user=None, label=attempted, ip=client_ip(request) if request else None),
        organisation=None,
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(
            "auth.logout",
            actor=Actor(user=user, label=user.email, ip=client_ip(request)),
            organisation=None,
            obj=user,
        )
