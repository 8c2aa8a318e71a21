"""Plausibility settings: thresholds of the organisation (overridable per campaign) and its
own monthly consumption profiles for gas and heat.

Storage (JSON-safe, numbers as strings so that no float ever touches a threshold):

* ``Organisation.settings["plausibility"]``: every threshold, e.g. ``{"band_lower_pct": "40", …}``
* ``Campaign.settings["plausibility"]``: only the thresholds the campaign overrides
* ``Organisation.settings["consumption_profiles"][kind]`` (``kind`` is ``gas`` or ``heat``):
  ``{"year": 2026 | None, "shares": ["103.24", …twelve…], "name": "…"}``

Stored values that cannot be read (hand-edited JSON, a renamed field) are skipped: the
default (or the organisation's value) applies, and the next save writes a clean set.
"""

import dataclasses
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from ablesung.core.language import engine_language
from ablesung.core.models import Campaign, MeterKind, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.plausibility import (
    DEFAULT_THRESHOLDS,
    DayWeights,
    MonthlyWeights,
    ProfileError,
    ThresholdError,
    Thresholds,
    monthly_weights,
    parse_profile,
    weights_for_kind,
)
from ablesung.plausibility.german_numbers import format_decimal

THRESHOLDS_KEY = "plausibility"
PROFILES_KEY = "consumption_profiles"
#: meter kinds that may carry an organisation's own monthly profile
PROFILE_KINDS: tuple[str, ...] = (MeterKind.GAS.value, MeterKind.HEAT.value)
#: the editable thresholds, in the order of the dataclass (and of the form)
THRESHOLD_FIELDS: tuple[str, ...] = tuple(
    item.name for item in dataclasses.fields(Thresholds) if item.init
)
INTEGER_FIELDS = frozenset({"key_date_days"})
#: the longest profile file accepted (twelve months and a year line need a few hundred bytes)
MAX_PROFILE_BYTES = 64 * 1024

ThresholdValue = Decimal | int


