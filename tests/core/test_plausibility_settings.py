"""Plausibility settings service: thresholds of the organisation and per campaign, profiles."""

from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from ablesung.core.models import AuditEntry, Campaign, Organisation
from ablesung.core.services.actor import Actor
from ablesung.core.services.plausibility_settings import (
    THRESHOLD_FIELDS,
    ProfileInvalid,
    ThresholdsInvalid,
    campaign_overrides,
    campaign_thresholds,
    consumption_profile,
    describe_example,
    do_import_consumption_profile,
    do_remove_consumption_profile,
    do_reset_campaign_thresholds,
    do_update_thresholds,
    organisation_thresholds,
    preview_thresholds,
    profile_table,
    weights_for,
)
from ablesung.plausibility import HEATING, UNIFORM, MonthlyWeights, Thresholds
from ablesung.plausibility.thresholds import FIELD_LABELS
from tests.conftest import OrgData

ACTOR = Actor.system("test")
PROFILE = """Jahr;2026
Januar;103,24
Februar;95,1
März;90
April;80
Mai;70
Juni;60
Juli;60
August;60
September;70
Oktober;85
November;95
Dezember;99,84
"""


def reload(org: Organisation) -> Organisation:
    return Organisation.objects.get(pk=org.pk)


def reload_campaign(campaign: Campaign) -> Campaign:
    with scopes_disabled():
        found: Campaign = Campaign.objects.select_related("organisation").get(pk=campaign.pk)
    return found


def audit_actions() -> list[str]:
    with scopes_disabled():
        return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_defaults_without_settings(org_a: OrgData) -> None:
    assert organisation_thresholds(org_a.organisation) == Thresholds()
    assert campaign_thresholds(org_a.campaign) == Thresholds()
    assert tuple(FIELD_LABELS) == THRESHOLD_FIELDS


@pytest.mark.django_db
def test_valid_update_is_stored_as_strings_with_audit(org_a: OrgData) -> None:
    org = org_a.organisation
    result = do_update_thresholds(
        {"band_lower_pct": "30", "band_upper_pct": Decimal("60.5"), "key_date_days": 45},
        organisation=org,
        actor=ACTOR,
    )
    assert result.band_upper_pct == Decimal("60.5")
    stored = reload(org).settings["plausibility"]
    assert stored["band_lower_pct"] == "30"
    assert stored["band_upper_pct"] == "60.5"
    assert stored["key_date_days"] == "45"
    assert set(stored) == set(THRESHOLD_FIELDS)
    assert all(isinstance(value, str) for value in stored.values())
    thresholds = organisation_thresholds(reload(org))
    assert thresholds.band_lower_pct == Decimal(30)
    assert thresholds.key_date_days == 45
    assert isinstance(thresholds.key_date_days, int)
    with scopes_disabled():
        entry = AuditEntry.objects.get(action="settings.thresholds_updated")
    assert entry.organisation_id == org.pk
    assert entry.data["scope"] == "organisation"
    assert entry.data["old"]["band_lower_pct"] == "40"
    assert entry.data["new"]["band_lower_pct"] == "30"


@pytest.mark.django_db
def test_saving_the_same_values_again_writes_no_second_audit_entry(org_a: OrgData) -> None:
    org = org_a.organisation
    do_update_thresholds({"band_lower_pct": "30"}, organisation=org, actor=ACTOR)
    do_update_thresholds({"band_lower_pct": "30"}, organisation=reload(org), actor=ACTOR)
    assert audit_actions().count("settings.thresholds_updated") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"band_lower_pct": "100"}, "band_lower_pct"),
        ({"band_lower_pct": "0", "band_upper_pct": "0"}, "band_upper_pct"),
        ({"narrow_upper_pct": "80"}, "narrow_upper_pct"),
        ({"overflow_low_pct": "95"}, "overflow_low_pct"),
        ({"implausible_factor": "1.5"}, "implausible_factor"),
        ({"estimate_widening": "0.5"}, "estimate_widening"),
        ({"min_deviation": "-1"}, "min_deviation"),
        ({"min_deviation": "viel"}, "min_deviation"),
        ({"key_date_days": "1.5"}, "key_date_days"),
    ],
)
def test_invalid_values_raise_german_field_errors_and_store_nothing(
    org_a: OrgData, values: dict[str, str], field: str
) -> None:
    org = org_a.organisation
    with pytest.raises(ThresholdsInvalid) as caught:
        do_update_thresholds(values, organisation=org, actor=ACTOR)
    assert field in caught.value.by_field
    assert all(message.endswith(".") for message in caught.value.by_field[field])
    assert "plausibility" not in reload(org).settings
    assert "settings.thresholds_updated" not in audit_actions()


