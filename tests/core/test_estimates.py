"""Estimates against PLAUSIBILITY.md: the cases, storing, re-running, what is never touched."""

import datetime
import threading
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.estimates import (
    EstimatesRefused,
    EstimateStatus,
    EstimateSummary,
    PlannedEstimate,
    StoredEstimates,
    candidate_lines,
    do_record_manual_estimate,
    do_store_estimates,
    estimate_refusal,
    mark_estimated_previous_readings,
    preview,
    summary,
)
from ablesung.core.services.readings import ReadingConflict, ReadingRefused
from ablesung.plausibility import EstimateBasis
from tests.conftest import OrgData
from tests.core.campaign_builder import Builder

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2027, 1, 20, 9, 0, tzinfo=BERLIN)
TODAY = NOW.date()
KEY_DATE = datetime.date(2026, 12, 31)
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def plan_of(b: Builder, name: str) -> PlannedEstimate:
    line = b.lines[name]
    with organisation_scope(b.organisation):
        fresh = CampaignMeter.objects.select_related("register__meter__property").get(pk=line.pk)
        fresh.campaign = Campaign.objects.select_related("organisation").get(pk=b.campaign.pk)
        (planned,) = preview(fresh.campaign, [fresh])
    return planned


def store(b: Builder, today: datetime.date = TODAY) -> StoredEstimates:
    return do_store_estimates(b.campaign.pk, organisation=b.organisation, actor=ACTOR, today=today)


def versions(b: Builder, name: str) -> list[Reading]:
    with scopes_disabled():
        return list(
            Reading.with_trashed.filter(
                campaign=b.campaign, register_id=b.lines[name].register_id
            ).order_by("version")
        )


def effective(b: Builder, name: str) -> Reading | None:
    found = [reading for reading in versions(b, name) if reading.is_effective]
    return found[0] if found else None


def audit_actions() -> list[str]:
    with scopes_disabled():
        return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


# --- the cases of PLAUSIBILITY.md ---------------------------------------------------------------


@pytest.fixture
def cases(org_a: OrgData) -> Builder:
    b = Builder.campaign_of(org_a.organisation, "Schätzung 2026")
    # R_est = R_prev + Q × W(prev, key) / W(reference); uniform weights for water: days / 365
    b.line("year", previous=1000, previous_date=datetime.date(2025, 12, 31), consumption=365)
    b.line("half", previous=1000, previous_date=datetime.date(2026, 7, 1), consumption=73)
    # gas: monthly shares (per mille) Oct 80 + Nov 120 + Dec 1–30 of 160 = 354.84 ‰ …
    b.line(
        "gas",
        kind="gas",
        decimals=3,
        previous=100,
        previous_date=datetime.date(2026, 10, 1),
        consumption=1000,
    )
    # wrap at 10^n: 9990 + 365 on a four-digit counter
    b.line("wrap", digits=4, previous=9990, consumption=365)
    # no Q: the median of the organisation's garden meters (10, 20, 60 → 20), not the others'
    for q in (10, 20, 60):
        b.line(f"garden_{q}", kind="water_garden", previous=5, consumption=q)
        b.reading(f"garden_{q}", 5 + q, reading_date=KEY_DATE)
    b.line("new_garden", kind="water_garden", previous=500, consumption=None)
    b.line("negative_q", kind="water_garden", previous=700, consumption=-3)
    # nothing to carry, and nothing to go on
    b.line("no_previous", previous=None, previous_date=None, consumption=100)
    b.line("no_basis", kind="heat", previous=50, consumption=None)
    return b


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value", "consumption", "basis", "days", "share"),
    [
        ("year", Decimal(1365), Decimal(365), EstimateBasis.PREVIOUS_YEAR, 365, Decimal(1)),
        ("half", Decimal(1037), Decimal(37), EstimateBasis.PREVIOUS_YEAR, 183, Decimal(183) / 365),
        ("wrap", Decimal(355), Decimal(365), EstimateBasis.PREVIOUS_YEAR, 365, Decimal(1)),
        ("new_garden", Decimal(520), Decimal(20), EstimateBasis.MEDIAN, 365, Decimal(1)),
        ("negative_q", Decimal(720), Decimal(20), EstimateBasis.MEDIAN, 365, Decimal(1)),
    ],
)
def test_uniform_weights_wrap_and_median(
    cases: Builder,
    name: str,
    value: Decimal,
    consumption: Decimal,
    basis: EstimateBasis,
    days: int,
    share: Decimal,
) -> None:
    planned = plan_of(cases, name)
    assert planned.status == EstimateStatus.NEW
    assert planned.estimate is not None
    assert (planned.estimate.value, planned.estimate.consumption) == (value, consumption)
    assert (planned.estimate.basis, planned.days, planned.share) == (basis, days, share)
    assert planned.weights_label == "gleichmäßig (jeder Tag gleich)"


