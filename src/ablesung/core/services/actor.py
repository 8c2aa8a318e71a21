"""Who performs a write: a staff user, a citizen session, or the system."""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from ablesung.lib.net import client_ip


@dataclass(frozen=True)
class Actor:
    user: Any = None
    label: str = ""
    ip: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Actor":
        user = request.user if request.user.is_authenticated else None
        label = getattr(user, "email", "") if user is not None else "anonymous"
        return cls(user=user, label=label, ip=client_ip(request))

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(user=None, label=label, ip=None)

    @classmethod
    def of_user(cls, user: Any) -> "Actor":
        return cls(user=user, label=getattr(user, "email", str(user)))