@pytest.mark.django_db
def test_unknown_fields_are_a_programming_error(org_a: OrgData) -> None:
    with pytest.raises(ValueError, match="unknown"):
        do_update_thresholds({"colour": "1"}, organisation=org_a.organisation, actor=ACTOR)


@pytest.mark.django_db
def test_campaign_override_takes_precedence_and_reset_restores(org_a: OrgData) -> None:
    org, campaign = org_a.organisation, org_a.campaign
    do_update_thresholds({"band_lower_pct": "30"}, organisation=org, actor=ACTOR)
    do_update_thresholds(
        {"band_upper_pct": "90", "band_lower_pct": None, "min_deviation": ""},
        organisation=org,
        campaign=campaign,
        actor=ACTOR,
    )
    campaign = reload_campaign(campaign)
    assert campaign.settings["plausibility"] == {"band_upper_pct": "90"}
    assert campaign_overrides(campaign) == {"band_upper_pct": Decimal(90)}
    effective = campaign_thresholds(campaign)
    assert effective.band_upper_pct == Decimal(90)  # the campaign's own
    assert effective.band_lower_pct == Decimal(30)  # inherited from the organisation
    # the organisation changes later: what the campaign left open follows
    do_update_thresholds({"band_lower_pct": "35"}, organisation=reload(org), actor=ACTOR)
    assert campaign_thresholds(reload_campaign(campaign)).band_lower_pct == Decimal(35)

    do_reset_campaign_thresholds(campaign, organisation=org, actor=ACTOR)
    campaign = reload_campaign(campaign)
    assert "plausibility" not in campaign.settings
    assert campaign_thresholds(campaign) == organisation_thresholds(reload(org))
    assert audit_actions()[-1] == "settings.thresholds_reset"
    # resetting again changes nothing and records nothing
    do_reset_campaign_thresholds(campaign, organisation=org, actor=ACTOR)
    assert audit_actions().count("settings.thresholds_reset") == 1


@pytest.mark.django_db
def test_campaign_values_are_validated_together_with_the_organisation(org_a: OrgData) -> None:
    org, campaign = org_a.organisation, org_a.campaign
    with pytest.raises(ThresholdsInvalid) as caught:
        # 30 % upper bound with the organisation's 50 % narrow band: narrow wider than normal
        do_update_thresholds(
            {"band_upper_pct": "30"}, organisation=org, campaign=campaign, actor=ACTOR
        )
    assert "narrow_upper_pct" in caught.value.by_field
    assert "plausibility" not in reload_campaign(campaign).settings


@pytest.mark.django_db
def test_campaign_audit_entry(org_a: OrgData) -> None:
    do_update_thresholds(
        {"key_date_days": "60"},
        organisation=org_a.organisation,
        campaign=org_a.campaign,
        actor=ACTOR,
    )
    with scopes_disabled():
        entry = AuditEntry.objects.get(action="settings.thresholds_updated")
    assert entry.object_type == "campaign"
    assert entry.object_id == str(org_a.campaign.pk)
    assert entry.data == {"scope": "campaign", "old": {}, "new": {"key_date_days": "60"}}


def test_unreadable_stored_values_fall_back(org_a: OrgData) -> None:
    org = org_a.organisation
    org.settings = {
        "plausibility": {
            "band_lower_pct": "abc",
            "band_upper_pct": "Infinity",
            "key_date_days": True,
            "min_deviation": None,
            "unknown": "1",
        }
    }
    assert organisation_thresholds(org) == Thresholds()
    org.settings = {"plausibility": ["not", "a", "dict"]}
    assert organisation_thresholds(org) == Thresholds()