@pytest.mark.django_db
def test_monthly_weights_for_gas(cases: Builder) -> None:
    planned = plan_of(cases, "gas")
    assert planned.estimate is not None
    expected_share = (Decimal(80) + Decimal(120) + Decimal(160) * 30 / 31) / 1000
    assert abs(planned.share - expected_share) < Decimal("1e-12")  # type: ignore[operator]
    assert planned.estimate.consumption == Decimal("354.839")  # three decimals: the register's
    assert planned.estimate.value == Decimal("454.839")
    assert planned.weights_label == "Heizprofil (Standard)"
    assert planned.days == 91


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "status"),
    [("no_previous", EstimateStatus.NO_PREVIOUS), ("no_basis", EstimateStatus.NO_BASIS)],
)
def test_no_estimate_without_a_previous_reading_or_a_basis(
    cases: Builder, name: str, status: EstimateStatus
) -> None:
    planned = plan_of(cases, name)
    assert (planned.status, planned.estimate, planned.storable) == (status, None, False)


@pytest.mark.django_db
def test_the_summary_counts_what_the_run_will_do(cases: Builder) -> None:
    with organisation_scope(cases.organisation):
        counts = summary(cases.campaign)
    assert counts == EstimateSummary(missing=8, no_previous=1, no_basis=1)
    assert (counts.candidates, counts.computable) == (8, 6)


# --- storing and re-running ---------------------------------------------------------------------


@pytest.mark.django_db
def test_store_writes_source_a_at_the_key_date_with_an_audit_entry_each(cases: Builder) -> None:
    before = audit_actions()
    result = store(cases)
    assert result == StoredEstimates(created=6, replaced=0, unchanged=0, not_possible=2)
    reading = effective(cases, "year")
    assert reading is not None
    assert (reading.value, reading.reading_date, reading.source) == (
        Decimal(1365),
        KEY_DATE,
        ReadingSource.ESTIMATE,
    )
    assert (reading.version, reading.state, reading.outcome) == (1, ReviewState.SUBMITTED, "ok")
    assert effective(cases, "no_previous") is None
    assert effective(cases, "no_basis") is None
    new = audit_actions()[len(before) :]
    assert sorted(new) == ["campaign.estimated"] + ["reading.estimated"] * 6
    with scopes_disabled():
        entry = AuditEntry.objects.get(action="reading.estimated", object_id=str(reading.pk))
        line = CampaignMeter.objects.get(pk=cases.lines["year"].pk)
    assert entry.data["basis"] == "previous_year"
    assert entry.actor_label == "test"
    assert line.last_version == 1


@pytest.mark.django_db
def test_running_again_is_idempotent(cases: Builder) -> None:
    store(cases)
    before = audit_actions()
    again = store(cases)
    assert again == StoredEstimates(created=0, replaced=0, unchanged=6, not_possible=2)
    assert [r.version for r in versions(cases, "year")] == [1]
    assert audit_actions() == before


