"""Release (Freigabe): release runs with re-check and log, manual release, two runs at once.

Uses ``Town`` from ``test_review`` (1100 plausible, 1200 a warning, 1500 implausible).
"""

import datetime
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django_scopes import scopes_disabled
from hypothesis import given
from hypothesis import strategies as st

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    MeterKind,
    Organisation,
    Reading,
    ReadingSource,
    Register,
    ReleaseLogEntry,
    ReleaseRun,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import readings
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import ReadingRefused, check_value
from ablesung.core.services.release import (
    LOG_HEADER,
    MAX_SELECTION,
    CampaignChecker,
    ReleaseFilter,
    ReleaseRefused,
    ReleaseSelection,
    _Row,
    covered_readings,
    do_release_reading,
    do_release_readings,
    log_rows,
    runs_of,
)
from ablesung.core.services.review import (
    do_accept_reading,
    do_request_control_reading,
)
from tests.core.test_review import (
    CLERK,
    IMPLAUSIBLE,
    NOW,
    OK,
    TODAY,
    WARNING,
    Town,
    actions,
    make_town,
    record,
)

WHOLE = ReleaseSelection()


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def town(db: Any) -> Town:
    return make_town()


def release(town: Town, selection: ReleaseSelection = WHOLE, **kwargs: Any) -> ReleaseRun:
    return do_release_readings(
        town.campaign,
        selection,
        organisation=town.organisation,
        actor=kwargs.pop("actor", CLERK),
        today=TODAY,
        **kwargs,
    )


def states(town: Town) -> dict[str, str]:
    with scopes_disabled():
        rows = Reading.objects.filter(campaign=town.campaign, is_effective=True).values_list(
            "register__meter__number", "state"
        )
        return dict(rows)


def log_of(run: ReleaseRun) -> list[tuple[str, str, bool, str]]:
    with scopes_disabled():
        return list(
            ReleaseLogEntry.objects.filter(run=run).values_list(
                "meter_number", "outcome", "released", "reason"
            )
        )


# --- a release run -----------------------------------------------------------------------------


