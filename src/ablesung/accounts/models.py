import hashlib
import secrets
from collections.abc import Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from ablesung.core.models.base import TenantModel
from ablesung.core.models.membership import Role

SESSION_HASH_SALT = "ablesung.accounts.User.get_session_auth_hash"


def new_session_stamp() -> str:
    return secrets.token_hex(16)


def token_hash(token: str) -> str:
    """SHA-256 of a link token or recovery code (both carry ≥ 80 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("e-mail address required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff account; the e-mail address is the login. Operators are superusers."""

    email = models.EmailField(_("E-Mail-Adresse"), unique=True)
    full_name = models.CharField(_("Name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)
    is_staff = models.BooleanField(_("Zugang zur Betreiberverwaltung"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    #: part of every session's auth hash: a new stamp ends all sessions of the account
    session_stamp = models.CharField(max_length=32, default=new_session_stamp, editable=False)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("Benutzer:in")
        verbose_name_plural = _("Benutzer:innen")

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.lower()

    def get_session_auth_hash(self) -> str:
        """An HMAC of the password hash and the session stamp: a new password or a new stamp
        (deactivation, "end other sessions") ends the sessions started before."""
        return self._session_hash(None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(fallback_secret)

    def _session_hash(self, secret: str | bytes | None) -> str:
        value = f"{self.password}:{self.session_stamp}"
        return salted_hmac(SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()


class Invitation(TenantModel):
    """An e-mail invitation into one organisation with one role: a one-time link, 72 h."""

    email = models.EmailField(_("E-Mail-Adresse"))
    role = models.CharField(_("Rolle"), max_length=10, choices=Role.choices, default=Role.CLERK)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField(_("gültig bis"))
    accepted_at = models.DateTimeField(_("angenommen am"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("zurückgezogen am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Einladung")
        verbose_name_plural = _("Einladungen")

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class RecoveryCodeDevice(Device):
    """A user's recovery codes as one django-otp device: each code works once and is stored
    only as its SHA-256 (a code carries 80 random bits)."""

    class Meta:
        verbose_name = _("Wiederherstellungscodes")
        verbose_name_plural = _("Wiederherstellungscodes")

    def verify_token(self, token: Any) -> bool:
        code = normalise_recovery_code(str(token))
        if not code:
            return False
        used = RecoveryCode.objects.filter(
            device=self, code_hash=token_hash(code), used_at__isnull=True
        ).update(used_at=timezone.now())
        return used == 1

    def remaining(self) -> int:
        return RecoveryCode.objects.filter(device=self, used_at__isnull=True).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager["RecoveryCode"]] = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.device_id}: {'benutzt' if self.used_at else 'offen'}"


RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford Base32, lower case
RECOVERY_CODE_LENGTH = 16  # 80 bits


def new_recovery_code() -> str:
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def normalise_recovery_code(typed: str) -> str:
    """``ABCD-efgh ijkl-mnop`` → ``abcd-efgh-ijkl-mnop``; Crockford's look-alikes folded."""
    raw = "".join(ch for ch in typed.lower() if ch.isalnum())
    raw = raw.translate(str.maketrans("oil", "011"))
    if len(raw) != RECOVERY_CODE_LENGTH or any(ch not in RECOVERY_ALPHABET for ch in raw):
        return ""
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))
