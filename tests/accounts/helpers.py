"""Helpers for the staff-account tests: TOTP codes computed with django-otp's own helper."""

from typing import Any

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ablesung.accounts import twofactor
from ablesung.accounts.models import User


def totp_code(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + offset)
    return f"{totp.token():06d}"


def give_two_factor(user: User) -> tuple[TOTPDevice, list[str]]:
    """A confirmed TOTP device and ten recovery codes, as the setup page leaves them."""
    device = TOTPDevice.objects.create(user=user, name="App", confirmed=True)
    return device, twofactor.new_recovery_codes(user)


def login_post(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post("/konto/anmelden/", {"username": email, "password": password}, **extra)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session
