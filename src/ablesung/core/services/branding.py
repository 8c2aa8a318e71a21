"""The organisation's portal details: contact, imprint and privacy links, accent colour, logo
and the typed access methods citizens may use.

The logo is never stored as uploaded: only PNG, JPEG and WebP are accepted (told by their
first bytes), and :func:`ablesung.lib.photos.sanitise_photo` decodes it under size and pixel
limits and re-encodes it as a small JPEG without metadata. The file goes to the default
storage as ``logos/<org-slug>-<random>.jpg`` (a fresh name per upload, so no cache ever shows
an old logo under a new name); the replaced or removed file is deleted once the change is
committed.
"""

import base64
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from ablesung.core.models import AccentColour, AccessMethod, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.lib.photos import PhotoRejected, sanitise_photo

#: the fields :func:`do_update_branding` writes from ``values``, in the order of the page
BRANDING_FIELDS: tuple[str, ...] = (
    "contact_email",
    "contact_phone",
    "contact_address",
    "imprint_url",
    "privacy_url",
    "accent_colour",
    "access_methods",
)
LOGO_FIELD = "logo"
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_PIXELS = 20_000_000
LOGO_LONG_SIDE = 400
LOGO_QUALITY = 90
LOGO_DIR = "logos"
MAX_LENGTHS = {
    "contact_email": 254,
    "contact_phone": 50,
    "contact_address": 1000,
    "imprint_url": 200,
    "privacy_url": 200,
}
_PHONE_CHARACTERS = frozenset("0123456789+-/() .")


class BrandingInvalid(ValueError):
    """Values that cannot be stored; ``errors`` maps field names to German messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


# --- checks (also used by the form) -----------------------------------------------------


def validate_https_url(value: str) -> None:
    """A complete ``https://`` address (imprint and privacy policy are public web pages)."""
    if not value:
        return
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError as exc:
        scheme = urlsplit(value).scheme.lower()
        message = (
            _("Bitte geben Sie eine sichere Adresse an, die mit https:// beginnt.")
            if scheme and scheme != "https"
            else _(
                "Bitte geben Sie eine vollständige Adresse an, z. B. https://www.example.de/impressum."
            )
        )
        raise ValidationError(message, code="https") from exc


def validate_phone(value: str) -> None:
    """Digits with the usual separators, so that the portal can offer a ``tel:`` link."""
    if value and (not set(value) <= _PHONE_CHARACTERS or not any(char.isdigit() for char in value)):
        raise ValidationError(
            _("Bitte geben Sie nur Ziffern, Leerzeichen und + - / ( ) an, z. B. 03731 123-456."),
            code="phone",
        )


