"""Trash: delete → hidden; restore on day 364 → back; purge on day 366 → gone, audit redacted."""

import datetime
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import AuditEntry, CampaignMeter, Meter, Property, Reading, Register
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.audit import REDACTED
from ablesung.core.services.trash import (
    TrashError,
    do_delete_record,
    do_restore_record,
    purge_expired,
)
from ablesung.core.tasks import purge_trash
from tests.conftest import OrgData

START = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
ACTOR = Actor.system("test")


def days(n: int) -> datetime.datetime:
    return START + datetime.timedelta(days=n)


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_deleted_property_and_its_meters_are_hidden_everywhere(
    org_a: OrgData, client_a: Client, frozen: Any
) -> None:
    org = org_a.organisation
    do_delete_record("property", org_a.property.pk, organisation=org, actor=ACTOR)
    with organisation_scope(org):
        assert not Property.objects.exists()
        assert not Meter.objects.exists()
        assert Property.with_trashed.get().deleted_at == timezone.now()
    meters_page = client_a.get(f"/o/{org.slug}/zaehler/")
    assert "stadt-a-M1" not in meters_page.text
    campaign_page = client_a.get(f"/o/{org.slug}/ableseaktionen/{org_a.campaign.pk}/")
    assert "stadt-a-M1" not in campaign_page.text
    trash_page = client_a.get(f"/o/{org.slug}/papierkorb/")
    assert "Weiß, Monika" in trash_page.text


@pytest.mark.django_db
def test_restore_on_day_364_brings_property_and_meters_back(org_a: OrgData, frozen: Any) -> None:
    org = org_a.organisation
    do_delete_record("property", org_a.property.pk, organisation=org, actor=ACTOR)
    frozen.move_to(days(364))
    do_restore_record("property", org_a.property.pk, organisation=org, actor=ACTOR)
    with organisation_scope(org):
        assert Property.objects.count() == 1
        assert Meter.objects.count() == 1
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["property.deleted", "property.restored"]


@pytest.mark.django_db
def test_meter_deleted_on_its_own_stays_in_trash_when_property_is_restored(
    org_a: OrgData, frozen: Any
) -> None:
    org = org_a.organisation
    with organisation_scope(org):
        second = Meter.objects.create(organisation=org, property=org_a.property, number="A-M2")
    do_delete_record("meter", second.pk, organisation=org, actor=ACTOR)
    frozen.shift(datetime.timedelta(hours=1))
    do_delete_record("property", org_a.property.pk, organisation=org, actor=ACTOR)
    with pytest.raises(TrashError, match="Objekt"):
        do_restore_record("meter", org_a.meter.pk, organisation=org, actor=ACTOR)
    do_restore_record("property", org_a.property.pk, organisation=org, actor=ACTOR)
    with organisation_scope(org):
        assert list(Meter.objects.values_list("number", flat=True)) == ["stadt-a-M1"]


@pytest.mark.django_db
def test_restore_after_the_retention_period_is_refused(org_a: OrgData, frozen: Any) -> None:
    org = org_a.organisation
    do_delete_record("campaign", org_a.campaign.pk, organisation=org, actor=ACTOR)
    frozen.move_to(days(366))
    with pytest.raises(TrashError, match="365 Tagen"):
        do_restore_record("campaign", org_a.campaign.pk, organisation=org, actor=ACTOR)


@pytest.mark.django_db
def test_foreign_or_unknown_records_are_not_found(org_a: OrgData, org_b: OrgData) -> None:
    with pytest.raises(ObjectDoesNotExist):
        do_delete_record(
            "property", org_b.property.pk, organisation=org_a.organisation, actor=ACTOR
        )
    with pytest.raises(ObjectDoesNotExist):
        do_delete_record("organisation", 1, organisation=org_a.organisation, actor=ACTOR)
    with pytest.raises(ObjectDoesNotExist):
        do_restore_record(
            "property", org_a.property.pk, organisation=org_a.organisation, actor=ACTOR
        )


