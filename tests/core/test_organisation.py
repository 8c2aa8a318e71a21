import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_scopes import scopes_disabled
from pypdf import PdfReader

from ablesung.accounts.models import Invitation, User
from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CitizenMessage,
    Membership,
    Meter,
    Organisation,
    Property,
    Reading,
    ReleaseLogEntry,
    ReleaseRun,
    Role,
)
from ablesung.core.services.access import resolve_token
from ablesung.core.services.estimates import estimate_refusal
from ablesung.core.services.estimates import summary as estimates_summary
from ablesung.exports.models import ExportRun
from ablesung.letters.models import CustomText, LetterBatch
from ablesung.mail.models import OutboxMail

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "samples" / "musterstadt-2026.csv"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_create_organisation_prints_a_working_password_once() -> None:
    first = run(
        "create_organisation", "stadt-x", "--name", "Stadt X", "--admin-email", "a@x.example"
    )
    password = first.split("Passwort: ")[1].strip()
    user = User.objects.get(email="a@x.example")
    assert user.check_password(password)
    assert user.password.startswith("argon2")
    with scopes_disabled():
        assert Membership.objects.get(user=user).role == Role.ADMIN
    second = run(
        "create_organisation", "stadt-x", "--name", "Stadt X", "--admin-email", "a@x.example"
    )
    assert "bereits vorhanden" in second
    assert "Passwort:" not in second
    assert Organisation.objects.count() == 1
    assert AuditEntry.objects.filter(action="organisation.created").count() == 1


@pytest.mark.django_db
def test_the_same_email_can_administer_two_organisations() -> None:
    run("create_organisation", "stadt-x", "--name", "Stadt X", "--admin-email", "a@x.example")
    run("create_organisation", "stadt-y", "--name", "Stadt Y", "--admin-email", "A@x.example")
    assert User.objects.count() == 1
    with scopes_disabled():
        assert Membership.objects.count() == 2


@pytest.mark.django_db
def test_bad_input_gives_a_clear_message_and_changes_nothing() -> None:
    with pytest.raises(CommandError):
        run("create_organisation", "Stadt X!", "--name", "X", "--admin-email", "a@x.example")
    with pytest.raises(CommandError):
        run("create_organisation", "stadt-x", "--name", "X", "--admin-email", "keine-mail")
    assert Organisation.objects.count() == 0
    assert User.objects.count() == 0