def is_logo_format(data: bytes) -> bool:
    """PNG, JPEG or WebP, told by the first bytes (never by file name or content type)."""
    return (
        data.startswith(b"\x89PNG\r\n\x1a\n")
        or data.startswith(b"\xff\xd8\xff")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    )


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def clean_branding(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as stored, or :class:`BrandingInvalid` with every problem at its field.

    Every field of :data:`BRANDING_FIELDS` must be given (a form sends them all).
    """
    unknown = set(values) - set(BRANDING_FIELDS)
    missing = set(BRANDING_FIELDS) - set(values)
    if unknown or missing:
        raise ValueError(f"branding values: unknown {sorted(unknown)}, missing {sorted(missing)}")
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, limit in MAX_LENGTHS.items():
        cleaned[name] = _text(values, name)
        if len(cleaned[name]) > limit:
            errors.setdefault(name, []).append(
                _("Bitte geben Sie höchstens %(limit)s Zeichen ein.") % {"limit": limit}
            )
    checks: dict[str, Callable[[str], None]] = {
        "contact_email": validate_email,
        "contact_phone": validate_phone,
        "imprint_url": validate_https_url,
        "privacy_url": validate_https_url,
    }
    for name, check in checks.items():
        if cleaned[name] and name not in errors:
            try:
                check(cleaned[name])
            except ValidationError as exc:
                errors.setdefault(name, []).extend(str(m) for m in exc.messages)
    colour = _text(values, "accent_colour")
    if colour not in AccentColour.values:
        errors.setdefault("accent_colour", []).append(_("Bitte wählen Sie eine der Farben aus."))
    cleaned["accent_colour"] = colour
    methods = values.get("access_methods") or []
    if isinstance(methods, str) or not isinstance(methods, Sequence):
        methods = [methods]
    chosen = {str(method) for method in methods}
    if chosen - set(AccessMethod.values):
        errors.setdefault("access_methods", []).append(
            _("Bitte wählen Sie nur die angebotenen Zugangswege aus.")
        )
    # the order of the choices, whatever order they came in
    cleaned["access_methods"] = [method for method in AccessMethod.values if method in chosen]
    if errors:
        raise BrandingInvalid(errors)
    return cleaned


def sanitise_logo(data: bytes) -> bytes:
    """The logo as a clean JPEG (long side ≤ 400 px), or :class:`BrandingInvalid`."""
    if len(data) > LOGO_MAX_BYTES:
        raise BrandingInvalid({LOGO_FIELD: [_("Das Logo ist zu groß (höchstens 2 MB).")]})
    if not is_logo_format(data):
        raise BrandingInvalid(
            {LOGO_FIELD: [_("Bitte laden Sie das Logo als PNG-, JPEG- oder WebP-Bild hoch.")]}
        )
    try:
        return sanitise_photo(
            data,
            max_bytes=LOGO_MAX_BYTES,
            max_pixels=LOGO_MAX_PIXELS,
            long_side=LOGO_LONG_SIDE,
            quality=LOGO_QUALITY,
        )
    except PhotoRejected as exc:
        raise BrandingInvalid({LOGO_FIELD: [exc.message]}) from exc


# --- reading ----------------------------------------------------------------------------


def current_values(organisation: Organisation) -> dict[str, Any]:
    """The stored values of :data:`BRANDING_FIELDS` (the form's initial data)."""
    values = {name: getattr(organisation, name) for name in BRANDING_FIELDS}
    values["access_methods"] = list(organisation.access_methods or [])
    return values


def logo_bytes(organisation: Organisation) -> bytes | None:
    """The stored logo (a JPEG, as :func:`sanitise_logo` wrote it), or ``None``."""
    name = organisation.logo.name
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as file:
            data: bytes = file.read(LOGO_MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > LOGO_MAX_BYTES or not data.startswith(b"\xff\xd8\xff"):
        return None
    return data


def logo_data_uri(organisation: Organisation) -> str | None:
    """The stored logo as a ``data:`` URI for a preview (no media URL needed), or ``None``."""
    data = logo_bytes(organisation)
    if data is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


# --- writing ----------------------------------------------------------------------------


def _delete_file(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def do_update_branding(
    organisation: Organisation,
    *,
    values: Mapping[str, Any],
    logo_bytes: bytes | None,
    remove_logo: bool,
    actor: Actor,
) -> list[str]:
    """Stores the portal details; returns the names of the fields that changed.

    ``values``: every field of :data:`BRANDING_FIELDS`. ``logo_bytes``: a new logo (replaces
    the old one; ``remove_logo`` is then ignored), ``None`` to keep or, with ``remove_logo``,
    to remove the logo. Raises :class:`BrandingInvalid` with every problem, and then stores
    nothing (no file either). Writes ``organisation.branding_updated`` when anything changed.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    try:
        cleaned = clean_branding(values)
    except BrandingInvalid as exc:
        errors.update(exc.errors)
    logo: bytes | None = None
    if logo_bytes is not None:
        try:
            logo = sanitise_logo(logo_bytes)
        except BrandingInvalid as exc:
            errors.update(exc.errors)
    if errors:
        raise BrandingInvalid(errors)
    new_name = ""
    if logo is not None:
        name = f"{LOGO_DIR}/{organisation.slug}-{secrets.token_hex(8)}.jpg"
        new_name = default_storage.save(name, ContentFile(logo))
    try:
        with transaction.atomic(durable=True), organisation_scope(organisation):
            locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
            old = current_values(locked)
            changed = [name for name in BRANDING_FIELDS if old[name] != cleaned[name]]
            for name in changed:
                setattr(locked, name, cleaned[name])
            old_logo = locked.logo.name or ""
            if new_name or (remove_logo and old_logo):
                locked.logo = new_name  # type: ignore[assignment]
                changed.append(LOGO_FIELD)
            if changed:
                locked.save(update_fields=changed)
                audit.record(
                    "organisation.branding_updated",
                    actor=actor,
                    organisation=locked,
                    obj=locked,
                    data={"fields": changed},
                )
            if LOGO_FIELD in changed and old_logo:
                transaction.on_commit(lambda: _delete_file(old_logo))
    except BaseException:
        _delete_file(new_name)
        raise
    for name in BRANDING_FIELDS:
        setattr(organisation, name, getattr(locked, name))
    organisation.logo = locked.logo.name  # type: ignore[assignment]
    return changed
