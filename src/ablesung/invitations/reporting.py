"""Who has reported in a campaign (used by reminders and by the reminder letters).

A property *has reported* when at least one of its registers in the campaign has an
effective (current, not deleted) reading, whatever its source (portal, clerk, reply card)
or outcome. It *has not reported* when none of its campaign registers has one. Properties
count only with live meters in the campaign.
"""

from django.db.models import QuerySet

from ablesung.core.models import Campaign, CampaignMeter, Property, Reading


def campaign_properties(campaign: Campaign) -> "QuerySet[Property]":
    """The properties with live meters in ``campaign`` (inside a scope)."""
    property_ids = CampaignMeter.objects.filter(
        campaign=campaign, register__meter__deleted_at__isnull=True
    ).values("register__meter__property_id")
    return Property.objects.filter(pk__in=property_ids)


def not_reported(campaign: Campaign) -> "QuerySet[Property]":
    """The campaign's properties without any effective reading in it (inside a scope)."""
    reported = Reading.objects.filter(
        campaign=campaign, is_effective=True, register__meter__deleted_at__isnull=True
    ).values("register__meter__property_id")
    return campaign_properties(campaign).exclude(pk__in=reported)