class ThresholdsInvalid(ValueError):
    """The thresholds do not fit together; ``errors`` bind German messages to fields."""

    def __init__(self, errors: list[ThresholdError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors

    @property
    def by_field(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            grouped.setdefault(error.field, []).append(error.message)
        return grouped


class ProfileInvalid(ValueError):
    """A consumption profile that cannot be used; ``messages`` are German, with line numbers."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


# --- reading -------------------------------------------------------------------------------


def _coerce(name: str, value: Any) -> ThresholdValue:
    """A stored or entered value as the dataclass wants it; ``ValueError`` if it is none."""
    if isinstance(value, bool) or value is None:
        raise ValueError(name)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(name) from exc
    if not number.is_finite():
        raise ValueError(name)
    if name in INTEGER_FIELDS:
        if number != number.to_integral_value():
            raise ValueError(name)
        return int(number)
    return number


def _read(stored: Any) -> dict[str, ThresholdValue]:
    """The readable thresholds of a settings entry; unknown keys and bad values are skipped."""
    if not isinstance(stored, Mapping):
        return {}
    values: dict[str, ThresholdValue] = {}
    for name in THRESHOLD_FIELDS:
        if name in stored:
            try:
                values[name] = _coerce(name, stored[name])
            except ValueError:
                continue
    return values


def _store(values: Mapping[str, ThresholdValue]) -> dict[str, str]:
    return {name: str(values[name]) for name in THRESHOLD_FIELDS if name in values}


def _build(base: Thresholds, overrides: Mapping[str, ThresholdValue]) -> Thresholds:
    return dataclasses.replace(base, **overrides) if overrides else base  # type: ignore[arg-type]


def organisation_thresholds(organisation: Organisation) -> Thresholds:
    """The organisation's thresholds (the defaults of PLAUSIBILITY.md where none are stored)."""
    return _build(DEFAULT_THRESHOLDS, _read(organisation.settings.get(THRESHOLDS_KEY)))


def campaign_overrides(campaign: Campaign) -> dict[str, ThresholdValue]:
    """Only the thresholds this campaign sets itself."""
    return _read((campaign.settings or {}).get(THRESHOLDS_KEY))


def campaign_thresholds(campaign: Campaign) -> Thresholds:
    """The organisation's thresholds, overridden by the campaign's own values."""
    return _build(organisation_thresholds(campaign.organisation), campaign_overrides(campaign))


def threshold_values(thresholds: Thresholds) -> dict[str, ThresholdValue]:
    return {name: getattr(thresholds, name) for name in THRESHOLD_FIELDS}


def format_threshold(value: ThresholdValue, lang: str = "de") -> str:
    """``Decimal("1.5")`` → ``1,5``: how a threshold appears in a form field."""
    return format_decimal(Decimal(value), lang)


def describe_example(thresholds: Thresholds, previous_year: Decimal, unit: str = "m³") -> str:
    """The live example in the current language (German: exactly ``describe_band``)."""
    lang = engine_language()
    low, high = thresholds.band(previous_year)
    return _(
        "bei %(previous)s %(unit)s Vorjahresverbrauch: Hinweis unter %(low)s oder über %(high)s %(unit)s"
    ) % {
        "previous": format_decimal(previous_year, lang, 1),
        "unit": unit,
        "low": format_decimal(low, lang, 1),
        "high": format_decimal(high, lang, 1),
    }


# --- writing thresholds -----------------------------------------------------------------------


def _clean(values: Mapping[str, Any]) -> dict[str, ThresholdValue]:
    unknown = set(values) - set(THRESHOLD_FIELDS)
    if unknown:
        raise ValueError(f"unknown thresholds: {sorted(unknown)}")
    cleaned: dict[str, ThresholdValue] = {}
    errors: list[ThresholdError] = []
    for name, value in values.items():
        if value is None or value == "":
            continue
        try:
            cleaned[name] = _coerce(name, value)
        except ValueError:
            errors.append(ThresholdError(name, _("Bitte geben Sie eine Zahl ein, z. B. 1,5.")))
    if errors:
        raise ThresholdsInvalid(errors)
    return cleaned


def check_thresholds(values: Mapping[str, Any], *, organisation: Organisation) -> Thresholds:
    """The thresholds these values give; raises :class:`ThresholdsInvalid`.

    Missing values come from the organisation: for the organisation itself they keep its
    current values, for a campaign they are inherited (it overrides only what is given).
    """
    return _checked(values, organisation)[1]


def preview_thresholds(
    values: Mapping[str, Any], *, organisation: Organisation
) -> tuple[Thresholds, list[ThresholdError]]:
    """Unsaved values for the live example: the thresholds they give and what is wrong with them.

    Missing values come from the organisation, like in :func:`check_thresholds`.
    """
    try:
        cleaned = _clean(values)
    except ThresholdsInvalid as exc:
        return organisation_thresholds(organisation), exc.errors
    thresholds = _build(organisation_thresholds(organisation), cleaned)
    return thresholds, thresholds.validate()


def _checked(
    values: Mapping[str, Any], organisation: Organisation
) -> tuple[dict[str, ThresholdValue], Thresholds]:
    cleaned = _clean(values)
    thresholds = _build(organisation_thresholds(organisation), cleaned)
    errors = thresholds.validate()
    if errors:
        raise ThresholdsInvalid(errors)
    return cleaned, thresholds


def do_update_thresholds(
    values: Mapping[str, Any],
    *,
    organisation: Organisation,
    campaign: Campaign | None = None,
    actor: Actor,
) -> Thresholds:
    """Stores the organisation's thresholds, or a campaign's overrides when ``campaign`` is given.

    ``values``: field name → number (``Decimal``, ``int`` or a string such as ``"1.5"``);
    ``None``/``""`` means "not set" (organisation: keep the current value; campaign: inherit
    the organisation's). A campaign stores exactly the values given: what it left empty
    follows the organisation from then on. Raises :class:`ThresholdsInvalid` (nothing stored)
    when a value is not a number or the resulting set does not pass ``Thresholds.validate()``.
    """
    with transaction.atomic(durable=True), organisation_scope(organisation):
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        cleaned, thresholds = _checked(values, locked)
        if campaign is None:
            old = _store(threshold_values(organisation_thresholds(locked)))
            new = _store(threshold_values(thresholds))
            locked.settings = {**locked.settings, THRESHOLDS_KEY: new}
            locked.save(update_fields=["settings"])
            organisation.settings = locked.settings
            target: Organisation | Campaign = locked
        else:
            row = Campaign.objects.select_for_update().get(pk=campaign.pk)
            old = _store(campaign_overrides(row))
            new = _store(cleaned)
            row.settings = {**(row.settings or {}), THRESHOLDS_KEY: new}
            row.save(update_fields=["settings"])
            campaign.settings = row.settings
            target = row
        if old != new:
            audit.record(
                "settings.thresholds_updated",
                actor=actor,
                organisation=organisation,
                obj=target,
                data={"scope": "campaign" if campaign else "organisation", "old": old, "new": new},
            )
    return thresholds


def do_reset_campaign_thresholds(
    campaign: Campaign, *, organisation: Organisation, actor: Actor
) -> Thresholds:
    """Drops the campaign's overrides: it follows the organisation's thresholds again."""
    with transaction.atomic(durable=True), organisation_scope(organisation):
        row = Campaign.objects.select_for_update().get(pk=campaign.pk)
        old = _store(campaign_overrides(row))
        settings = dict(row.settings or {})
        had_entry = settings.pop(THRESHOLDS_KEY, None) is not None
        if had_entry:
            row.settings = settings
            row.save(update_fields=["settings"])
            campaign.settings = settings
        if old:
            audit.record(
                "settings.thresholds_reset",
                actor=actor,
                organisation=organisation,
                obj=row,
                data={"scope": "campaign", "old": old, "new": {}},
            )
    return organisation_thresholds(organisation)


# --- consumption profiles -----------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in PROFILE_KINDS:
        raise ValueError(f"no consumption profile for meter kind {kind!r}")


def _profile_from_settings(organisation: Organisation, kind: str) -> MonthlyWeights | None:
    stored = (organisation.settings.get(PROFILES_KEY) or {}).get(kind)
    if not isinstance(stored, Mapping):
        return None
    try:
        shares = [Decimal(str(share)) for share in stored["shares"]]
        year = stored.get("year")
        return monthly_weights(
            shares,
            name=str(stored.get("name") or kind),
            year=int(year) if year is not None else None,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return None


def consumption_profile(organisation: Organisation, kind: str) -> MonthlyWeights | None:
    """The organisation's own profile for gas or heat, or ``None`` (the default applies)."""
    _check_kind(kind)
    return _profile_from_settings(organisation, kind)


def weights_for(organisation: Organisation, kind: str) -> DayWeights:
    """Day weights for a meter kind: the organisation's own profile, else the default."""
    if kind in PROFILE_KINDS:
        own = _profile_from_settings(organisation, kind)
        if own is not None:
            return own
    return weights_for_kind(kind)


def decode_profile(data: bytes) -> str:
    """Profile files come from Excel (Windows-1252) or elsewhere (UTF-8, maybe with BOM)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def do_import_consumption_profile(
    text: str, *, organisation: Organisation, kind: str, actor: Actor
) -> MonthlyWeights:
    """Parses and stores the organisation's monthly profile for ``kind`` (gas or heat).

    Raises :class:`ProfileInvalid` with every problem (German, with line numbers); then
    nothing is stored.
    """
    _check_kind(kind)
    if len(text) > MAX_PROFILE_BYTES:
        raise ProfileInvalid([_("Die Datei ist zu groß für ein Monatsprofil (höchstens 64 KB).")])
    try:
        profile = parse_profile(text, name=_("Eigenes Profil"))
    except ProfileError as exc:
        raise ProfileInvalid(exc.messages) from exc
    shares = profile.monthly_shares()
    entry = {
        "year": profile.year,
        "name": profile.name,
        "shares": [str(shares[month]) for month in range(1, 13)],
    }
    with transaction.atomic(durable=True), organisation_scope(organisation):
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        profiles = dict(locked.settings.get(PROFILES_KEY) or {})
        old = profiles.get(kind)
        profiles[kind] = entry
        locked.settings = {**locked.settings, PROFILES_KEY: profiles}
        locked.save(update_fields=["settings"])
        organisation.settings = locked.settings
        audit.record(
            "settings.consumption_profile_imported",
            actor=actor,
            organisation=organisation,
            obj=locked,
            data={"kind": kind, "old": old, "new": entry},
        )
    return profile


def do_remove_consumption_profile(*, organisation: Organisation, kind: str, actor: Actor) -> bool:
    """Removes the organisation's own profile for ``kind``: the default applies again."""
    _check_kind(kind)
    with transaction.atomic(durable=True), organisation_scope(organisation):
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        profiles = dict(locked.settings.get(PROFILES_KEY) or {})
        old = profiles.pop(kind, None)
        if old is None:
            return False
        locked.settings = {**locked.settings, PROFILES_KEY: profiles}
        locked.save(update_fields=["settings"])
        organisation.settings = locked.settings
        audit.record(
            "settings.consumption_profile_removed",
            actor=actor,
            organisation=organisation,
            obj=locked,
            data={"kind": kind, "old": old},
        )
    return True


def profile_table(organisation: Organisation, kind: str) -> list[tuple[str, str, str]]:
    """Twelve rows ``(month, share, percent of the year)`` of the profile in use for ``kind``."""
    weights = weights_for(organisation, kind)
    if not isinstance(weights, MonthlyWeights):
        return []
    shares = weights.monthly_shares()
    # a share spanning several months (June–August) is shown once per month, divided evenly
    spans = {month: len(months) for months, _share in weights.segments for month in months}
    per_month = {month: shares[month] / spans[month] for month in range(1, 13)}
    total = sum(per_month.values())
    lang = engine_language()
    return [
        (
            str(MONTHS[month]),
            format_decimal(per_month[month], lang, None if spans[month] == 1 else 2),
            format_decimal(per_month[month] * 100 / total, lang, 1),
        )
        for month in range(1, 13)
    ]