def test_plausible_readings_are_released_and_implausible_ones_kept_and_logged(
    town: Town,
) -> None:
    record(town, "M1", OK)
    record(town, "M2", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    record(town, "M3", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="pipe_burst")
    record(town, "M4", IMPLAUSIBLE)  # a clerk's, with a note: still not accepted in review
    run = release(town)
    assert states(town) == {
        "M1": ReviewState.RELEASED,
        "M2": ReviewState.RELEASED,
        "M3": ReviewState.SUBMITTED,
        "M4": ReviewState.SUBMITTED,
    }
    assert (run.checked, run.released, run.refused) == (4, 2, 2)
    assert run.finished_at is not None
    assert run.actor_label == CLERK.label
    assert run.scope == "ganze Ableseaktion"
    assert town.effective("M1").released_at is not None
    reason = (
        "Unplausibel und in der Prüfung nicht angenommen: Ihr Verbrauch von 500 m³ ist mehr "
        "als dreimal so hoch wie erwartet (ca. 99 m³). Bitte prüfen Sie die Ablesung."
    )
    assert log_of(run) == [
        ("M3", "implausible", False, reason),
        ("M4", "implausible", False, reason),
    ]
    with scopes_disabled():
        entry = ReleaseLogEntry.objects.get(run=run, meter_number="M3")
    assert (entry.object_number, entry.value, entry.reading_date) == (
        "O-M3",
        Decimal(IMPLAUSIBLE),
        TODAY,
    )
    assert entry.reading_id == town.effective("M3").pk
    released = actions(town, "reading.released")
    assert sorted(int(e.object_id) for e in released) == sorted(
        [town.effective("M1").pk, town.effective("M2").pk]
    )
    assert {(e.data["manual"], e.data["run"], e.actor_label) for e in released} == {
        (False, run.pk, CLERK.label)
    }
    assert {e.data["outcome"] for e in released} == {"ok", "warning"}
    (completed,) = actions(town, "release_run.completed")
    assert completed.data == {
        "campaign": town.campaign.pk,
        "scope": "ganze Ableseaktion",
        "checked": 4,
        "released": 2,
        "refused": 2,
    }


def test_an_implausible_reading_accepted_in_review_is_released(town: Town) -> None:
    reading = record(town, "M1", IMPLAUSIBLE)
    do_accept_reading(reading.pk, organisation=town.organisation, actor=CLERK, note="Pool")
    run = release(town)
    assert (run.released, run.refused) == (1, 0)
    assert states(town) == {"M1": ReviewState.RELEASED}


def test_the_release_checks_again_against_the_thresholds_of_now(town: Town) -> None:
    record(town, "M1", WARNING)  # stored as a warning
    record(town, "M2", IMPLAUSIBLE)  # stored as implausible
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(
            settings={"plausibility": {"band_upper_pct": "40", "implausible_factor": "1.5"}}
        )
    run = release(town)
    assert states(town) == {"M1": ReviewState.SUBMITTED, "M2": ReviewState.SUBMITTED}
    assert [(number, outcome) for number, outcome, _r, _t in log_of(run)] == [
        ("M1", "implausible"),
        ("M2", "implausible"),
    ]


def test_a_value_that_became_an_error_is_never_released_automatically(town: Town) -> None:
    reading = record(town, "M1", OK)
    do_accept_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    with scopes_disabled():  # a re-import moved the previous reading after this one
        CampaignMeter.objects.filter(pk=town.line("M1").pk).update(
            previous_date=datetime.date(2026, 12, 31)
        )
    run = release(town)
    assert states(town) == {"M1": ReviewState.REVIEWED}
    [(_number, outcome, released, reason)] = log_of(run)
    assert (outcome, released) == ("error", False)
    assert reason.startswith("Fehler bei der erneuten Prüfung: Das Ablesedatum")


def test_a_value_older_than_a_requested_control_reading_waits_for_it(town: Town) -> None:
    record(town, "M1", OK)
    record(town, "M2", OK)
    for number in ("M1", "M2"):
        do_request_control_reading(
            town.line(number).pk, organisation=town.organisation, actor=CLERK
        )
    with time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False):
        record(town, "M2", 1101)  # the control reading came in
        run = release(town)
    assert states(town) == {"M1": ReviewState.SUBMITTED, "M2": ReviewState.RELEASED}
    [(number, outcome, _released, reason)] = log_of(run)
    assert (number, outcome) == ("M1", "ok")
    assert reason == "Kontrollablesung am 30.12.2026 angefordert; der Wert stammt von vorher."


def test_the_log_is_german_whatever_the_clerks_language(town: Town) -> None:
    from django.utils import translation

    record(town, "M1", IMPLAUSIBLE)
    with translation.override("en"):
        run = release(town, ReleaseSelection(filter=ReleaseFilter(outcome="implausible")))
    assert run.scope == "Filter: Plausibilität: unplausibel"
    assert log_of(run)[0][3].startswith("Unplausibel und in der Prüfung nicht angenommen: Ihr")


# --- what a run covers -------------------------------------------------------------------------


def test_a_selection_of_readings_releases_those_only(town: Town) -> None:
    chosen = [record(town, number, OK).pk for number in ("M1", "M2")]
    record(town, "M3", OK)
    run = release(town, ReleaseSelection(reading_ids=(*chosen, 10**9)))
    assert states(town) == {
        "M1": ReviewState.RELEASED,
        "M2": ReviewState.RELEASED,
        "M3": ReviewState.SUBMITTED,
    }
    assert (run.checked, run.released, run.scope) == (2, 2, "Auswahl: 3 Zählerstände")


def test_a_filter_releases_what_it_finds(town: Town) -> None:
    record(town, "M1", OK, source=ReadingSource.LETTER)
    record(town, "M2", OK, source=ReadingSource.PHONE)
    record(town, "M3", WARNING, source=ReadingSource.ONLINE, reason="vacancy")
    record(town, "M4", IMPLAUSIBLE, source=ReadingSource.ONLINE, reason="vacancy")
    run = release(town, ReleaseSelection(filter=ReleaseFilter(source=ReadingSource.LETTER)))
    assert run.scope == "Filter: Quelle: Ablesekarte"
    assert states(town)["M1"] == ReviewState.RELEASED
    assert states(town)["M2"] == ReviewState.SUBMITTED
    queue = release(town, ReleaseSelection(filter=ReleaseFilter(review_queue=True)))
    assert (queue.checked, queue.released, queue.refused) == (2, 1, 1)
    assert states(town)["M3"] == ReviewState.RELEASED
    assert states(town)["M4"] == ReviewState.SUBMITTED