@pytest.mark.django_db
def test_purge_on_day_366_removes_rows_and_files_and_redacts_audit(
    org_a: OrgData, org_b: OrgData, frozen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    org = org_a.organisation
    with organisation_scope(org):
        reading = Reading.objects.get()
        reading.photo.save("zaehler.jpg", ContentFile(b"\xff\xd8jpeg"), save=True)
    photo_name = reading.photo.name
    assert default_storage.exists(photo_name)
    do_delete_record("property", org_a.property.pk, organisation=org, actor=ACTOR)

    frozen.move_to(days(365))
    assert purge_expired(org).total == 0  # day 365: still restorable

    frozen.move_to(days(366))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = purge_expired(org)
    assert len(callbacks) == 1  # files are deleted only after the commit
    assert result.counts == {"campaign": 0, "property": 1, "meter": 1, "reading": 1}
    assert result.files == 1
    assert not default_storage.exists(photo_name)
    with scopes_disabled():
        assert not Property.with_trashed.filter(organisation=org).exists()
        assert not Meter.with_trashed.filter(organisation=org).exists()
        assert not Register.objects.filter(organisation=org).exists()
        assert not CampaignMeter.objects.filter(organisation=org).exists()
        assert not Reading.with_trashed.filter(organisation=org).exists()
        # the other organisation is untouched
        assert Property.objects.filter(organisation=org_b.organisation).count() == 1
    deleted = AuditEntry.objects.get(action="property.deleted")
    assert deleted.data["label"] == REDACTED
    assert deleted.redacted_at is not None
    assert "Weiß" not in str(deleted.data)
    purged = AuditEntry.objects.get(action="trash.purged", organisation=org)
    assert purged.data["counts"]["property"] == 1

    # a second purge changes nothing
    entries_before = AuditEntry.objects.count()
    assert purge_expired(org).total == 0
    assert AuditEntry.objects.count() == entries_before


@pytest.mark.django_db
def test_purging_a_campaign_keeps_the_meters(org_a: OrgData, frozen: Any) -> None:
    org = org_a.organisation
    do_delete_record("campaign", org_a.campaign.pk, organisation=org, actor=ACTOR)
    frozen.move_to(days(400))
    result = purge_expired(org)
    assert result.counts["campaign"] == 1
    assert result.counts["reading"] == 1
    with organisation_scope(org):
        assert Meter.objects.count() == 1
        assert not CampaignMeter.objects.exists()


@pytest.mark.django_db
def test_daily_task_purges_every_organisation(org_a: OrgData, org_b: OrgData, frozen: Any) -> None:
    for data in (org_a, org_b):
        do_delete_record("reading", data.reading.pk, organisation=data.organisation, actor=ACTOR)
    frozen.move_to(days(366))
    result = purge_trash.enqueue()
    assert result.return_value == {
        "stadt-a": {"campaign": 0, "property": 0, "meter": 0, "reading": 1},
        "stadt-b": {"campaign": 0, "property": 0, "meter": 0, "reading": 1},
    }
    assert purge_trash.enqueue().return_value == {}


@pytest.mark.django_db
def test_restore_and_delete_through_the_backend(
    org_a: OrgData, client_a: Client, frozen: Any
) -> None:
    slug = org_a.organisation.slug
    response = client_a.post(f"/o/{slug}/loeschen/meter/{org_a.meter.pk}/")
    assert response.status_code == 302
    with organisation_scope(org_a.organisation):
        assert not Meter.objects.exists()
    response = client_a.post(
        f"/o/{slug}/papierkorb/meter/{org_a.meter.pk}/wiederherstellen/", follow=True
    )
    assert "wurde wiederhergestellt" in response.text
    with organisation_scope(org_a.organisation):
        assert Meter.objects.count() == 1
    assert client_a.get(f"/o/{slug}/loeschen/meter/{org_a.meter.pk}/").status_code == 405


@pytest.mark.django_db
def test_purge_selects_by_subqueries_whatever_the_trash_holds(org_a: OrgData, frozen: Any) -> None:
    """A purge of a trashed property and campaign removes what hangs on them; the statements
    select by subquery, never by a list of ids, so that any number of rows fits."""
    org = org_a.organisation
    with organisation_scope(org):
        second = Meter.objects.create(
            organisation=org, property=org_a.property, number="B-2", kind=org_a.meter.kind
        )
        register = Register.objects.create(organisation=org, meter=second)
        CampaignMeter.objects.create(organisation=org, campaign=org_a.campaign, register=register)
    do_delete_record("property", org_a.property.pk, organisation=org, actor=ACTOR)
    do_delete_record("campaign", org_a.campaign.pk, organisation=org, actor=ACTOR)
    frozen.move_to(days(366))
    with CaptureQueriesContext(connection) as queries:
        result = purge_expired(org)
    assert result.counts == {"campaign": 1, "property": 1, "meter": 2, "reading": 1}
    selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert any("IN (SELECT" in sql.upper() for sql in selects)
    with scopes_disabled():
        for model in (Property.with_trashed, Meter.with_trashed, Reading.with_trashed):
            assert not model.filter(organisation=org).exists()
        assert not Register.objects.filter(organisation=org).exists()
        assert not CampaignMeter.objects.filter(organisation=org).exists()