@pytest.mark.django_db
def test_preview_reports_problems_without_storing(org_a: OrgData) -> None:
    org = org_a.organisation
    thresholds, problems = preview_thresholds({"band_lower_pct": "100"}, organisation=org)
    assert thresholds.band_lower_pct == Decimal(100)
    assert "band_lower_pct" in {p.field for p in problems}
    thresholds, problems = preview_thresholds({"band_lower_pct": "x"}, organisation=org)
    assert thresholds == Thresholds()
    assert [p.field for p in problems] == ["band_lower_pct"]
    assert "plausibility" not in reload(org).settings


def test_example_sentence_is_describe_band_in_german() -> None:
    thresholds = Thresholds()
    assert describe_example(thresholds, Decimal(80)) == thresholds.describe_band(Decimal(80))
    assert (
        describe_example(thresholds, Decimal(80))
        == "bei 80 m³ Vorjahresverbrauch: Hinweis unter 48 oder über 136 m³"
    )
    wide = Thresholds(band_lower_pct=Decimal(50), band_upper_pct=Decimal("100"))
    assert describe_example(wide, Decimal("2.5")) == wide.describe_band(Decimal("2.5"))


# --- consumption profiles ------------------------------------------------------------------


@pytest.mark.django_db
def test_profile_import_is_stored_and_used(org_a: OrgData) -> None:
    org = org_a.organisation
    assert weights_for(org, "gas") is HEATING
    profile = do_import_consumption_profile(PROFILE, organisation=org, kind="gas", actor=ACTOR)
    assert profile.year == 2026
    org = reload(org)
    stored = org.settings["consumption_profiles"]["gas"]
    assert stored["year"] == 2026
    assert stored["shares"][0] == "103.24"
    assert stored["shares"][11] == "99.84"
    weights = weights_for(org, "gas")
    assert isinstance(weights, MonthlyWeights)
    assert weights.monthly_shares()[1] == Decimal("103.24")
    assert weights_for(org, "heat") is HEATING  # only gas has its own profile
    assert weights_for(org, "water_main") is UNIFORM
    own = consumption_profile(org, "gas")
    assert own is not None
    assert own.year == 2026
    table = profile_table(org, "gas")
    assert table[0][:2] == ("Januar", "103,24")
    assert len(table) == 12
    assert audit_actions()[-1] == "settings.consumption_profile_imported"

    assert do_remove_consumption_profile(organisation=org, kind="gas", actor=ACTOR)
    assert weights_for(reload(org), "gas") is HEATING
    assert not do_remove_consumption_profile(organisation=reload(org), kind="gas", actor=ACTOR)
    assert audit_actions()[-1] == "settings.consumption_profile_removed"


@pytest.mark.django_db
def test_invalid_profile_lists_every_problem_and_stores_nothing(org_a: OrgData) -> None:
    org = org_a.organisation
    text = "Jahr;2026\nJanuar;abc\nFebruar;95\nFoo;3\n"
    with pytest.raises(ProfileInvalid) as caught:
        do_import_consumption_profile(text, organisation=org, kind="heat", actor=ACTOR)
    messages = caught.value.messages
    assert any(m.startswith("Zeile 2:") and "abc" in m for m in messages)
    assert any(m.startswith("Zeile 4:") for m in messages)
    assert any(m.startswith("Es fehlen Monate: März") for m in messages)
    assert "consumption_profiles" not in reload(org).settings
    assert "settings.consumption_profile_imported" not in audit_actions()


@pytest.mark.django_db
def test_profiles_only_for_gas_and_heat(org_a: OrgData) -> None:
    with pytest.raises(ValueError, match="no consumption profile"):
        do_import_consumption_profile(
            PROFILE, organisation=org_a.organisation, kind="water_main", actor=ACTOR
        )


@pytest.mark.django_db
def test_default_profile_table_spreads_summer_share(org_a: OrgData) -> None:
    table = profile_table(org_a.organisation, "heat")
    assert table[0] == ("Januar", "170", "17")
    assert table[6][0] == "Juli"
    assert table[6][1] == "13,33"  # 40 ‰ for June–August, one third each
    assert profile_table(org_a.organisation, "gas") == table


@pytest.mark.django_db
def test_broken_stored_profile_falls_back_to_the_default(org_a: OrgData) -> None:
    org = org_a.organisation
    org.settings = {"consumption_profiles": {"gas": {"shares": ["1", "2"]}}}
    assert weights_for(org, "gas") is HEATING
