"""The property page (backend:property_detail) and the staff-only photo of a reading
(backend:reading_photo)."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    CampaignMeter,
    CitizenMessage,
    ConfirmationReason,
    Meter,
    Property,
    Reading,
    ReadingSource,
    Register,
    Role,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.core.services.audit import object_type
from ablesung.core.services.property_history import SUBJECTS
from ablesung.core.services.readings import Submission, do_record_reading
from ablesung.core.services.release import do_release_reading
from ablesung.core.services.trash import do_delete_record
from tests.conftest import OrgData
from tests.test_isolation import member_client

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
TODAY = datetime.date(2027, 1, 10)


def page_url(data: OrgData, prop: Property | None = None) -> str:
    return f"/o/{data.organisation.slug}/objekte/{(prop or data.property).pk}/"


def photo_url(data: OrgData, reading: Reading) -> str:
    return f"/o/{data.organisation.slug}/zaehlerstaende/{reading.pk}/foto/"


@pytest.fixture
def history(org_a: OrgData, clerk_a: object) -> dict[str, Reading]:
    """Org A's meter: the citizen's online value (version 1), a clerk's correction by
    phone with a note and a photo (version 2), released; a second meter of the property with
    an implausible value confirmed by the citizen; a citizen message."""
    with time_machine.travel("2027-01-10 10:00 +0000", tick=False):
        return _record_history(org_a, Actor.of_user(clerk_a))


def _record_history(org_a: OrgData, clerk: Actor) -> dict[str, Reading]:
    org = org_a.organisation
    with scopes_disabled():
        line = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=org_a.campaign_meter.pk)
    corrected = do_record_reading(
        line,
        Submission(
            "76452",
            datetime.date(2027, 1, 2),
            comment="am Telefon",
            note="Bürger hat sich verlesen",
            confirmed=True,
        ),
        source=ReadingSource.PHONE,
        actor=clerk,
        photo=JPEG,
        today=TODAY,
    ).reading
    released = do_release_reading(corrected.pk, organisation=org, actor=clerk, today=TODAY)
    with organisation_scope(org):
        garden = Meter.objects.create(
            organisation=org, property=org_a.property, number="GZ-77", kind="water_garden"
        )
        register = Register.objects.create(organisation=org, meter=garden)
        garden_line = CampaignMeter.objects.create(
            organisation=org,
            campaign=org_a.campaign,
            register=register,
            previous_value=Decimal(100),
            previous_date=datetime.date(2026, 1, 10),
            previous_year_consumption=Decimal(20),
        )
        garden_line = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=garden_line.pk)
        CitizenMessage.objects.create(
            organisation=org,
            campaign=org_a.campaign,
            property=org_a.property,
            reason="meter_defect",
            text="Der Gartenzähler <klemmt>",
        )
    implausible = do_record_reading(
        garden_line,
        Submission(
            "400",
            datetime.date(2026, 12, 30),
            reason=ConfirmationReason.POOL_GARDEN,
            note="Pool befüllt",
        ),
        source=ReadingSource.LETTER,
        actor=clerk,
        today=TODAY,
    ).reading
    return {"first": org_a.reading, "released": released, "implausible": implausible}


def test_the_page_shows_owner_meters_every_version_and_messages(
    client_a: Client, org_a: OrgData, history: dict[str, Reading]
) -> None:
    response = client_a.get(page_url(org_a))
    assert response.status_code == 200
    page = response.text
    for text in (
        "Objekt stadt-a-1",
        "Weiß, Monika",
        "Gartenstraße 138, 09111 Stadt A",
        "stadt-a-K1",
        "stadt-a-M1",
        "GZ-77",
        "Gartenwasserzähler",
        "Jahresablesung 2026 (Stichtag 31.12.2026)",
        "Vorablesung 76414 am 16.01.2026",
        # version 1: the citizen's value with the comment
        "76440",
        "Online (Bürger:in)",
        "Bürger:in (Portal)",
        "Zähler im Keller",
        # version 2: the clerk's correction, released, with note and photo
        "76452",
        "abgelesen am 02.01.2027",
        "Telefon",
        "clerk@stadt-a.example",
        "Bürger hat sich verlesen",
        "am Telefon",
        "Freigegeben",
        # the garden meter: implausible, confirmed, with the engine's explanation
        "unplausibel",
        "Pool/Garten",
        "Pool befüllt",
        # the citizen's message, escaped
        "Der Gartenzähler &lt;klemmt&gt;",
        "Zähler defekt",
    ):
        assert text in page, text
    versions = response.context["campaigns"][0].lines
    main = next(line for line in versions if line.meter.number == "stadt-a-M1")
    assert [v.reading.version for v in main.versions] == [2, 1]  # newest first
    assert main.versions[0].reading.is_effective
    garden = next(line for line in versions if line.meter.number == "GZ-77")
    assert garden.versions[0].messages  # the plausibility findings, as German text
    assert "Verbrauch" in " ".join(garden.versions[0].messages)
    assert page.count(photo_url(org_a, history["released"])) == 2  # link and thumbnail
    assert photo_url(org_a, history["first"]) not in page


def test_trashed_versions_stay_in_the_history(
    client_a: Client, org_a: OrgData, history: dict[str, Reading]
) -> None:
    do_delete_record(
        "reading",
        history["implausible"].pk,
        organisation=org_a.organisation,
        actor=Actor.system("test"),
    )
    page = client_a.get(page_url(org_a)).text
    assert "im Papierkorb" in page
    assert "Pool befüllt" in page


def test_the_audit_trail_names_action_subject_and_actor(
    client_a: Client, org_a: OrgData, history: dict[str, Reading], org_b: OrgData
) -> None:
    with scopes_disabled():
        # an entry of another organisation about an object with the same id stays hidden
        AuditEntry.objects.create(
            organisation=org_b.organisation,
            actor_label="fremd@stadt-b.example",
            action="property.updated",
            object_type="property",
            object_id=str(org_a.property.pk),
        )
    response = client_a.get(page_url(org_a))
    trail = response.context["trail"]
    actions = [row.entry.action for row in trail]
    # newest first: the garden meter's value, then the release and the correction
    assert actions == ["reading.submitted", "reading.released", "reading.corrected"]
    labels = {row.label for row in trail}
    assert {"Zählerstand ersetzt (neue Version)", "Zählerstand freigegeben"} <= labels
    subjects = {row.subject for row in trail}
    assert "Zählerstand stadt-a-M1, Version 2" in subjects
    assert "Zählerstand GZ-77, Version 1" in subjects
    assert "fremd@stadt-b.example" not in response.text
    assert "clerk@stadt-a.example" in {row.who for row in trail}
    for model in (Property, Meter, CampaignMeter, Reading, CitizenMessage):
        assert object_type(model) in SUBJECTS


def test_entries_about_meters_lines_and_messages_are_in_the_trail(
    client_a: Client, org_a: OrgData, history: dict[str, Reading]
) -> None:
    org = org_a.organisation
    with scopes_disabled():
        message = CitizenMessage.objects.get(property=org_a.property)
        for obj, action in (
            (org_a.meter, "meter.updated"),
            (org_a.campaign_meter, "campaign_meter.control_requested"),
            (message, "citizen_message.updated"),
            (org_a.property, "property.updated"),
        ):
            AuditEntry.objects.create(
                organisation=org,
                actor_label="portal:1" if action.startswith("citizen") else "import",
                action=action,
                object_type=object_type(obj),
                object_id=str(obj.pk),
            )
    trail = client_a.get(page_url(org_a)).context["trail"]
    by_action = {row.entry.action: row for row in trail}
    assert by_action["meter.updated"].subject == "Zähler stadt-a-M1"
    assert by_action["campaign_meter.control_requested"].label == "Kontrollablesung angefordert"
    assert by_action["campaign_meter.control_requested"].subject.startswith(
        "Zählwerk in der Ableseaktion stadt-a-M1"
    )
    assert by_action["citizen_message.updated"].who == "Bürger:in (Portal)"
    assert by_action["property.updated"].who == "import"


def test_the_page_runs_a_fixed_number_of_queries(
    client_a: Client, org_a: OrgData, history: dict[str, Reading]
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(page_url(org_a)).status_code == 200
        return len(captured.captured_queries)

    before = count()
    with scopes_disabled():
        line = CampaignMeter.objects.select_related(
            "campaign__organisation", "register__meter"
        ).get(pk=org_a.campaign_meter.pk)
    for value in ("76460", "76470", "76480"):
        do_record_reading(
            line,
            Submission(value, datetime.date(2027, 1, 3), note="neu"),
            source=ReadingSource.PHONE,
            actor=Actor.system("test"),
            today=TODAY,
        )
    assert count() == before <= 20


def test_viewers_see_the_page_and_the_photo(org_a: OrgData, history: dict[str, Reading]) -> None:
    viewer = member_client(org_a.organisation, Role.VIEWER)
    assert viewer.get(page_url(org_a)).status_code == 200
    assert viewer.get(photo_url(org_a, history["released"])).status_code == 200


def test_other_organisations_and_trashed_properties_are_not_found(
    client_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    assert client_a.get(f"/o/stadt-a/objekte/{org_b.property.pk}/").status_code == 404
    assert client_a.get(f"/o/stadt-b/objekte/{org_b.property.pk}/").status_code == 404
    do_delete_record(
        "property", org_a.property.pk, organisation=org_a.organisation, actor=Actor.system("t")
    )
    assert client_a.get(page_url(org_a)).status_code == 404


# --- the photo ----------------------------------------------------------------------------


def test_the_photo_is_served_privately_as_a_jpeg(
    client_a: Client, org_a: OrgData, history: dict[str, Reading]
) -> None:
    response = client_a.get(photo_url(org_a, history["released"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("inline;")


def test_no_photo_no_file_other_organisation_or_no_login_is_not_found(
    client_a: Client, org_a: OrgData, org_b: OrgData, history: dict[str, Reading]
) -> None:
    assert client_a.get(photo_url(org_a, history["first"])).status_code == 404  # none
    with scopes_disabled():
        org_b.reading.photo.save("b.jpg", ContentFile(JPEG), save=True)
        foreign = org_b.reading
    assert client_a.get(f"/o/stadt-a/zaehlerstaende/{foreign.pk}/foto/").status_code == 404
    assert client_a.get(f"/o/stadt-b/zaehlerstaende/{foreign.pk}/foto/").status_code == 404
    released = history["released"]
    released.photo.storage.delete(str(released.photo.name))  # the file is gone
    assert client_a.get(photo_url(org_a, released)).status_code == 404
    anonymous = Client().get(photo_url(org_a, released))
    assert anonymous.status_code == 302
    assert "/konto/anmelden/" in anonymous["Location"]
