"""Demo data for ``make run``: Stadt Musterstadt with its 2026 meter list.

The meter list goes through the real import (the same path a clerk's upload
takes), so the demo shows what an import produces. A few readings go through the
real services too: a citizen's value and its correction (two versions), a clerk's
phone reading that is released, and a correction that went to the trash; then the clerks'
work: two implausible online readings waiting in the review queue (one with a control
reading requested), three captured reply cards and calls, a citizen's open message, and a
release run over the whole campaign whose log lists what it did not release. A second
campaign from the same list, "Zwischenablesung 2026" (key date 30 June), is closed without
readings: its missing meters are ready for "Fehlende schätzen". A third one,
"Herbstablesung 2026" (key date 30 September), is already closed and exported: a few
citizens' readings released, the rest estimated, the export run with its return file and
Excel report, and the mail to the organisation's export recipient in the outbox.

Staff: besides the admin (no two-factor requirement, so the printed password signs in), a
clerk who joined through an invitation and was deactivated later, and an invitation still
pending; their steps are in the audit log ("Protokoll").
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.utils import timezone

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    ImportStatus,
    MessageReason,
    Organisation,
    ReadingSource,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import IssuedAccess, PortalAccess, do_issue_access
from ablesung.core.services.actor import Actor
from ablesung.core.services.campaign import do_close_campaign, do_open_campaign
from ablesung.core.services.capture import CaptureEntry, do_capture_reading
from ablesung.core.services.citizen_messages import do_send_citizen_message
from ablesung.core.services.meter_import import (
    NewCampaign,
    import_meter_list_now,
)
from ablesung.core.services.organisation import CreatedOrganisation, do_create_organisation
from ablesung.core.services.readings import Submission, do_record_reading
from ablesung.core.services.release import (
    ReleaseSelection,
    do_release_reading,
    do_release_readings,
)
from ablesung.core.services.review import do_request_control_reading
from ablesung.core.services.trash import do_delete_record
from ablesung.formats import FINANZ_PLUS_STANDARD

DEMO_SLUG = "musterstadt"
DEMO_NAME = "Stadt Musterstadt"
DEMO_ADMIN = "admin@musterstadt.example"
DEMO_CAMPAIGN = "Jahresablesung 2026"
DEMO_KEY_DATE = datetime.date(2026, 12, 31)
#: a closed campaign whose key date has passed: estimates can be tried on it
DEMO_ESTIMATES_CAMPAIGN = "Zwischenablesung 2026"
DEMO_ESTIMATES_KEY_DATE = datetime.date(2026, 6, 30)
#: a campaign that is exported already: its export run can be opened and downloaded
DEMO_EXPORTED_CAMPAIGN = "Herbstablesung 2026"
DEMO_EXPORTED_KEY_DATE = datetime.date(2026, 9, 30)
DEMO_EXPORT_RECIPIENT = "abrechnung@musterstadt.example"


@dataclass(frozen=True)
class DemoResult:
    created: CreatedOrganisation
    campaign: Campaign | None
    meters_loaded: int
    message: str = ""
    #: one citizen's way into the portal, issued when the demo campaign was created
    access: IssuedAccess | None = None


def do_create_demo(sample: Path | None, *, actor: Actor) -> DemoResult:
    """Creates the demo organisation once; a second run reuses everything."""
    created = do_create_organisation(DEMO_SLUG, name=DEMO_NAME, admin_email=DEMO_ADMIN, actor=actor)
    organisation = created.organisation
    with organisation_scope(organisation):
        campaign = Campaign.with_trashed.filter(name=DEMO_CAMPAIGN).first()
        if campaign is not None and CampaignMeter.objects.filter(campaign=campaign).exists():
            return DemoResult(created, campaign, 0)
    if sample is None or not sample.is_file():
        return DemoResult(created, campaign, 0)
    target = campaign or NewCampaign(DEMO_CAMPAIGN, DEMO_KEY_DATE)
    with sample.open("rb") as handle:
        batch, _detected = import_meter_list_now(
            target,
            File(handle, name=sample.name),
            original_name=sample.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=organisation,
            actor=actor,
        )
    if batch.status != ImportStatus.SUCCEEDED or batch.campaign is None:
        return DemoResult(created, batch.campaign, 0, batch.message)
    loaded = batch.counts.get("meters_created", 0)
    access = _open_for_citizens(organisation, batch.campaign, actor=actor)
    _demo_readings(organisation, batch.campaign, access, actor=actor)
    _demo_texts(organisation, actor=actor)
    _demo_letters(organisation, batch.campaign, access, actor=actor)
    _demo_invitations(organisation, batch.campaign, actor=actor)
    _campaign_for_estimates(organisation, sample, actor=actor)
    _exported_campaign(organisation, sample, actor=actor)
    _demo_staff(organisation, actor=actor)
    return DemoResult(created, batch.campaign, loaded, batch.message, access)


DEMO_FORMER_CLERK = "ehemals@musterstadt.example"
DEMO_INVITEE = "neu@musterstadt.example"


def _demo_staff(organisation: Organisation, *, actor: Actor) -> None:
    """A clerk who accepted an invitation and was deactivated, and a pending invitation."""
    from ablesung.accounts.services import (
        do_accept_invitation,
        do_deactivate_member,
        do_invite_member,
    )
    from ablesung.core.models import Membership, Role
    from ablesung.core.services.organisation import generate_password

    former = do_invite_member(
        organisation, email=DEMO_FORMER_CLERK, role=Role.CLERK, actor=actor
    ).invitation
    user = do_accept_invitation(
        former.pk, password=generate_password(), full_name="Erika Ehemalig", actor=actor
    )
    with organisation_scope(organisation):
        membership = Membership.objects.get(user=user)
    do_deactivate_member(organisation, membership.pk, actor=actor)
    do_invite_member(organisation, email=DEMO_INVITEE, role=Role.VIEWER, actor=actor)


def _campaign_for_estimates(organisation: Organisation, sample: Path, *, actor: Actor) -> None:
    """The same meters in a campaign whose window is over and whose key date has passed
    (opened and closed at once), without readings: "Fehlende schätzen" has work to do."""
    if timezone.localdate() < DEMO_ESTIMATES_KEY_DATE:
        return
    with sample.open("rb") as handle:
        batch, _detected = import_meter_list_now(
            NewCampaign(DEMO_ESTIMATES_CAMPAIGN, DEMO_ESTIMATES_KEY_DATE),
            File(handle, name=sample.name),
            original_name=sample.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=organisation,
            actor=actor,
        )
    if batch.status != ImportStatus.SUCCEEDED or batch.campaign is None:
        return
    today = timezone.localdate()
    do_open_campaign(batch.campaign, online_from=today, online_until=today, actor=actor)
    do_close_campaign(batch.campaign, actor=actor)


def _exported_campaign(organisation: Organisation, sample: Path, *, actor: Actor) -> None:
    """The same meters in a campaign that is closed and exported: twelve citizens' readings
    at the key date, released; the other meters estimated by the export."""
    if timezone.localdate() < DEMO_EXPORTED_KEY_DATE:
        return
    from ablesung.exports.services import (
        build_run,
        do_export_campaign,
        do_update_export_settings,
    )

    with sample.open("rb") as handle:
        batch, _detected = import_meter_list_now(
            NewCampaign(DEMO_EXPORTED_CAMPAIGN, DEMO_EXPORTED_KEY_DATE),
            File(handle, name=sample.name),
            original_name=sample.name,
            profile=FINANZ_PLUS_STANDARD,
            organisation=organisation,
            actor=actor,
        )
    campaign = batch.campaign
    if batch.status != ImportStatus.SUCCEEDED or campaign is None:
        return
    today = timezone.localdate()
    do_open_campaign(campaign, online_from=today, online_until=today, actor=actor)
    with organisation_scope(organisation):
        lines = list(
            CampaignMeter.objects.filter(
                campaign=campaign,
                register__code="",
                previous_year_consumption__gt=0,
                previous_date__lt=DEMO_EXPORTED_KEY_DATE,
            )
            .select_related("campaign__organisation", "register__meter__property")
            .order_by("row_number")[:12]
        )
    for line in lines:
        assert line.previous_value is not None
        assert line.previous_year_consumption is not None
        value = int(line.previous_value + line.previous_year_consumption * 3 / 4)
        submission = Submission(
            str(value), DEMO_EXPORTED_KEY_DATE, reason="more_people", confirmed=True
        )
        do_record_reading(line, submission, source=ReadingSource.ONLINE, actor=actor)
    do_release_readings(campaign, ReleaseSelection(), organisation=organisation, actor=actor)
    do_close_campaign(campaign, actor=actor)
    do_update_export_settings(
        organisation, addresses=[DEMO_EXPORT_RECIPIENT], delivery="attachment", actor=actor
    )
    campaign.organisation = organisation
    run = do_export_campaign(campaign, estimate_missing=True, actor=actor, enqueue=False)
    build_run(run.pk)


def _open_for_citizens(
    organisation: Organisation, campaign: Campaign, *, actor: Actor
) -> IssuedAccess | None:
    """Contact and legal links, an online window around today, and links for every property."""
    Organisation.objects.filter(pk=organisation.pk).update(
        contact_email="zaehler@musterstadt.example",
        contact_phone="03731 123-456",
        contact_address="Rathaus, Zimmer 12\nMo–Fr 8–12 Uhr",
        imprint_url=f"{settings.BASE_URL}/impressum/",
        privacy_url=f"{settings.BASE_URL}/datenschutz/",
    )
    organisation.refresh_from_db()
    today = timezone.localdate()
    until = max(DEMO_KEY_DATE + datetime.timedelta(days=15), today + datetime.timedelta(days=30))
    do_open_campaign(campaign, online_from=today, online_until=until, actor=actor)
    issued = do_issue_access(campaign, organisation=organisation, actor=actor)
    return min(issued, key=lambda access: access.property.object_number, default=None)


DEMO_LETTER_SUBJECT = "Ihre Zählerstände zum {stichtag} – bitte online melden"
DEMO_LETTER_BODY = (
    "Guten Tag {name},\n"
    "die Stadtwerke lesen zum {stichtag} alle Wasserzähler ab. Bitte lesen Sie die Zähler "
    "Ihres Objekts {objekt} selbst ab und melden Sie die Stände bis zum {frist}: Scannen Sie "
    "den QR-Code oder öffnen Sie {portal} und geben Sie den Zugangscode und eine Ihrer "
    "Zählernummern ein. Ohne Internet senden Sie uns bitte die Antwortkarte unten zurück.\n"
    "Ihr Team der Verbrauchsabrechnung"
)


def _demo_texts(organisation: Organisation, *, actor: Actor) -> None:
    """The demo organisation's own letter text (the texts page shows it, the letters use it)."""
    from ablesung.letters.text_store import do_save_text
    from ablesung.letters.texts import TextKind

    do_save_text(
        organisation,
        TextKind.LETTER,
        subject=DEMO_LETTER_SUBJECT,
        body=DEMO_LETTER_BODY,
        actor=actor,
    )


