"""Reading versions through record, correct, release, trash, restore and purge.

The rule (``ablesung.core.services.readings``): the effective version is the newest one
not in the trash, held by the database as one flagged row per (campaign, register);
purge never changes it; released versions are never trashed and only replaced by a
clerk's new version with a note. A table walks fixed sequences and checks the effective
value and the history after every step; a hypothesis state machine checks the same
invariant over random sequences. Both run on SQLite and PostgreSQL.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    Organisation,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import (
    ReadingRefused,
    Submission,
    do_record_reading,
)
from ablesung.core.services.release import do_release_reading
from ablesung.core.services.trash import (
    TrashError,
    do_delete_record,
    do_restore_record,
    purge_expired,
)

NOW = datetime.datetime(2026, 12, 30, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
LATER = NOW + datetime.timedelta(days=400)  # a purge then removes everything in the trash
CLERK = Actor.system("clerk")


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class Register_:
    organisation: Organisation
    line: CampaignMeter


_counter = iter(range(1, 10**6))


def new_register(organisation: Organisation | None = None) -> Register_:
    """A fresh register in an open campaign (its own organisation unless given)."""
    number = next(_counter)
    with scopes_disabled():
        org = organisation or Organisation.objects.create(slug=f"v-{number}", name=f"V {number}")
        campaign = Campaign.objects.create(
            organisation=org,
            name=f"Ablesung {number}",
            key_date=datetime.date(2026, 12, 31),
            status=CampaignStatus.OPEN,
            online_from=datetime.date(2026, 12, 1),
            online_until=datetime.date(2027, 1, 15),
        )
        prop = Property.objects.create(organisation=org, object_number=f"O-{number}")
        meter = Meter.objects.create(organisation=org, property=prop, number=f"M-{number}")
        register = Register.objects.create(organisation=org, meter=meter)
        line = CampaignMeter.objects.create(
            organisation=org,
            campaign=campaign,
            register=register,
            previous_value=Decimal(1000),
            previous_date=datetime.date(2026, 1, 2),
            previous_year_consumption=Decimal(100),
        )
        line = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=line.pk)
    return Register_(org, line)


def record(
    reg: Register_, value: int, *, source: str = ReadingSource.PHONE, note: str = ""
) -> Reading:
    return do_record_reading(
        reg.line,
        Submission(str(value), TODAY, reason="vacancy", note=note, confirmed=True),
        source=source,
        actor=CLERK,
        today=TODAY,
    ).reading


def versions(reg: Register_) -> list[Reading]:
    with scopes_disabled():
        return list(Reading.with_trashed.filter(register=reg.line.register).order_by("version"))


def effective(reg: Register_) -> Decimal | None:
    flagged = [reading for reading in versions(reg) if reading.is_effective]
    assert len(flagged) <= 1
    return flagged[0].value if flagged else None


def version_pk(reg: Register_, version: int) -> int:
    return next(reading.pk for reading in versions(reg) if reading.version == version)


def history(reg: Register_) -> list[tuple[int, int, bool]]:
    """(version, value, in the trash) of every version that still exists."""
    return [
        (reading.version, int(reading.value), reading.deleted_at is not None)
        for reading in versions(reg)
    ]


def apply(reg: Register_, step: str) -> None:
    """One step of a sequence: ``record 1010``, ``citizen 1010``, ``clerk-note 1010``,
    ``trash 2``, ``restore 2``, ``release``, ``purge``."""
    verb, _, argument = step.partition(" ")
    org = reg.organisation
    if verb == "record":
        record(reg, int(argument))
    elif verb == "citizen":
        record(reg, int(argument), source=ReadingSource.ONLINE)
    elif verb == "clerk-note":
        record(reg, int(argument), note="Ablesefehler laut Rückruf")
    elif verb == "trash":
        do_delete_record("reading", version_pk(reg, int(argument)), organisation=org, actor=CLERK)
    elif verb == "restore":
        do_restore_record("reading", version_pk(reg, int(argument)), organisation=org, actor=CLERK)
    elif verb == "release":
        current = next(reading for reading in versions(reg) if reading.is_effective)
        do_release_reading(current.pk, organisation=org, actor=CLERK, today=TODAY)
    elif verb == "purge":
        purge_expired(org, now=LATER)
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(step)


# Each case: (step, effective value after it, history after it as (version, value, trashed)).
CASES: dict[str, list[tuple[str, int | None, list[tuple[int, int, bool]]]]] = {
    "trashing the newest brings its predecessor back, purge keeps it": [
        ("record 1010", 1010, [(1, 1010, False)]),
        ("record 1020", 1020, [(1, 1010, False), (2, 1020, False)]),
        ("trash 2", 1010, [(1, 1010, False), (2, 1020, True)]),
        ("restore 2", 1020, [(1, 1010, False), (2, 1020, False)]),
        ("trash 2", 1010, [(1, 1010, False), (2, 1020, True)]),
        ("purge", 1010, [(1, 1010, False)]),
        ("record 1030", 1030, [(1, 1010, False), (3, 1030, False)]),
    ],
    "purging an older version never resurrects anything": [
        ("record 1010", 1010, [(1, 1010, False)]),
        ("record 1020", 1020, [(1, 1010, False), (2, 1020, False)]),
        ("record 1030", 1030, [(1, 1010, False), (2, 1020, False), (3, 1030, False)]),
        ("trash 2", 1030, [(1, 1010, False), (2, 1020, True), (3, 1030, False)]),
        ("purge", 1030, [(1, 1010, False), (3, 1030, False)]),
        ("trash 3", 1010, [(1, 1010, False), (3, 1030, True)]),
        ("purge", 1010, [(1, 1010, False)]),
        ("trash 1", None, [(1, 1010, True)]),
        ("purge", None, []),
        ("record 1040", 1040, [(4, 1040, False)]),
    ],
    "a value recorded while the newest was in the trash stays effective": [
        ("record 1010", 1010, [(1, 1010, False)]),
        ("record 1020", 1020, [(1, 1010, False), (2, 1020, False)]),
        ("trash 2", 1010, [(1, 1010, False), (2, 1020, True)]),
        ("record 1030", 1030, [(1, 1010, False), (2, 1020, True), (3, 1030, False)]),
        ("restore 2", 1030, [(1, 1010, False), (2, 1020, False), (3, 1030, False)]),
        ("trash 1", 1030, [(1, 1010, True), (2, 1020, False), (3, 1030, False)]),
        ("restore 1", 1030, [(1, 1010, False), (2, 1020, False), (3, 1030, False)]),
    ],
    "a released value is replaced only by a clerk's version with a note": [
        ("citizen 1010", 1010, [(1, 1010, False)]),
        ("release", 1010, [(1, 1010, False)]),
        ("clerk-note 1015", 1015, [(1, 1010, False), (2, 1015, False)]),
        ("trash 2", 1010, [(1, 1010, False), (2, 1015, True)]),
        ("purge", 1010, [(1, 1010, False)]),
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CASES))
def test_version_sequences(name: str) -> None:
    reg = new_register()
    for step, expected, expected_history in CASES[name]:
        apply(reg, step)
        value = effective(reg)
        assert (step, None if value is None else int(value)) == (step, expected)
        assert (step, history(reg)) == (step, expected_history)


@pytest.mark.django_db
def test_a_released_reading_cannot_be_trashed_or_replaced_without_a_note() -> None:
    reg = new_register()
    apply(reg, "citizen 1010")
    apply(reg, "release")
    with pytest.raises(TrashError, match="freigegeben"):
        apply(reg, "trash 1")
    with pytest.raises(ReadingRefused, match="freigegeben"):
        apply(reg, "citizen 1011")  # the citizen can no longer change it
    with pytest.raises(ReadingRefused, match="Vermerk"):
        apply(reg, "record 1012")  # nor a clerk without a note
    assert history(reg) == [(1, 1010, False)]
    [released] = versions(reg)
    assert released.state == ReviewState.RELEASED
    assert released.released_at == timezone.now()
    apply(reg, "clerk-note 1013")
    assert effective(reg) == Decimal(1013)
    assert versions(reg)[1].note == "Ablesefehler laut Rückruf"
    assert versions(reg)[0].state == ReviewState.RELEASED  # the released version is unchanged


@pytest.mark.django_db
def test_an_exported_campaigns_readings_cannot_be_trashed() -> None:
    reg = new_register()
    apply(reg, "record 1010")
    with scopes_disabled():
        Campaign.objects.filter(pk=reg.line.campaign_id).update(status=CampaignStatus.EXPORTED)
    with pytest.raises(TrashError, match="exportiert"):
        apply(reg, "trash 1")
    assert history(reg) == [(1, 1010, False)]


@pytest.mark.django_db
def test_only_the_effective_version_is_released_and_implausible_needs_a_note() -> None:
    reg = new_register()
    apply(reg, "record 1010")
    apply(reg, "clerk-note 1900")  # far more than expected: implausible, stored with a note
    older, newer = versions(reg)
    assert newer.outcome == "implausible"
    with pytest.raises(ReadingRefused, match="gültige"):
        do_release_reading(older.pk, organisation=reg.organisation, actor=CLERK, today=TODAY)
    with pytest.raises(ReadingRefused, match="Vermerk"):
        do_release_reading(newer.pk, organisation=reg.organisation, actor=CLERK, today=TODAY)
    do_release_reading(
        newer.pk, organisation=reg.organisation, actor=CLERK, note="Pool befüllt", today=TODAY
    )
    assert versions(reg)[1].state == ReviewState.RELEASED
    # releasing twice changes nothing and writes one audit entry
    do_release_reading(newer.pk, organisation=reg.organisation, actor=CLERK, today=TODAY)
    assert (
        AuditEntry.objects.filter(action="reading.released", object_id=str(newer.pk)).count() == 1
    )


@pytest.mark.django_db
def test_the_database_holds_one_effective_version_and_never_a_trashed_one() -> None:
    reg = new_register()
    apply(reg, "record 1010")
    apply(reg, "record 1020")
    first, second = versions(reg)
    with scopes_disabled():
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.with_trashed.filter(pk=first.pk).update(is_effective=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.with_trashed.filter(pk=second.pk).update(deleted_at=timezone.now())
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.with_trashed.filter(pk=first.pk).update(version=2)
    assert effective(reg) == Decimal(1020)


class VersionMachine(RuleBasedStateMachine):
    """Random sequences of record, release, trash, restore and purge on one register; the
    model is the list of versions (value, trashed, released)."""

    def __init__(self) -> None:
        super().__init__()
        self.reg = new_register()
        self.model: dict[int, dict[str, Any]] = {}  # by version
        self.next_version = 1
        self.next_value = 1010

    def _live(self) -> list[int]:
        return sorted(v for v, row in self.model.items() if not row["trashed"])

    def _newest_live(self) -> int | None:
        live = self._live()
        return live[-1] if live else None

    @rule(citizen=st.booleans(), with_note=st.booleans())
    def record(self, citizen: bool, with_note: bool) -> None:
        newest = self._newest_live()
        released = newest is not None and self.model[newest]["released"]
        value, self.next_value = self.next_value, self.next_value + 1
        refused = released and (citizen or not with_note)
        try:
            record(
                self.reg,
                value,
                source=ReadingSource.ONLINE if citizen else ReadingSource.PHONE,
                note="Vermerk" if with_note else "",
            )
        except ReadingRefused:
            assert refused
            return
        assert not refused
        self.model[self.next_version] = {"value": value, "trashed": False, "released": False}
        self.next_version += 1

    @precondition(lambda self: self._newest_live() is not None)
    @rule()
    def release(self) -> None:
        newest = self._newest_live()
        assert newest is not None
        apply(self.reg, "release")
        self.model[newest]["released"] = True

    @precondition(lambda self: bool(self._live()))
    @rule(data=st.data(), newest=st.booleans())
    def trash(self, data: st.DataObject, newest: bool) -> None:
        live = self._live()
        version = live[-1] if newest else data.draw(st.sampled_from(live))
        try:
            apply(self.reg, f"trash {version}")
        except TrashError:
            assert self.model[version]["released"]
            return
        assert not self.model[version]["released"]
        self.model[version]["trashed"] = True

    @precondition(lambda self: any(row["trashed"] for row in self.model.values()))
    @rule(data=st.data(), newest=st.booleans())
    def restore(self, data: st.DataObject, newest: bool) -> None:
        trashed = sorted(v for v, row in self.model.items() if row["trashed"])
        version = trashed[-1] if newest else data.draw(st.sampled_from(trashed))
        apply(self.reg, f"restore {version}")
        self.model[version]["trashed"] = False

    @rule()
    def purge(self) -> None:
        apply(self.reg, "purge")
        self.model = {v: row for v, row in self.model.items() if not row["trashed"]}

    @invariant()
    def effective_is_the_newest_live_version(self) -> None:
        rows = versions(self.reg)
        assert [row.version for row in rows] == sorted(self.model)
        assert [int(row.value) for row in rows] == [
            self.model[v]["value"] for v in sorted(self.model)
        ]
        assert [row.deleted_at is not None for row in rows] == [
            self.model[v]["trashed"] for v in sorted(self.model)
        ]
        flagged = [row.version for row in rows if row.is_effective]
        newest = self._newest_live()
        assert flagged == ([] if newest is None else [newest])


@pytest.mark.django_db
def test_the_effective_version_is_always_the_newest_live_one() -> None:
    run_state_machine_as_test(
        VersionMachine,
        settings=hypothesis_settings(max_examples=60, stateful_step_count=15, deadline=None),
    )
