"""Two-factor login with django-otp: TOTP devices and hashed recovery codes.

A user "has two-factor login" when they own a confirmed TOTP device. Their recovery codes
are one :class:`~ablesung.accounts.models.RecoveryCodeDevice` with hashed single-use codes.
TOTP codes are checked by django-otp, which keeps the last accepted time step per device:
a code that was used once is refused afterwards.
"""

import base64
import secrets
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_scopes import scopes_disabled

from ablesung.accounts.middleware import SETUP_REQUIRED_KEY
from ablesung.accounts.models import (
    RecoveryCode,
    RecoveryCodeDevice,
    User,
    new_recovery_code,
    token_hash,
)
from ablesung.core.models import Membership

RECOVERY_CODE_COUNT = 10
#: session key: the TOTP key (hex) offered on the setup page, until it is confirmed
SETUP_KEY = "_2fa_setup_key"


def totp_devices(user: Any) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True))


def has_two_factor(user: Any) -> bool:
    found: bool = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return found


def two_factor_required(user: Any) -> bool:
    """The platform asks every account for it, or one of the user's organisations does."""
    if settings.TWO_FACTOR_REQUIRED:
        return True
    with scopes_disabled():
        return Membership.objects.filter(
            user=user, is_active=True, organisation__two_factor_required=True
        ).exists()


def two_factor_satisfied(request: HttpRequest) -> bool:
    """Signed in with the second factor where the account has one, nothing pending."""
    user = request.user
    if not user.is_authenticated:
        return False
    if request.session.get(SETUP_REQUIRED_KEY):
        return False
    verified = getattr(user, "is_verified", None)
    return not has_two_factor(user) or bool(verified and verified())


def new_totp_key() -> str:
    return secrets.token_hex(20)


def totp_for_key(key_hex: str) -> TOTP:
    return TOTP(bytes.fromhex(key_hex), step=30, t0=0, digits=6, drift=0)


def key_base32(key_hex: str) -> str:
    """The key as authenticator apps want it typed: Base32 in groups of four."""
    raw = base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def provisioning_uri(user: User, key_hex: str) -> str:
    device = TOTPDevice(user=user, key=key_hex, name="Authenticator-App")
    return str(device.config_url)


def qr_svg_data_uri(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def verify_setup_code(key_hex: str, token: str) -> int | None:
    """The time step the code belongs to (one step of tolerance), or None."""
    code = "".join(ch for ch in token if ch.isdigit())
    if len(code) != 6:
        return None
    totp = totp_for_key(key_hex)
    for offset in (0, -1, 1):
        totp.drift = offset
        if secrets.compare_digest(f"{totp.token():06d}", code):
            return int(totp.t())
    return None


def new_recovery_codes(user: User) -> list[str]:
    """Replaces the user's recovery codes with new ones; returns them (shown once)."""
    device, _created = RecoveryCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Wiederherstellungscodes", "confirmed": True}
    )
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(device=device).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(device=device, code_hash=token_hash(code)) for code in codes
        )
    return codes


def verify_second_factor(user: User, token: str) -> Any:
    """The device that accepts the code (a TOTP device or the recovery codes), or None."""
    token = token.strip()
    digits = "".join(ch for ch in token if ch.isdigit())
    if len(digits) == 6 and len(token.replace(" ", "")) == 6:
        for device in totp_devices(user):
            if device.verify_token(digits):
                return device
        return None
    recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
    if recovery is not None and recovery.verify_token(token):
        return recovery
    return None


def remaining_recovery_codes(user: User) -> int:
    device = RecoveryCodeDevice.objects.filter(user=user).first()
    return device.remaining() if device is not None else 0
