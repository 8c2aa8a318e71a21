"""Logins, failed logins and logouts go to the audit log of each organisation concerned.

An entry about a known account goes into the log of every organisation the person is an
active member of (that organisation's admins and viewers see it); one about an unknown
address, or an operator without membership, has no organisation (the operator's admin).
"""

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from ablesung.accounts.middleware import LOGIN_AT_KEY
from ablesung.accounts.models import User
from ablesung.accounts.services import record_account_event
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.lib.net import client_ip


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    request.session[LOGIN_AT_KEY] = int(time.time())
    record_account_event(
        "auth.login", user=user, actor=Actor(user=user, label=user.email, ip=client_ip(request))
    )


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempted = str(credentials.get("username", ""))[:254]
    actor = Actor(user=None, label=attempted, ip=client_ip(request) if request else None)
    known = User.objects.filter(email__iexact=attempted.strip()).first() if attempted else None
    if known is not None:
        record_account_event("auth.login_failed", user=known, actor=actor)
    else:
        audit.record("auth.login_failed", actor=actor, organisation=None)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_account_event(
            "auth.logout",
            user=user,
            actor=Actor(user=user, label=user.email, ip=client_ip(request)),
        )
