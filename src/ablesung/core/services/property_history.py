"""A property's history for the clerks' property page: every reading version of its
meters per campaign, with the plausibility findings, and its audit trail.

Reads only; call inside the organisation's scope. A handful of queries, whatever the
number of campaigns and versions.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ablesung.core import audit_actions
from ablesung.core.language import engine_language
from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CitizenMessage,
    Meter,
    Organisation,
    Property,
    Reading,
)
from ablesung.core.services.readings import check_value

#: the newest audit entries shown on the page
MAX_AUDIT_ENTRIES = 200


@dataclass
class Version:
    """One reading version with its plausibility findings, checked again as on the day it
    was recorded (the stored outcome is what the clerks worked with)."""

    reading: Reading
    messages: list[str]
    rechecked_outcome: str  # the outcome with today's thresholds, when it differs

    @property
    def in_trash(self) -> bool:
        return self.reading.deleted_at is not None

    @property
    def who(self) -> str:
        if self.reading.actor is None and self.reading.source == "online":
            return str(_("Bürger:in (Portal)"))
        return who("", self.reading.actor) if self.reading.actor is not None else ""


@dataclass
class LineHistory:
    """A register of one of the property's meters in one campaign, newest version first."""

    line: CampaignMeter
    versions: list[Version] = field(default_factory=list)

    @property
    def meter(self) -> Meter:
        meter: Meter = self.line.register.meter
        return meter


@dataclass
class CampaignHistory:
    campaign: Campaign
    lines: list[LineHistory] = field(default_factory=list)


#: what an audit entry is about, by object type
SUBJECTS = {
    "property": _("Objekt"),
    "meter": _("Zähler"),
    "campaignmeter": _("Zählwerk in der Ableseaktion"),
    "reading": _("Zählerstand"),
    "citizenmessage": _("Nachricht"),
}


def who(label: str, user: object | None = None) -> str:
    """Who wrote: the staff member's e-mail, "Bürger:in (Portal)" or the system's label."""
    if user is not None:
        return str(getattr(user, "email", "") or label)
    if label.startswith("portal:"):
        return str(_("Bürger:in (Portal)"))
    return label


@dataclass
class AuditRow:
    entry: AuditEntry
    subject: str  # e.g. "Zählerstand 4711, Version 2"

    @property
    def label(self) -> str:
        return audit_actions.describe(self.entry.action)

    @property
    def who(self) -> str:
        return who(self.entry.actor_label, self.entry.actor)


def reading_history(prop: Property, meters: Iterable[Meter]) -> list[CampaignHistory]:
    """The property's meters' lines in every live campaign (newest campaign first), each
    with every version recorded, trashed ones included: two queries."""
    meter_ids = [meter.pk for meter in meters]
    lines = list(
        CampaignMeter.objects.filter(
            register__meter_id__in=meter_ids, campaign__deleted_at__isnull=True
        )
        .select_related("campaign__organisation", "register__meter")
        .defer("raw_row")
        .order_by("-campaign__key_date", "campaign_id", "register__meter__number", "register__code")
    )
    versions = Reading.with_trashed.filter(
        register__meter_id__in=meter_ids, campaign_id__in={line.campaign_id for line in lines}
    ).select_related("actor")
    by_line: dict[tuple[int, int], list[Reading]] = {}
    for reading in versions.order_by("-version"):
        by_line.setdefault((reading.campaign_id, reading.register_id), []).append(reading)
    campaigns: dict[int, CampaignHistory] = {}
    for line in lines:
        history = campaigns.setdefault(line.campaign_id, CampaignHistory(line.campaign))
        readings = by_line.get((line.campaign_id, line.register_id), [])
        history.lines.append(LineHistory(line, [_version(line, reading) for reading in readings]))
    return list(campaigns.values())


def _version(line: CampaignMeter, reading: Reading) -> Version:
    recorded_on = timezone.localdate(reading.created_at)
    result = check_value(line, reading.value, reading.reading_date, today=recorded_on)
    rechecked = result.outcome.key if result.outcome.key != reading.outcome else ""
    return Version(reading, result.messages(engine_language()), rechecked)


def property_audit_trail(
    organisation: Organisation,
    prop: Property,
    meters: Iterable[Meter],
    campaigns: Iterable[CampaignHistory],
    messages: Iterable[CitizenMessage],
    *,
    limit: int = MAX_AUDIT_ENTRIES,
) -> list[AuditRow]:
    """The audit entries about the property, its meters, their lines and readings, and the
    citizens' messages about it, newest first (one query; the audit log is not a tenant
    table, so the organisation is named here)."""
    subjects: dict[tuple[str, str], str] = {
        ("property", str(prop.pk)): f"{SUBJECTS['property']} {prop.object_number}"
    }
    for meter in meters:
        subjects[("meter", str(meter.pk))] = f"{SUBJECTS['meter']} {meter.number}"
    for campaign in campaigns:
        for history in campaign.lines:
            line = history.line
            name = f"{history.meter.number} {line.register.code}".strip()
            subjects[("campaignmeter", str(line.pk))] = (
                f"{SUBJECTS['campaignmeter']} {name} ({campaign.campaign.name})"
            )
            for version in history.versions:
                subjects[("reading", str(version.reading.pk))] = str(
                    _("Zählerstand %(meter)s, Version %(version)s")
                    % {"meter": name, "version": version.reading.version}
                )
    for message in messages:
        subjects[("citizenmessage", str(message.pk))] = (
            f"{SUBJECTS['citizenmessage']} {message.created_at:%d.%m.%Y}"
        )
    about = Q()
    by_type: dict[str, list[str]] = {}
    for kind, pk in subjects:
        by_type.setdefault(kind, []).append(pk)
    for kind, ids in by_type.items():
        about |= Q(object_type=kind, object_id__in=ids)
    entries = (
        AuditEntry.objects.filter(about, organisation=organisation)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        AuditRow(entry, subjects.get((entry.object_type, entry.object_id), "")) for entry in entries
    ]