def test_filter_conditions_and_descriptions(town: Town) -> None:
    record(town, "M1", OK)
    reviewed = record(town, "M2", IMPLAUSIBLE)
    do_accept_reading(reviewed.pk, organisation=town.organisation, actor=CLERK, note="ok")
    chosen = ReleaseFilter(
        outcome="implausible", state=ReviewState.REVIEWED, kind=MeterKind.WATER_MAIN
    )
    with organisation_scope(town.organisation):
        found = covered_readings(town.campaign, ReleaseSelection(filter=chosen))
        assert [reading.pk for reading in found] == [reviewed.pk]
        assert covered_readings(town.campaign, WHOLE).count() == 2
    assert chosen.describe() == (
        "Plausibilität: unplausibel, Bearbeitungsstand: Geprüft, Zählerart: Hauptwasserzähler"
    )
    assert ReleaseFilter().describe() == "alle"
    assert WHOLE.is_whole_campaign


def test_readings_of_meters_in_the_trash_are_not_released(town: Town) -> None:
    from ablesung.core.services.trash import do_delete_record

    record(town, "M1", OK)
    record(town, "M2", OK)
    do_delete_record(
        "meter", town.line("M2").register.meter_id, organisation=town.organisation, actor=CLERK
    )
    assert release(town).checked == 1
    assert states(town) == {"M1": ReviewState.RELEASED, "M2": ReviewState.SUBMITTED}


# --- refusals ----------------------------------------------------------------------------------


def test_exported_campaigns_refuse_and_nothing_changes(town: Town) -> None:
    reading = record(town, "M1", OK)
    with scopes_disabled():
        Campaign.objects.filter(pk=town.campaign.pk).update(status=CampaignStatus.EXPORTED)
    with pytest.raises(ReleaseRefused, match="exportiert"):
        release(town)
    with pytest.raises(ReadingRefused, match="exportiert"):
        do_release_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    assert states(town) == {"M1": ReviewState.SUBMITTED}
    with scopes_disabled():
        assert not ReleaseRun.objects.exists()
    assert actions(town, "reading.released") == []


def test_nothing_to_release_is_refused_without_a_run(town: Town) -> None:
    with pytest.raises(ReleaseRefused, match="keine Zählerstände"):
        release(town)
    record(town, "M1", OK)
    release(town)
    with pytest.raises(ReleaseRefused, match="keine Zählerstände"):
        release(town)  # a second run finds everything released
    with scopes_disabled():
        assert ReleaseRun.objects.count() == 1
    assert len(actions(town, "reading.released")) == 1


def test_a_too_large_selection_is_refused(town: Town) -> None:
    with pytest.raises(ReleaseRefused, match="höchstens 500"):
        release(town, ReleaseSelection(reading_ids=tuple(range(1, MAX_SELECTION + 2))))


def test_a_campaign_in_the_trash_is_refused(town: Town) -> None:
    from ablesung.core.services.trash import do_delete_record

    record(town, "M1", OK)
    do_delete_record("campaign", town.campaign.pk, organisation=town.organisation, actor=CLERK)
    with pytest.raises(ReleaseRefused, match="Papierkorb"):
        release(town)


def test_a_citizens_change_after_release_is_refused(town: Town) -> None:
    record(town, "M1", 1150, source=ReadingSource.ONLINE)
    release(town)
    with pytest.raises(ReadingRefused, match="bereits von der Verwaltung freigegeben"):
        record(town, "M1", 1160, source=ReadingSource.ONLINE, actor=Actor.system("citizen"))
    assert town.effective("M1").value == Decimal(1150)
    assert town.effective("M1").state == ReviewState.RELEASED