def _demo_letters(
    organisation: Organisation,
    campaign: Campaign,
    access: IssuedAccess | None,
    *,
    actor: Actor,
) -> None:
    """Reading letters (PDF) for the last three properties; the printed link stays valid."""
    from ablesung.letters.models import LetterSelection
    from ablesung.letters.services import (
        LettersRefused,
        do_generate_letters,
        selected_properties,
    )

    with organisation_scope(organisation):
        numbers = sorted(
            prop.object_number
            for prop in selected_properties(campaign, LetterSelection.ALL)
            if access is None or prop.pk != access.property.pk
        )[-3:]
    if not numbers:
        return
    try:
        do_generate_letters(
            campaign,
            organisation=organisation,
            selection=LetterSelection.OBJECT_NUMBERS,
            object_numbers=numbers,
            actor=actor,
        )
    except LettersRefused:  # e.g. no font: the demo works without letters
        return


def _demo_invitations(organisation: Organisation, campaign: Campaign, *, actor: Actor) -> None:
    """The reminder switched on (7 days before the end) and one invitation run: its mails
    wait in the outbox until the worker sends them, so the run page shows their status."""
    from ablesung.invitations.models import RunKind
    from ablesung.invitations.reporting import campaign_properties
    from ablesung.invitations.services import (
        InvitationsRefused,
        build_run,
        do_request_run,
        do_save_reminder_setting,
    )

    with organisation_scope(organisation):  # the sample has no addresses: four get one,
        chosen = list(campaign_properties(campaign).order_by("object_number")[10:14])
        for index, prop in enumerate(chosen):  # and two of them share theirs
            prop.email = f"eigentum{min(index, 2)}@musterstadt.example"
            prop.save(update_fields=["email"])
    do_save_reminder_setting(
        campaign, organisation=organisation, enabled=True, days_before=7, actor=actor
    )
    try:
        run = do_request_run(
            campaign,
            organisation=organisation,
            kind=RunKind.INVITATION,
            actor=actor,
            enqueue=False,
        )
    except InvitationsRefused:  # e.g. no property with an address: the demo works without
        return
    build_run(run.pk)