@pytest.mark.django_db
def test_a_changed_basis_replaces_an_automatic_estimate_by_a_new_version(cases: Builder) -> None:
    store(cases)
    with scopes_disabled():
        CampaignMeter.objects.filter(pk=cases.lines["year"].pk).update(
            previous_year_consumption=Decimal(730)
        )
    result = store(cases)
    assert (result.created, result.replaced, result.unchanged) == (0, 1, 5)
    first, second = versions(cases, "year")
    assert (first.value, first.is_effective) == (Decimal(1365), False)
    assert (second.value, second.is_effective, second.version) == (Decimal(1730), True, 2)


@pytest.mark.django_db
def test_released_estimates_manual_estimates_and_real_readings_stay(cases: Builder) -> None:
    released = cases.reading("year", 1300, source=ReadingSource.ESTIMATE, state="released")
    manual = cases.reading("half", 1040, source=ReadingSource.MANUAL_ESTIMATE)
    real = cases.reading("wrap", 10, source=ReadingSource.LETTER, outcome="warning")
    store(cases)
    for name, kept in (("year", released), ("half", manual), ("wrap", real)):
        assert [r.pk for r in versions(cases, name)] == [kept.pk], name
        assert effective(cases, name) == kept
    with organisation_scope(cases.organisation):
        counts = summary(cases.campaign)
        candidates = set(candidate_lines(cases.campaign).values_list("pk", flat=True))
    assert (counts.released, counts.manual) == (1, 1)
    assert cases.lines["year"].pk not in candidates


@pytest.mark.django_db
def test_a_real_reading_after_the_estimate_supersedes_it_and_is_never_replaced(
    cases: Builder,
) -> None:
    store(cases)
    real = cases.reading("year", 1370, source=ReadingSource.PHONE)
    result = store(cases)
    assert result.unchanged == 5
    assert effective(cases, "year") == real
    assert len(versions(cases, "year")) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": CampaignStatus.DRAFT}, "noch nicht geöffnet"),
        ({"status": CampaignStatus.EXPORTED}, "bereits exportiert"),
        (
            {"status": CampaignStatus.OPEN, "online_until": datetime.date(2027, 1, 31)},
            "läuft noch bis zum 31.01.2027",
        ),
        ({"status": CampaignStatus.OPEN, "online_until": None}, "läuft noch"),
        ({"key_date": datetime.date(2027, 3, 31)}, "ab diesem Tag"),
    ],
)
def test_estimates_wait_for_the_end_of_the_online_window_and_the_key_date(
    cases: Builder, changes: dict[str, Any], message: str
) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=cases.campaign.pk).update(**changes)
    before = audit_actions()
    with pytest.raises(EstimatesRefused, match=message):
        store(cases)
    assert versions(cases, "year") == []
    assert audit_actions() == before


@pytest.mark.django_db
def test_an_open_campaign_whose_window_is_over_can_be_estimated(cases: Builder) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=cases.campaign.pk).update(status=CampaignStatus.OPEN)
        campaign = Campaign.objects.get(pk=cases.campaign.pk)
    assert estimate_refusal(campaign, TODAY) is None
    assert estimate_refusal(campaign, datetime.date(2027, 1, 15)) is not None
    assert store(cases).created == 6


@pytest.mark.django_db
def test_a_campaign_of_another_organisation_is_not_found(cases: Builder, org_b: OrgData) -> None:
    with pytest.raises(EstimatesRefused, match="gibt es nicht"):
        do_store_estimates(
            cases.campaign.pk, organisation=org_b.organisation, actor=ACTOR, today=TODAY
        )
    assert versions(cases, "year") == []


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_store_every_estimate_once(org_a: OrgData) -> None:
    b = Builder.campaign_of(org_a.organisation, "Gleichzeitig")
    for index in range(20):
        b.line(f"m{index}")
    barrier = threading.Barrier(2)
    results: list[StoredEstimates] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(store(b))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(result.created for result in results) == [0, 20]
    assert sorted(result.unchanged for result in results) == [0, 20]
    with scopes_disabled():
        assert Reading.objects.filter(campaign=b.campaign).count() == 20
        assert AuditEntry.objects.filter(action="reading.estimated").count() == 20
        assert AuditEntry.objects.filter(action="campaign.estimated").count() == 1


