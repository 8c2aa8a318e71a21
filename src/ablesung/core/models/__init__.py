"""The core domain model. Every tenant table carries an ``organisation`` FK."""

from ablesung.core.models.access import AccessGrant, GrantChannel
from ablesung.core.models.audit import AppendOnlyError, AuditEntry
from ablesung.core.models.campaign import Campaign, CampaignStatus
from ablesung.core.models.campaign_meter import CampaignMeter
from ablesung.core.models.citizen_message import CitizenMessage, MessageReason
from ablesung.core.models.import_batch import (
    ImportBatch,
    ImportProfile,
    ImportRowError,
    ImportStatus,
)
from ablesung.core.models.membership import Membership, Role
from ablesung.core.models.meter import Meter, MeterKind
from ablesung.core.models.organisation import AccentColour, AccessMethod, Organisation
from ablesung.core.models.property import Property
from ablesung.core.models.ratelimit import RateLimitCounter
from ablesung.core.models.reading import (
    CAPTURE_SOURCES,
    ESTIMATE_SOURCES,
    ConfirmationReason,
    Outcome,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.models.register import Register, RegisterCode
from ablesung.core.models.release import ReleaseLogEntry, ReleaseRun
from ablesung.core.models.schedule import ScheduledRun

__all__ = [
    "CAPTURE_SOURCES",
    "ESTIMATE_SOURCES",
    "AccentColour",
    "AccessGrant",
    "AccessMethod",
    "AppendOnlyError",
    "AuditEntry",
    "Campaign",
    "CampaignMeter",
    "CampaignStatus",
    "CitizenMessage",
    "ConfirmationReason",
    "GrantChannel",
    "ImportBatch",
    "ImportProfile",
    "ImportRowError",
    "ImportStatus",
    "Membership",
    "MessageReason",
    "Meter",
    "MeterKind",
    "Organisation",
    "Outcome",
    "Property",
    "RateLimitCounter",
    "Reading",
    "ReadingSource",
    "Register",
    "RegisterCode",
    "ReleaseLogEntry",
    "ReleaseRun",
    "ReviewState",
    "Role",
    "ScheduledRun",
]
