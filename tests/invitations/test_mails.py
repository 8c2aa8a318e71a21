"""Invitation and reminder mails through the outbox to a real SMTP server (aiosmtpd)."""

import datetime
import re
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import AccessGrant, AuditEntry, Campaign, CampaignStatus, Property
from ablesung.core.schedule import tick
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import resolve_token
from ablesung.invitations import services
from ablesung.invitations.models import InvitationRecipient, InvitationRun, RecipientStatus, RunKind
from ablesung.invitations.services import InvitationsRefused
from ablesung.letters.text_store import do_save_text
from ablesung.letters.texts import TextKind
from ablesung.lib.codes import sha256_hex
from ablesung.mail.models import OutboxMail
from ablesung.mail.tasks import ERASED_TEXT, retry_due_mails
from tests.conftest import OrgData
from tests.invitations.conftest import ACTOR, TODAY, UNTIL, add, open_campaign
from tests.mail.conftest import SmtpServer

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/r/(\S+)")


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def by_recipient(smtp: SmtpServer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for [to], message in zip(smtp.collector.recipients, smtp.messages, strict=True):
        found.setdefault(to, []).append(body(message))
    return found


def run_of(data: OrgData, capture: Any, kind: RunKind = RunKind.INVITATION) -> InvitationRun:
    with capture(execute=True):
        run = services.do_request_run(
            data.campaign, organisation=data.organisation, kind=kind, actor=ACTOR
        )
    with scopes_disabled():
        fresh: InvitationRun = InvitationRun.objects.get(pk=run.pk)
    return fresh


def statuses(run: InvitationRun) -> dict[str, str]:
    with scopes_disabled():
        return {
            recipient.email: recipient.status
            for recipient in InvitationRecipient.objects.filter(run=run).select_related("mail")
        }


def test_one_mail_per_person_lists_all_their_properties_and_each_link_opens_its_meters(
    smtp: SmtpServer, org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 600
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    add(org_a, "3", "Bernd@Example.org")
    add(org_a, "4", " bernd@example.ORG")  # the same person, written differently
    add(org_a, "5")  # no address: a letter, not a mail
    add(org_a, "6", "kaputt@localhost")  # looks invalid: left out
    with time_machine.travel(TODAY, tick=False):
        run = run_of(org_a, django_capture_on_commit_callbacks)
    assert (run.status, run.recipients_count, run.properties_count) == ("done", 2, 3)
    with time_machine.travel(TODAY + datetime.timedelta(minutes=1), tick=False):
        retry_due_mails()
        assert retry_due_mails() == 0
    mails = by_recipient(smtp)
    assert sorted(mails) == ["Bernd@Example.org", "anna@example.org"]
    assert all(len(texts) == 1 for texts in mails.values())
    bernd = mails["Bernd@Example.org"][0]
    assert "stadt-a-3" in bernd
    assert "stadt-a-4" in bernd
    assert "stadt-a-2" not in bernd
    assert "Weg 3, 09111 Stadt" in bernd
    assert "Guten Tag Eigner 3" in bernd
    assert "31.12.2026" in bernd
    assert "20.01.2027" in bernd
    assert "stadt-a-2" in mails["anna@example.org"][0]
    # every link opens exactly its property's meters (while the portal is open)
    travel = time_machine.travel(TODAY + datetime.timedelta(minutes=2), tick=False)
    travel.start()
    for text in (bernd, mails["anna@example.org"][0]):
        blocks = text.split("• ")[1:]
        assert blocks
        for block in blocks:
            number = re.search(r"Objekt stadt-a-(\d+)", block)
            link = LINK.search(block)
            assert number is not None
            assert link is not None
            client = Client()
            page = client.get(f"/r/{link.group(1)}", follow=True)
            assert page.status_code == 200
            html = page.content.decode()
            assert f"stadt-a-M{number.group(1)}" in html
            for other in {"2", "3", "4"} - {number.group(1)}:
                assert f"stadt-a-M{other}" not in html
    travel.stop()
    # the links live only in the sent mails: the outbox erased them
    with scopes_disabled():
        assert set(OutboxMail.objects.values_list("text", flat=True)) == {ERASED_TEXT}
        assert AccessGrant.objects.filter(revoked_at__isnull=True).count() == 3
    assert statuses(run) == {
        "Bernd@Example.org": RecipientStatus.SENT,
        "anna@example.org": RecipientStatus.SENT,
    }


def test_an_invitation_leaves_printed_codes_valid(
    smtp: SmtpServer, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    from ablesung.core.services.access import do_issue_access

    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    printed = do_issue_access(org_a.campaign, organisation=org_a.organisation, actor=ACTOR)
    run_of(org_a, django_capture_on_commit_callbacks)
    assert len(smtp.messages) == 1
    for access in printed:
        assert resolve_token(access.token) is not None


def test_mails_are_paced_and_the_sweep_sends_only_due_ones(
    smtp: SmtpServer, org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 2
    open_campaign(org_a)
    for number in range(2, 8):  # six people
        add(org_a, str(number), f"person{number}@example.org")
    with time_machine.travel(TODAY, tick=False):
        run_of(org_a, django_capture_on_commit_callbacks)
        with scopes_disabled():
            due = sorted(
                OutboxMail.objects.filter(sent_at__isnull=True).values_list(
                    "next_attempt_at", flat=True
                )
            )
        assert [(at - TODAY).total_seconds() for at in due] == [60, 90, 120, 150]
        # the first two (0 s and 30 s: due now within the outbox's clock skew) went at once
        assert len(smtp.raw) == 2
        assert retry_due_mails() == 0
    with time_machine.travel(TODAY + datetime.timedelta(seconds=60), tick=False):
        assert retry_due_mails() == 1
        assert retry_due_mails() == 0
    assert len(smtp.raw) == 3
    with time_machine.travel(TODAY + datetime.timedelta(seconds=150), tick=False):
        assert retry_due_mails() == 3
    assert len(smtp.raw) == 6


def test_statuses_follow_the_outbox_and_failed_ones_are_sent_again_with_new_links(
    smtp: SmtpServer, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    add(org_a, "3", "unknown@example.org")  # the server refuses it permanently (550)
    run = run_of(org_a, django_capture_on_commit_callbacks)
    assert statuses(run) == {
        "anna@example.org": RecipientStatus.SENT,
        "unknown@example.org": RecipientStatus.FAILED,
    }
    with scopes_disabled():
        failed = InvitationRecipient.objects.get(run=run, email="unknown@example.org")
        old_grants = list(failed.grant_ids)
        assert failed.mail is not None
        assert failed.mail.text == ERASED_TEXT
    with django_capture_on_commit_callbacks(execute=True):
        assert services.do_resend_failed(run, actor=ACTOR) == 1
    with scopes_disabled():
        failed.refresh_from_db()
        assert AccessGrant.objects.get(pk=old_grants[0]).revoked_at is not None
        assert failed.grant_ids != old_grants
        assert failed.attempt == 2
        assert OutboxMail.objects.filter(to="unknown@example.org").count() == 2
        assert AuditEntry.objects.filter(action="invitations.resent").count() == 1
    assert statuses(run)["unknown@example.org"] == RecipientStatus.FAILED
    assert len(smtp.raw) == 1
    # nothing failed any more → refused
    with scopes_disabled():
        InvitationRecipient.objects.filter(email="unknown@example.org").delete()
    with pytest.raises(InvitationsRefused, match="keine fehlgeschlagenen"):
        services.do_resend_failed(run, actor=ACTOR)


def test_refusals_change_nothing(
    smtp: SmtpServer, org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 1
    add(org_a, "2", "anna@example.org")

    def request(kind: RunKind = RunKind.INVITATION, **kwargs: Any) -> InvitationRun:
        return services.do_request_run(
            org_a.campaign, organisation=org_a.organisation, kind=kind, actor=ACTOR, **kwargs
        )

    with pytest.raises(InvitationsRefused, match="nur für geöffnete"):
        request()  # a draft
    open_campaign(org_a, until=datetime.date(2020, 1, 1))
    with pytest.raises(InvitationsRefused, match=r"endete am 01\.01\.2020"):
        request()
    open_campaign(org_a)
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(status=CampaignStatus.OPEN)
    with time_machine.travel(TODAY, tick=False):
        add(org_a, "3", "bernd@example.org")
        run_of(org_a, django_capture_on_commit_callbacks)  # bernd waits a minute
        with pytest.raises(InvitationsRefused, match="warten noch 1 E-Mails"):
            request()
    with time_machine.travel(TODAY + datetime.timedelta(minutes=2), tick=False):
        retry_due_mails()
        with pytest.raises(InvitationsRefused, match="schon 3 Personen eingeladen"):
            request(confirmed_invited=0)
        add(org_a, "4", "carla@example.org", reported=True)
        with scopes_disabled():  # everyone else without a reading loses the address
            Property.objects.exclude(object_number="stadt-a-4").update(email="")
        with pytest.raises(InvitationsRefused, match="niemanden zu erinnern"):
            request(kind=RunKind.REMINDER)
    with scopes_disabled():
        assert InvitationRun.objects.count() == 2  # the fixture's and the one above


def test_reminders_go_to_non_reporters_once_when_the_schedule_ticks_twice(
    smtp: SmtpServer, org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 6000
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")  # no reading
    add(org_a, "3", "bernd@example.org")  # no reading
    add(org_a, "4", "bernd@example.org", reported=True)
    add(org_a, "5", "carla@example.org", reported=True)
    add(org_a, "6")  # no reading, no address: the reminder letter
    services.do_save_reminder_setting(
        org_a.campaign, organisation=org_a.organisation, enabled=True, days_before=7, actor=ACTOR
    )
    day = UNTIL - datetime.timedelta(days=7)

    def tick_at(moment: datetime.datetime) -> None:
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            tick()
        with time_machine.travel(moment + datetime.timedelta(minutes=2), tick=False):
            retry_due_mails()

    eight = datetime.time(8, 30)
    tick_at(datetime.datetime.combine(day - datetime.timedelta(days=1), eight, datetime.UTC))
    assert smtp.raw == []
    tick_at(datetime.datetime.combine(day, eight, datetime.UTC))
    tick_at(datetime.datetime.combine(day + datetime.timedelta(days=1), eight, datetime.UTC))
    mails = by_recipient(smtp)
    assert sorted(mails) == ["anna@example.org", "bernd@example.org"]
    assert [len(texts) for texts in mails.values()] == [1, 1]
    assert "stadt-a-3" in mails["bernd@example.org"][0]
    assert "stadt-a-4" not in mails["bernd@example.org"][0]
    assert "Erinnerung" in smtp.messages[0]["Subject"]
    with organisation_scope(org_a.organisation):
        run = InvitationRun.objects.get(kind=RunKind.REMINDER)
        assert (run.kind, run.automatic, run.recipients_count) == ("reminder", True, 2)
        assert AuditEntry.objects.filter(action="reminders.queued").count() == 1


def test_no_token_is_stored_anywhere_but_the_waiting_mail(
    org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 1
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    add(org_a, "3", "bernd@example.org")
    with time_machine.travel(TODAY, tick=False):
        run_of(org_a, django_capture_on_commit_callbacks)
    with scopes_disabled():
        waiting = OutboxMail.objects.get(sent_at__isnull=True)
        match = LINK.search(waiting.text)
        assert match is not None
        token = match.group(1)
        grant = AccessGrant.objects.get(token_hash=sha256_hex(token))
        recipient = InvitationRecipient.objects.get(mail=waiting)
        assert grant.pk in recipient.grant_ids
        assert token not in str(list(InvitationRecipient.objects.values()))
        assert token not in str(list(AuditEntry.objects.values()))


def test_the_organisations_own_invitation_text_is_what_is_sent(
    smtp: SmtpServer, org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 600
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    do_save_text(
        org_a.organisation,
        TextKind.INVITATION_MAIL,
        subject="Zählerstand bis {frist}",
        body="Moin {name},\n{objekte}\nGruß",
        actor=ACTOR,
    )
    with time_machine.travel(TODAY, tick=False):
        run_of(org_a, django_capture_on_commit_callbacks)
    with time_machine.travel(TODAY + datetime.timedelta(minutes=1), tick=False):
        retry_due_mails()
    [message] = smtp.messages
    assert message["Subject"] == f"Zählerstand bis {UNTIL:%d.%m.%Y}"
    text = body(message)
    assert text.startswith("Moin ")
    assert "(Objekt stadt-a-2)" in text
    assert LINK.search(text)


def test_new_letters_leave_the_mailed_links_valid(
    smtp: SmtpServer, org_a: OrgData, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from ablesung.core.services.access import do_issue_access
    from ablesung.letters.services import do_generate_letters

    settings.BULK_MAILS_PER_MINUTE = 600
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    with time_machine.travel(TODAY, tick=False):
        run_of(org_a, django_capture_on_commit_callbacks)
    with time_machine.travel(TODAY + datetime.timedelta(minutes=1), tick=False):
        retry_due_mails()
    [message] = smtp.messages
    match = LINK.search(body(message))
    assert match is not None
    mailed = match.group(1)
    with scopes_disabled():
        mail_grant = resolve_token(mailed)
        assert mail_grant is not None
        assert mail_grant.channel == "mail"
    # new letters for every property, and a new list of codes: printed access is replaced
    printed = do_issue_access(org_a.campaign, organisation=org_a.organisation, actor=ACTOR)
    do_generate_letters(org_a.campaign, organisation=org_a.organisation, actor=ACTOR)
    assert all(resolve_token(access.token) is None for access in printed)
    assert resolve_token(mailed) is not None  # the e-mail's link still opens the portal
