"""The submit service: several registers of one meter are stored all together or not at all."""

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django_scopes import scopes_disabled
from PIL import Image

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.readings import (
    ReadingConflict,
    ReadingRefused,
    Submission,
    do_record_readings,
)
from tests.conftest import OrgData

TODAY = datetime.date(2026, 12, 30)


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, "JPEG")
    return out.getvalue()


def stored_photos() -> list[Path]:
    folder = Path(default_storage.path("photos"))
    return sorted(folder.rglob("*.jpg")) if folder.exists() else []


@pytest.fixture
def two_registers(org_a: OrgData) -> tuple[Register, Register]:
    """Organisation A's meter as HT and NT in an open campaign, without readings."""
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(
            status=CampaignStatus.OPEN,
            online_from=datetime.date(2026, 12, 1),
            online_until=datetime.date(2027, 1, 15),
        )
        Reading.objects.all().delete()
        CampaignMeter.objects.update(last_version=0)
        Register.objects.filter(pk=org_a.register.pk).update(code="HT")
        low = Register.objects.create(organisation=org_a.organisation, meter=org_a.meter, code="NT")
        CampaignMeter.objects.create(
            organisation=org_a.organisation,
            campaign=org_a.campaign,
            register=low,
            previous_value=Decimal(100),
            previous_date=datetime.date(2026, 1, 16),
        )
    return org_a.register, low


def submit(data: OrgData, values: dict[int, str]) -> list[Reading]:
    with organisation_scope(data.organisation):
        lines = CampaignMeter.objects.filter(register__meter=data.meter)
    recorded = do_record_readings(
        lines,
        {register_id: Submission(value, TODAY) for register_id, value in values.items()},
        organisation=data.organisation,
        source=ReadingSource.ONLINE,
        actor=Actor.system("citizen"),
        photo=photo(),
        today=TODAY,
    )
    return [item.reading for item in recorded]


def test_a_refused_register_takes_the_other_and_the_photos_back(
    org_a: OrgData, two_registers: tuple[Register, Register]
) -> None:
    high, low = two_registers
    before = stored_photos()
    with pytest.raises(ReadingRefused, match="keine Zahl"):
        submit(org_a, {high.pk: "76440", low.pk: "zwölf"})
    with scopes_disabled():
        assert not Reading.objects.exists()
    assert stored_photos() == before  # the first register's photo file went too
    stored = submit(org_a, {high.pk: "76440", low.pk: "120"})
    assert [(reading.register_id, reading.value) for reading in stored] == [
        (high.pk, Decimal(76440)),
        (low.pk, Decimal(120)),
    ]
    assert len(stored_photos()) == len(before) + 2


def test_a_value_released_in_between_refuses_the_whole_submission(
    org_a: OrgData, two_registers: tuple[Register, Register]
) -> None:
    """The page showed both registers as open; a clerk released NT before the citizen sent."""
    high, low = two_registers
    [first_high, first_low] = submit(org_a, {high.pk: "76440", low.pk: "120"})
    with scopes_disabled():
        Reading.objects.filter(pk=first_low.pk).update(state=ReviewState.RELEASED)
    with pytest.raises(ReadingRefused, match="freigegeben"):
        submit(org_a, {high.pk: "76441", low.pk: "121"})
    with scopes_disabled():
        assert sorted(Reading.objects.values_list("value", flat=True)) == [120, 76440]
        assert Reading.objects.get(is_effective=True, register=high).pk == first_high.pk


def test_a_register_outside_the_callers_lines_is_refused(
    org_a: OrgData, org_b: OrgData, two_registers: tuple[Register, Register]
) -> None:
    high, _low = two_registers
    with pytest.raises(ReadingRefused, match="gehört nicht"):
        submit(org_a, {high.pk: "76440", org_b.register.pk: "76440"})
    with scopes_disabled():
        assert Reading.objects.filter(register=high).count() == 0


@pytest.mark.django_db
def test_a_released_reading_is_not_deleted_through_the_backend(
    org_a: OrgData, client_a: Client
) -> None:
    with scopes_disabled():
        Reading.objects.filter(pk=org_a.reading.pk).update(state=ReviewState.RELEASED)
    slug = org_a.organisation.slug
    response = client_a.post(f"/o/{slug}/loeschen/reading/{org_a.reading.pk}/", follow=True)
    assert "kann nicht gelöscht werden" in response.text
    with scopes_disabled():
        assert Reading.objects.get(pk=org_a.reading.pk).is_effective


def capture(data: OrgData, value: str, **extra: object) -> Reading:
    """A clerk's phone capture of organisation A's register (see the fixture's line)."""
    expected = extra.pop("expected", None)
    source = str(extra.pop("source", ReadingSource.PHONE))
    with organisation_scope(data.organisation):
        lines = CampaignMeter.objects.filter(pk=data.campaign_meter.pk)
    [recorded] = do_record_readings(
        lines,
        {data.register.pk: Submission(value, TODAY, **extra)},  # type: ignore[arg-type]
        organisation=data.organisation,
        source=source,
        actor=Actor.system("clerk"),
        today=TODAY,
        expected=expected,  # type: ignore[arg-type]
    )
    return recorded.reading


def test_two_clerks_saving_from_the_same_version_conflict(org_a: OrgData) -> None:
    """Both saw the fixture's reading; the second is told the newer value, nothing is
    overwritten silently."""
    seen = {org_a.register.pk: org_a.reading.pk}
    first = capture(org_a, "76450", expected=seen)
    with pytest.raises(ReadingConflict, match="76450") as conflict:
        capture(org_a, "76455", expected=seen)
    assert conflict.value.current is not None
    assert conflict.value.current.pk == first.pk
    assert "Telefon" in conflict.value.messages[0]
    with scopes_disabled():
        assert Reading.objects.get(is_effective=True, register=org_a.register).pk == first.pk
    # saving on top of what one has seen works
    assert capture(org_a, "76455", expected={org_a.register.pk: first.pk}).value == 76455


def test_a_value_that_exists_is_replaced_only_after_an_explicit_choice(org_a: OrgData) -> None:
    """The capture screen says it saw no value (expected None): the citizen's value wins
    until the clerk chooses to replace it."""
    with pytest.raises(ReadingConflict, match="76440"):
        capture(org_a, "76450", expected={org_a.register.pk: None})


@pytest.mark.parametrize(
    ("value", "extra", "problem"),
    [
        ("76464", {}, "bestätigen Sie den Hinweis"),  # a warning: one confirming key press
        ("76700", {"confirmed": True}, "unplausibler Wert wird nur mit einem Vermerk"),
        ("76430", {"source": ReadingSource.MANUAL_ESTIMATE}, "Schätzung braucht einen Vermerk"),
    ],
)
def test_clerks_confirm_warnings_and_note_implausible_values(
    org_a: OrgData, value: str, extra: dict[str, object], problem: str
) -> None:
    with pytest.raises(ReadingRefused, match=problem):
        capture(org_a, value, **extra)
    stored = capture(org_a, value, **{**extra, "confirmed": True, "note": "Rückruf: stimmt"})
    assert stored.value == int(value)
    assert stored.note == "Rückruf: stimmt"
