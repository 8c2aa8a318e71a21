"""Shared fixtures: two organisations with data, members with each role."""

import datetime
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from ablesung.accounts.models import Invitation, User, token_hash
from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    ImportBatch,
    Membership,
    Meter,
    Organisation,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReleaseLogEntry,
    ReleaseRun,
    Role,
)
from ablesung.exports.models import ExportRun, ExportStatus
from ablesung.formats import FINANZ_PLUS_STANDARD
from ablesung.invitations.models import InvitationRecipient, InvitationRun, RunKind, RunStatus
from ablesung.letters.models import LetterBatch, LetterStatus

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"

# No per-example deadline: CI shares two cores with PostgreSQL and Chromium, and a slow
# example is not a failure. Failing examples are printed so they can be replayed.
hypothesis_settings.register_profile(
    "ablesung", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
hypothesis_settings.load_profile("ablesung")


#: the fixtures through which a test reaches the database (pytest-django's)
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)


def uses_database(item: pytest.Item) -> bool:
    """Whether a test touches the database: marked ``django_db`` or using a database fixture
    (directly or through another fixture)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(DATABASE_FIXTURES & fixtures)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``ABLESUNG_DATABASE_TESTS_ONLY=1``: only the tests that touch the database.

    ``make test`` runs the whole suite on SQLite and then, with ``DATABASE_URL`` set, once
    more on PostgreSQL; the second pass needs only the tests whose outcome can depend on
    the database (about 640 pure tests – parsers, plausibility, spreadsheets – would only
    repeat themselves).
    """
    if os.environ.get("ABLESUNG_DATABASE_TESTS_ONLY") != "1":
        return
    kept = [item for item in items if uses_database(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
        items[:] = kept


@dataclass
class OrgData:
    organisation: Organisation
    campaign: Campaign
    property: Property
    meter: Meter
    register: Register
    campaign_meter: CampaignMeter
    reading: Reading
    import_batch: ImportBatch


def make_org_data(slug: str, name: str) -> OrgData:
    with scopes_disabled():
        org = Organisation.objects.create(slug=slug, name=name)
        campaign = Campaign.objects.create(
            organisation=org, name="Jahresablesung 2026", key_date=datetime.date(2026, 12, 31)
        )
        prop = Property.objects.create(
            organisation=org,
            object_number=f"{slug}-1",
            customer_number=f"{slug}-K1",
            owner_last_name="Weiß",
            owner_first_name="Monika",
            street="Gartenstraße",
            house_number="138",
            postal_code="09111",
            city=name,
        )
        meter = Meter.objects.create(organisation=org, property=prop, number=f"{slug}-M1")
        register = Register.objects.create(organisation=org, meter=meter)
        link = CampaignMeter.objects.create(
            organisation=org,
            campaign=campaign,
            register=register,
            previous_value=Decimal(76414),
            previous_date=datetime.date(2026, 1, 16),
            previous_year_consumption=Decimal(28),
            row_number=2,
            last_version=1,  # the reading below
        )
        reading = Reading.objects.create(
            organisation=org,
            campaign=campaign,
            register=register,
            version=1,
            is_effective=True,
            value=Decimal(76440),
            reading_date=datetime.date(2026, 12, 30),
            source=ReadingSource.ONLINE,
            comment="Zähler im Keller",
        )
        batch = ImportBatch(
            organisation=org,
            campaign=campaign,
            original_name="liste.csv",
            profile=FINANZ_PLUS_STANDARD.to_dict(),
        )
        batch.file.save("liste.csv", ContentFile(b"Objektnummer;Name\r\n1;A\r\n"), save=False)
        batch.save()
        # a release run with one log entry (the routes with release_run_id need one)
        run = ReleaseRun.objects.create(
            organisation=org, campaign=campaign, scope="ganze Ableseaktion", checked=1, refused=1
        )
        ReleaseLogEntry.objects.create(
            organisation=org,
            run=run,
            reading=reading,
            object_number=prop.object_number,
            meter_number=meter.number,
            value=reading.value,
            reading_date=reading.reading_date,
            outcome="implausible",
            reason="Unplausibel und in der Prüfung nicht angenommen.",
        )
        # a built export run with its two files (the routes with export_run_id need one;
        # written here directly like the release run: building a real one through
        # ablesung.exports.services costs ~0.1 s in every test; tests/test_isolation.py
        # adds one made by the service)
        add_stored_export_run(org, campaign)
        # a made letter batch with its PDF (the routes with letter_batch_id need one)
        add_stored_letter_batch(org, campaign)
        # an invitation run with one recipient (the routes with invitation_run_id need one)
        add_stored_invitation_run(org, campaign, prop)
        # a pending invitation (the routes with invitation_id need one)
        Invitation.objects.create(
            organisation=org,
            email=f"eingeladen@{slug}.example",
            token_hash=token_hash(f"token-{slug}"),
            expires_at=datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=72),
        )
    return OrgData(org, campaign, prop, meter, register, link, reading, batch)


def add_stored_export_run(org: Organisation, campaign: Campaign) -> ExportRun:
    return_content = b"Objektnummer;Name\r\n1;A\r\n"
    report_content = b"PK\x05\x06" + bytes(18)  # an empty zip archive
    run = ExportRun(
        organisation=org,
        campaign=campaign,
        number=1,
        status=ExportStatus.SUCCEEDED,
        send_mail=False,
        actor_label="Test",
        counts={"lines": 1, "read": 1, "online": 1},
        return_name="export-lauf-1-rueckgabe.csv",
        return_sha256=hashlib.sha256(return_content).hexdigest(),
        report_name="export-lauf-1-ergebnisse.xlsx",
        report_sha256=hashlib.sha256(report_content).hexdigest(),
    )
    run.return_file.save(run.return_name, ContentFile(return_content), save=False)
    run.report_file.save(run.report_name, ContentFile(report_content), save=False)
    run.save()
    return run


def add_stored_letter_batch(org: Organisation, campaign: Campaign) -> LetterBatch:
    content = b"%PDF-1.4\n%%EOF\n"
    batch = LetterBatch(
        organisation=org,
        campaign=campaign,
        status=LetterStatus.SUCCEEDED,
        total=1,
        done=1,
        pages=1,
        actor_label="Test",
        pdf_name="ablesebriefe-test.pdf",
        pdf_sha256=hashlib.sha256(content).hexdigest(),
    )
    batch.pdf_file.save(f"letters/{batch.pdf_name}", ContentFile(content), save=False)
    batch.save()
    return batch


def add_stored_invitation_run(
    org: Organisation, campaign: Campaign, prop: Property
) -> InvitationRun:
    run: InvitationRun = InvitationRun.objects.create(
        organisation=org,
        campaign=campaign,
        kind=RunKind.INVITATION,
        status=RunStatus.DONE,
        recipients_count=1,
        properties_count=1,
        actor_label="Test",
    )
    InvitationRecipient.objects.create(
        organisation=org,
        run=run,
        email=f"eigentum@{org.slug}.example",
        properties=[{"id": prop.pk, "object_number": prop.object_number, "address": "Weg 1"}],
    )
    return run


def make_member(org: Organisation, email: str, role: str = Role.CLERK) -> User:
    with scopes_disabled():
        user = User.objects.filter(email=email).first() or User.objects.create_user(email, PASSWORD)
        Membership.objects.create(organisation=org, user=user, role=role)
    return user


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _german_outside_requests() -> Iterator[None]:
    """Every test starts in German, whatever language an earlier test's request activated.

    The language middleware activates the cookie's language for the request's thread; in
    the test process that thread runs the next test too.
    """
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def org_a(db: Any) -> OrgData:
    return make_org_data("stadt-a", "Stadt A")


@pytest.fixture
def org_b(db: Any) -> OrgData:
    return make_org_data("stadt-b", "Stadt B")


@pytest.fixture
def clerk_a(org_a: OrgData) -> User:
    return make_member(org_a.organisation, "clerk@stadt-a.example", Role.CLERK)


@pytest.fixture
def client_a(clerk_a: User) -> Client:
    client = Client()
    client.force_login(clerk_a)
    return client


@pytest.fixture
def no_scope() -> Iterator[None]:
    with scopes_disabled():
        yield