@pytest.mark.skipif(not SAMPLE.is_file(), reason="shared/samples not beside the checkout")
@pytest.mark.django_db
def test_demo_loads_the_sample_once() -> None:
    out = run("load_demo", "--file", str(SAMPLE))
    assert "Stadt Musterstadt" in out
    assert "400 Zähler aus musterstadt-2026.csv importiert" in out
    assert "Anmeldung: admin@musterstadt.example / " in out
    link = re.search(r"https://\S+/r/(\S+)", out)
    assert link is not None
    assert "Portal zum Ausprobieren" not in run("load_demo", "--file", str(SAMPLE))
    with scopes_disabled():
        campaign = Campaign.objects.get(name="Jahresablesung 2026")
        assert campaign.name == "Jahresablesung 2026"
        assert campaign.key_date.isoformat() == "2026-12-31"
        assert campaign.status == "open"  # ready to try the portal
        assert campaign.online_from is not None
        assert campaign.online_until is not None
        assert campaign.online_from <= timezone.localdate() <= campaign.online_until
        assert Meter.objects.count() == 400
        assert CampaignMeter.objects.filter(campaign=campaign).count() == 400
        links = CampaignMeter.objects.filter(campaign=campaign).select_related(
            "register__meter__property"
        )
        first = links.get(row_number=2)
        assert first.register.meter.number == "66978001"
        assert first.register.meter.property.owner_last_name == "Weiß"
        assert first.previous_value == 76414
        assert first.raw_row[0] == "6-00001-002"
        grant = resolve_token(link.group(1))
        assert grant is not None
        assert grant.campaign == campaign
        # reading letters for three other properties (the printed link stays valid)
        [letters] = LetterBatch.objects.filter(campaign=campaign)
        assert letters.status == "succeeded"
        assert letters.done == 3
        assert grant.property.object_number not in letters.object_numbers
        # an invitation run whose mails wait in the outbox, and the reminder switched on
        from ablesung.invitations.models import InvitationRun, ReminderSetting

        [invitations] = InvitationRun.objects.filter(campaign=campaign)
        assert invitations.status == "done"
        assert invitations.recipients_count > 0
        assert invitations.recipients.count() == invitations.recipients_count
        assert ReminderSetting.objects.get(campaign=campaign).enabled
        # the demo organisation's own letter text, and the letters carry it
        [own_text] = CustomText.objects.filter(organisation__slug="musterstadt")
        assert (own_text.kind, own_text.campaign) == ("letter", None)
        with letters.pdf_file.open("rb") as stored:
            first_page = PdfReader(stored).pages[0].extract_text()
        assert "bitte online melden" in first_page
        assert "Ihr Team der Verbrauchsabrechnung" in first_page
        company = Property.objects.get(object_number="3-00010-000")
        assert company.owner_last_name == "Bäckerei Ähm; Inh. Weiß"
        # reading versions through the real services: a correction, a release, the trash,
        # then the clerks' work (review queue, captures, a release run over the campaign)
        histories: dict[int, list[tuple[str, str, str, bool, bool]]] = {}
        for register, source, state, outcome, effective, deleted in (
            Reading.with_trashed.filter(campaign=campaign)
            .order_by("register_id", "version")
            .values_list("register_id", "source", "state", "outcome", "is_effective", "deleted_at")
        ):
            histories.setdefault(register, []).append(
                (source, state, outcome, effective, deleted is not None)
            )
        assert grant.property_id not in set(
            Reading.with_trashed.filter(campaign=campaign).values_list(
                "register__meter__property_id", flat=True
            )
        )
        released = ("released", "ok", True, False)
        waiting = ("online", "submitted", "implausible", True, False)
        assert sorted(histories.values()) == sorted(
            [
                [("online", "submitted", "ok", False, False), ("online", *released)],
                [("phone", *released)],
                [("letter", *released), ("letter", "submitted", "ok", False, True)],
                [waiting],
                [waiting],
                [("letter", *released)],
                [("phone", *released)],
                [("staff", *released)],
            ]
        )
        [release_run] = ReleaseRun.objects.filter(campaign=campaign)
        assert (release_run.checked, release_run.released, release_run.refused) == (7, 5, 2)
        assert ReleaseLogEntry.objects.filter(run=release_run).count() == 2
        assert CampaignMeter.objects.exclude(control_requested_at=None).count() == 1
        assert CitizenMessage.objects.filter(handled_at=None).count() == 1
        # a closed campaign of the same meters, key date passed, no readings: for estimates
        for_estimates = Campaign.objects.get(name="Zwischenablesung 2026")
        assert for_estimates.status == "closed"
        assert for_estimates.key_date.isoformat() == "2026-06-30"
        assert CampaignMeter.objects.filter(campaign=for_estimates).count() == 400
        assert not Reading.with_trashed.filter(campaign=for_estimates).exists()
        assert estimate_refusal(for_estimates, timezone.localdate()) is None
        assert estimates_summary(for_estimates).missing == 400
        # a campaign that is closed and exported: released readings, the rest estimated
        exported = Campaign.objects.get(name="Herbstablesung 2026")
        assert exported.status == "exported"
        [export_run] = ExportRun.objects.filter(campaign=exported)
        assert export_run.status == "succeeded"
        assert export_run.counts["by_source"] == {"S": 12, "A": 388}
        assert export_run.return_file
        assert export_run.report_file
        [mail] = OutboxMail.objects.filter(key__startswith=f"export-run:{export_run.pk}:")
        assert mail.to == "abrechnung@musterstadt.example"
        assert len(mail.attachments) == 2
        # staff: the admin without a two-factor requirement, a deactivated former clerk, a
        # pending invitation; all in the audit log
        org = for_estimates.organisation
        assert not org.two_factor_required
        members = dict(
            Membership.objects.filter(organisation=org).values_list("user__email", "is_active")
        )
        assert members == {"admin@musterstadt.example": True, "ehemals@musterstadt.example": False}
        pending = Invitation.objects.get(organisation=org, accepted_at=None)
        assert pending.email == "neu@musterstadt.example"
        assert pending.is_pending
        actions = set(AuditEntry.objects.filter(organisation=org).values_list("action", flat=True))
        assert {"invitation.sent", "invitation.accepted", "membership.deactivated"} <= actions