# --- manual estimates ---------------------------------------------------------------------------


def manual(b: Builder, name: str, value: str, note: str, seen: int | None = None) -> Reading:
    return do_record_manual_estimate(
        b.campaign,
        b.lines[name].pk,
        value=value,
        note=note,
        seen=seen,
        organisation=b.organisation,
        actor=ACTOR,
        today=TODAY,
    ).reading


@pytest.mark.django_db
def test_a_manual_estimate_needs_a_note_and_is_dated_at_the_key_date(cases: Builder) -> None:
    with pytest.raises(ReadingRefused, match="braucht einen Vermerk"):
        manual(cases, "no_basis", "80", "")
    reading = manual(cases, "no_basis", "80", "Telefonisch geschätzt")
    assert (reading.source, reading.reading_date, reading.note) == (
        ReadingSource.MANUAL_ESTIMATE,
        KEY_DATE,
        "Telefonisch geschätzt",
    )


@pytest.mark.django_db
def test_a_manual_estimate_replaces_an_automatic_one_and_stays_on_rerun(cases: Builder) -> None:
    store(cases)
    automatic = effective(cases, "year")
    assert automatic is not None
    with pytest.raises(ReadingConflict):
        manual(cases, "year", "1400", "Zähler unzugänglich", seen=None)
    reading = manual(cases, "year", "1400", "Zähler unzugänglich", seen=automatic.pk)
    assert effective(cases, "year") == reading
    assert store(cases).unchanged == 5
    assert effective(cases, "year") == reading


@pytest.mark.django_db
def test_a_manual_estimate_never_replaces_a_real_reading(cases: Builder) -> None:
    real = cases.reading("year", 1370, source=ReadingSource.PHONE)
    with pytest.raises(ReadingRefused, match="abgelesener Zählerstand"):
        manual(cases, "year", "1400", "Schätzung", seen=real.pk)
    assert effective(cases, "year") == real


@pytest.mark.django_db
def test_a_manual_estimate_waits_for_the_window_too(cases: Builder) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=cases.campaign.pk).update(status=CampaignStatus.DRAFT)
        cases.campaign.refresh_from_db()
    with pytest.raises(ReadingRefused, match="noch nicht geöffnet"):
        manual(cases, "no_basis", "80", "Schätzung")


@pytest.mark.django_db
def test_a_manual_estimate_with_an_error_is_refused(cases: Builder) -> None:
    with pytest.raises(ReadingRefused, match="Stellen"):
        manual(cases, "no_basis", "1234567", "zu lang")
    with pytest.raises(ReadingRefused, match="gibt es in der Ableseaktion nicht"):
        do_record_manual_estimate(
            cases.campaign,
            999999,
            value="1",
            note="x",
            seen=None,
            organisation=cases.organisation,
            actor=ACTOR,
            today=TODAY,
        )


# --- previous readings that were estimates -------------------------------------------------------


@pytest.mark.django_db
def test_next_years_lines_learn_that_their_previous_reading_was_an_estimate(
    cases: Builder, org_a: OrgData
) -> None:
    store(cases)
    estimated = effective(cases, "year")
    assert estimated is not None
    year = cases.lines["year"]
    later = Builder(
        org_a.organisation,
        Builder.campaign_of(
            org_a.organisation, "Schätzung 2027", key_date=datetime.date(2027, 12, 31)
        ).campaign,
    )
    same = later.line(
        "same", register=year.register, previous=estimated.value, previous_date=KEY_DATE
    )
    later.line("other", previous=estimated.value, previous_date=KEY_DATE)  # another meter
    with organisation_scope(org_a.organisation):
        assert mark_estimated_previous_readings(later.campaign) == 1
        assert mark_estimated_previous_readings(later.campaign) == 0
        flags = dict(
            CampaignMeter.objects.filter(campaign=later.campaign).values_list(
                "pk", "previous_was_estimate"
            )
        )
    assert flags[same.pk] is True
    assert flags[later.lines["other"].pk] is False