def _demo_readings(
    organisation: Organisation,
    campaign: Campaign,
    access: IssuedAccess | None,
    *,
    actor: Actor,
) -> None:
    """Readings for three properties other than the printed link's (its citizen starts
    with a clean page): a value and its correction, a released phone reading, and a
    correction in the trash (the value before it is effective again)."""
    with organisation_scope(organisation):
        lines = [
            line
            for line in CampaignMeter.objects.filter(campaign=campaign, register__code="")
            .select_related("campaign__organisation", "register__meter__property")
            .order_by("register__meter__property__object_number", "register__meter__number")
            if access is None or line.register.meter.property_id != access.property.pk
        ]
    chosen: dict[int, CampaignMeter] = {}
    for line in lines:
        if line.previous_value is not None and line.previous_year_consumption is not None:
            chosen.setdefault(line.register.meter.property_id, line)
    today = timezone.localdate()

    def record(line: CampaignMeter, extra: int, source: str) -> int:
        assert line.previous_value is not None
        assert line.previous_year_consumption is not None
        value = int(line.previous_value + line.previous_year_consumption) + extra
        submission = Submission(
            str(value), today, reason="more_people", confirmed=True, note="Demo: Rückruf"
        )
        return do_record_reading(line, submission, source=source, actor=actor).reading.pk

    corrected, released, trashed = (list(chosen.values()) + [None] * 3)[:3]
    if corrected is not None:
        record(corrected, 0, ReadingSource.ONLINE)
        record(corrected, 2, ReadingSource.ONLINE)
    if released is not None:
        reading_id = record(released, 1, ReadingSource.PHONE)
        do_release_reading(reading_id, organisation=organisation, actor=actor, note="Demo")
    if trashed is not None:
        record(trashed, 0, ReadingSource.LETTER)
        wrong = record(trashed, 30, ReadingSource.LETTER)
        do_delete_record("reading", wrong, organisation=organisation, actor=actor)
    clerk_lines = list(chosen.values())[3:9]
    if len(clerk_lines) == 6:
        _demo_clerk_work(organisation, campaign, clerk_lines, actor=actor)