# --- manual release ----------------------------------------------------------------------------


def test_a_manual_release_of_an_implausible_value_needs_a_note_and_is_logged(town: Town) -> None:
    reading = record(town, "M1", IMPLAUSIBLE, note="Karte")
    with pytest.raises(ReadingRefused, match="nur mit einem Vermerk freigegeben"):
        do_release_reading(reading.pk, organisation=town.organisation, actor=CLERK, note=" ")
    assert states(town) == {"M1": ReviewState.SUBMITTED}
    with scopes_disabled():
        assert not ReleaseRun.objects.exists()

    do_release_reading(
        reading.pk, organisation=town.organisation, actor=CLERK, note="Rohrbruch bestätigt"
    )
    released = town.effective("M1")
    assert released.state == ReviewState.RELEASED
    assert released.note == "Karte\nRohrbruch bestätigt"
    with scopes_disabled():
        (run,) = ReleaseRun.objects.filter(campaign=town.campaign)
    assert (run.checked, run.released, run.refused) == (1, 1, 0)
    assert run.scope == "Manuelle Freigabe: Zähler M1"
    assert log_of(run) == [("M1", "implausible", True, "Rohrbruch bestätigt")]
    (entry,) = actions(town, "reading.released")
    assert entry.data["manual"] is True
    assert entry.data["run"] == run.pk
    assert entry.data["note"] == "Rohrbruch bestätigt"
    # a second manual release changes nothing
    do_release_reading(reading.pk, organisation=town.organisation, actor=CLERK, note="x")
    assert len(actions(town, "reading.released")) == 1


def test_a_manual_release_of_a_plausible_value_needs_no_note_and_no_run(town: Town) -> None:
    reading = record(town, "M1", OK)
    do_release_reading(reading.pk, organisation=town.organisation, actor=CLERK)
    assert states(town) == {"M1": ReviewState.RELEASED}
    with scopes_disabled():
        assert not ReleaseRun.objects.exists()
    older = record(town, "M2", OK)
    record(town, "M2", 1110)
    with pytest.raises(ReadingRefused, match="Nur der gültige Zählerstand"):
        do_release_reading(older.pk, organisation=town.organisation, actor=CLERK)
    with pytest.raises(ReadingRefused, match="gibt es nicht"):
        do_release_reading(10**9, organisation=town.organisation, actor=CLERK)
    with pytest.raises(ReadingRefused, match="500 Zeichen"):
        do_release_reading(older.pk, organisation=town.organisation, actor=CLERK, note="x" * 501)


# --- the log as CSV rows -----------------------------------------------------------------------


def test_log_rows_are_german(town: Town) -> None:
    add = town.lines["M1"]
    with scopes_disabled():
        Meter.objects.filter(pk=add.register.meter_id).update(decimals=1, digits=6)
    record(town, "M1", "1500,5", note="laut Karte")
    run = release(town)
    with organisation_scope(town.organisation):
        rows = list(log_rows(run))
        assert list(runs_of(town.campaign)) == [run]
    assert rows[0] == LOG_HEADER
    assert rows[1][:7] == ("O-M1", "M1", "", "1500,5", "30.12.2026", "unplausibel", "nein")


# --- the run's check is the readings service's check -------------------------------------------


KINDS = [MeterKind.WATER_MAIN, MeterKind.GAS, MeterKind.HEAT, MeterKind.ELECTRICITY]


@given(
    value=st.decimals(min_value=0, max_value=99999, places=2),
    reading_offset=st.integers(min_value=-120, max_value=20),
    previous=st.one_of(st.none(), st.decimals(min_value=0, max_value=99999, places=0)),
    previous_offset=st.integers(min_value=200, max_value=500),
    estimate=st.booleans(),
    quantity=st.one_of(st.none(), st.decimals(min_value=0, max_value=5000, places=1)),
    kind=st.sampled_from(KINDS),
    decimals=st.integers(min_value=0, max_value=2),
    requested=st.booleans(),
    reviewed=st.booleans(),
)
def test_the_runs_check_equals_the_readings_services_check(
    value: Decimal,
    reading_offset: int,
    previous: Decimal | None,
    previous_offset: int,
    estimate: bool,
    quantity: Decimal | None,
    kind: str,
    decimals: int,
    requested: bool,
    reviewed: bool,
) -> None:
    """In memory, no database: the campaign overrides one threshold, the organisation has
    its own gas profile."""
    shares = [str(x) for x in (150, 140, 120, 90, 50, 30, 20, 20, 40, 80, 120, 140)]
    organisation = Organisation(
        slug="x",
        name="X",
        settings={"consumption_profiles": {"gas": {"year": 2026, "shares": shares}}},
    )
    campaign = Campaign(
        organisation=organisation,
        key_date=datetime.date(2026, 12, 31),
        settings={"plausibility": {"band_upper_pct": "60"}},
    )
    meter = Meter(organisation=organisation, number="Z1", kind=kind, digits=5, decimals=decimals)
    register = Register(organisation=organisation, meter=meter, code="")
    reading_date = campaign.key_date + datetime.timedelta(days=reading_offset)
    previous_date = reading_date - datetime.timedelta(days=previous_offset)
    line = CampaignMeter(
        organisation=organisation,
        campaign=campaign,
        register=register,
        previous_value=previous,
        previous_date=previous_date if previous is not None else None,
        previous_was_estimate=estimate,
        previous_year_consumption=quantity,
    )
    today = datetime.date(2027, 1, 5)
    row = _Row(
        1,
        1,
        value,
        reading_date,
        ReviewState.REVIEWED if reviewed else ReviewState.SUBMITTED,
        line.previous_value,
        line.previous_date,
        line.previous_was_estimate,
        line.previous_year_consumption,
        NOW if requested else None,
        kind,
        5,
        decimals,
    )
    assert CampaignChecker(campaign, today).check(row) == check_value(
        line, value, reading_date, today=today
    )


# --- two runs at once (real connections) ------------------------------------------------------