def _demo_clerk_work(
    organisation: Organisation,
    campaign: Campaign,
    lines: list[CampaignMeter],
    *,
    actor: Actor,
) -> None:
    """What the clerks' pages show: the review queue, captures, a message, a release run."""
    today = timezone.localdate()
    review, control, *captured, asking = lines

    def expected(line: CampaignMeter, factor: int = 1) -> str:
        assert line.previous_value is not None
        assert line.previous_year_consumption is not None
        return str(int(line.previous_value + factor * line.previous_year_consumption))

    # a citizen's implausible values, confirmed with a reason: they wait in the review queue
    for line in (review, control):
        submission = Submission(expected(line, 5), today, reason="pipe_burst", confirmed=True)
        do_record_reading(line, submission, source=ReadingSource.ONLINE, actor=actor)
    do_request_control_reading(control.pk, organisation=organisation, actor=actor)
    # reply cards, a phone call and a visit, captured by a clerk
    for line, source in zip(
        captured, (ReadingSource.LETTER, ReadingSource.PHONE, ReadingSource.STAFF), strict=False
    ):
        entries = {line.register_id: CaptureEntry(expected(line))}
        do_capture_reading(
            campaign,
            entries,
            organisation=organisation,
            source=source,
            actor=actor,
            reading_date=today,
        )
    access = PortalAccess(organisation, campaign, asking.register.meter.property)
    do_send_citizen_message(
        access,
        reason=MessageReason.OWNER_CHANGE,
        text="Das Haus wurde zum 1. Oktober verkauft. Bitte schreiben Sie künftig die Käufer an.",
        phone="03731 555-0101",
        actor=actor,
    )
    # the plausible readings are released, the implausible ones stay and are logged
    do_release_readings(campaign, ReleaseSelection(), organisation=organisation, actor=actor)