def _in_threads(*works: Callable[[], Any]) -> list[BaseException | None]:
    """Runs each work in its own thread (own connection), started together."""
    barrier = threading.Barrier(len(works))
    outcomes: list[BaseException | None] = [None] * len(works)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as error:  # handed to the caller
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _started(work: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    """Starts ``work`` in a thread of its own (its own connection); errors are collected."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # handed to the caller
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _released_once(town: Town, expected: int) -> None:
    """Every effective reading released once: one state change, one audit entry each."""
    with scopes_disabled():
        readings_ = list(Reading.objects.filter(campaign=town.campaign, is_effective=True))
        audited = list(
            AuditEntry.objects.filter(
                organisation=town.organisation, action="reading.released"
            ).values_list("object_id", flat=True)
        )
    assert len(readings_) == expected
    assert {reading.state for reading in readings_} == {ReviewState.RELEASED}
    assert sorted(audited) == sorted(str(reading.pk) for reading in readings_)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_release_runs_at_once_release_each_reading_once(round_: int) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two writers at once: PostgreSQL (SQLite has one writer at a time)")
    town = make_town(f"parallel-{round_}", 40)
    for number in town.lines:
        record(town, number, OK + int(number[1:]))
    outcomes = _in_threads(lambda: release(town), lambda: release(town))
    refused = [error for error in outcomes if error is not None]
    assert len(refused) == 1, outcomes  # the second found nothing left to release
    assert isinstance(refused[0], ReleaseRefused)
    _released_once(town, 40)
    with scopes_disabled():
        (run,) = ReleaseRun.objects.filter(campaign=town.campaign)
    assert (run.checked, run.released) == (40, 40)


@pytest.mark.django_db(transaction=True)
def test_a_selection_and_the_whole_campaign_at_once_release_each_reading_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two writers at once: PostgreSQL (SQLite has one writer at a time)")
    town = make_town("parallel-mixed", 30)
    ids = [record(town, number, OK).pk for number in town.lines]
    chosen = ReleaseSelection(reading_ids=tuple(ids[:10]))
    outcomes = _in_threads(  # and a manual release of one of the chosen at the same time
        lambda: release(town, chosen),
        lambda: release(town),
        lambda: do_release_reading(ids[5], organisation=town.organisation, actor=CLERK),
    )
    assert all(error is None or isinstance(error, ReleaseRefused) for error in outcomes), outcomes
    _released_once(town, 30)
    with scopes_disabled():
        runs = list(ReleaseRun.objects.filter(campaign=town.campaign))
    by_runs = [entry for entry in actions(town, "reading.released") if not entry.data["manual"]]
    assert sum(run.released for run in runs) == len(by_runs) >= 29


@pytest.mark.django_db(transaction=True)
def test_a_run_waits_for_a_writer_of_a_register_and_releases_its_new_version() -> None:
    """A citizen's transaction holds the register's line (the readings service's lock)
    and stores a new version; the run started meanwhile waits, then re-checks and releases
    the new version, never the superseded one."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite's write transaction is one lock)")
    town = make_town("parallel-writer", 2)
    old = record(town, "M1", OK)
    record(town, "M2", OK)
    line = town.line("M1")
    holding, go_on = threading.Event(), threading.Event()
    new_pk: list[int] = []

    def writer() -> None:
        with organisation_scope(town.organisation), transaction.atomic():
            readings.locked_lines(CampaignMeter.objects.filter(pk=line.pk))
            holding.set()
            go_on.wait(timeout=20)
            Reading.objects.filter(pk=old.pk).update(is_effective=False)
            new_pk.append(
                Reading.objects.create(
                    organisation=town.organisation,
                    campaign=town.campaign,
                    register_id=line.register_id,
                    version=2,
                    is_effective=True,
                    value=Decimal(1120),
                    reading_date=TODAY,
                    source=ReadingSource.ONLINE,
                ).pk
            )
            CampaignMeter.objects.filter(pk=line.pk).update(last_version=2)

    def waiting_for_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            (count,) = cursor.fetchone()
        return bool(count)

    writer_thread, writer_errors = _started(writer)
    assert holding.wait(timeout=10)
    runner, runner_errors = _started(lambda: release(town))
    for _ in range(200):
        if waiting_for_a_lock():
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail("the run did not wait for the writer's lock")
    go_on.set()
    writer_thread.join(timeout=30)
    runner.join(timeout=30)
    assert writer_errors == runner_errors == []
    with scopes_disabled():
        superseded = Reading.objects.get(pk=old.pk)
        newer = Reading.objects.get(pk=new_pk[0])
    assert superseded.state == ReviewState.SUBMITTED
    assert newer.state == ReviewState.RELEASED
    _released_once(town, 2)


# --- the audit entries' SQL writes what the ORM writes -----------------------------------------


def test_the_release_audit_entries_are_those_audit_record_writes(town: Town) -> None:
    from ablesung.accounts.models import User
    from ablesung.core.services import audit

    with scopes_disabled():
        user = User.objects.create_user("freigabe@pruefstadt.example", "x-Pferd-Batterie-9")
    actor = Actor(user=user, label=user.email, ip="2001:db8::7")
    first = record(town, "M1", OK)
    second = record(town, "M2", WARNING)
    run = release(town, actor=actor)
    fields = [
        "organisation_id",
        "actor_id",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "data",
        "client_ip",
        "created_at",
        "redacted_at",
    ]
    with scopes_disabled():
        written = list(
            AuditEntry.objects.filter(action="reading.released").order_by("pk").values(*fields)
        )
        expected = []
        for reading, outcome in ((first, "ok"), (second, "warning")):
            reading = Reading.objects.get(pk=reading.pk)
            entry = audit.record(
                "reading.released",
                actor=actor,
                organisation=town.organisation,
                obj=reading,
                data={
                    "register": reading.register_id,
                    "campaign": reading.campaign_id,
                    "version": reading.version,
                    "outcome": outcome,
                    "manual": False,
                    "run": run.pk,
                },
            )
            AuditEntry.objects.filter(pk=entry.pk).update(created_at=reading.released_at)
            expected.append(AuditEntry.objects.filter(pk=entry.pk).values(*fields).get())
    assert sorted(written, key=lambda row: row["object_id"]) == sorted(
        expected, key=lambda row: row["object_id"]
    )
