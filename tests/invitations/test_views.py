"""The reminders page's actions and the run page's resend, through the views (no JavaScript)."""

from typing import Any

import pytest
import time_machine
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.accounts.models import User
from ablesung.core.models import AuditEntry, Property, Role
from ablesung.invitations import services
from ablesung.invitations.models import InvitationRecipient, InvitationRun, ReminderSetting
from ablesung.mail.models import OutboxMail
from tests.conftest import OrgData, make_member
from tests.invitations.conftest import TODAY, add, open_campaign
from tests.mail.conftest import SmtpServer

pytestmark = pytest.mark.django_db


def reminders_url(data: OrgData) -> str:
    return f"/o/stadt-a/ableseaktionen/{data.campaign.pk}/erinnerungen/"


def setting(data: OrgData) -> tuple[bool, int] | None:
    with scopes_disabled():
        found = ReminderSetting.objects.filter(campaign=data.campaign).first()
    return None if found is None else (found.enabled, found.days_before)


def test_the_reminder_setting_is_saved_and_bad_days_change_nothing(
    org_a: OrgData, client_a: Client
) -> None:
    open_campaign(org_a)
    url = reminders_url(org_a) + "einstellung/"
    response = client_a.post(url, {"enabled": "on", "days_before": "5"})
    assert response.status_code == 302
    assert response["Location"] == reminders_url(org_a)
    assert setting(org_a) == (True, 5)
    page = client_a.get(reminders_url(org_a))
    assert "Die Einstellung der Erinnerung ist gespeichert." in page.text
    assert "am 15.01.2027 (5 Tage vor Ende der Online-Erfassung)" in page.text
    for days, message in (("-1", "0 oder mehr Tage"), ("x", "ganze Zahl"), ("99", "Höchstens 60")):
        refused = client_a.post(url, {"enabled": "on", "days_before": days})
        assert refused.status_code == 400
        assert message in refused.text
        assert setting(org_a) == (True, 5)
    with scopes_disabled():
        assert AuditEntry.objects.filter(action="reminders.setting_changed").count() == 1
    viewer = Client()
    viewer.force_login(make_member(org_a.organisation, "leser@stadt-a.example", Role.VIEWER))
    assert viewer.post(url, {"days_before": "3"}).status_code == 403
    assert setting(org_a) == (True, 5)


def test_remind_now_queues_one_mail_per_non_reporter_and_refuses_when_nobody_is_left(
    smtp: SmtpServer,
    org_a: OrgData,
    client_a: Client,
    clerk_a: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 600
    open_campaign(org_a)
    add(org_a, "2", "anna@example.org")
    add(org_a, "3", "bernd@example.org", reported=True)
    url = reminders_url(org_a) + "senden/"
    with time_machine.travel(TODAY, tick=False):
        client_a.force_login(clerk_a)  # a session of the travelled-to day
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post(url)
        assert response.status_code == 302
        with scopes_disabled():
            run = InvitationRun.objects.get(kind="reminder")
            assert response["Location"] == f"/o/stadt-a/email-laeufe/{run.pk}/"
            assert list(
                InvitationRecipient.objects.filter(run=run).values_list("email", flat=True)
            ) == ["anna@example.org"]
        page = client_a.get(response["Location"])
        assert "Die Erinnerungen werden vorbereitet." in page.text
        assert "anna@example.org" in page.text
    # everybody with an address has reported now: refused, nothing queued
    add(org_a, "4", reported=True)
    with scopes_disabled():
        queued = OutboxMail.objects.count()
        InvitationRecipient.objects.all().delete()
        InvitationRun.objects.all().delete()
        Property.objects.filter(email="anna@example.org").update(email="")
    with time_machine.travel(TODAY, tick=False):
        client_a.force_login(clerk_a)
        refused = client_a.post(url, follow=True)
    assert refused.status_code == 200
    assert refused.redirect_chain[-1][0] == reminders_url(org_a)
    assert "Es gibt niemanden zu erinnern" in refused.text
    with scopes_disabled():
        assert not InvitationRun.objects.exists()
        assert OutboxMail.objects.count() == queued


def test_the_run_page_resends_failed_mails(
    smtp: SmtpServer,
    org_a: OrgData,
    client_a: Client,
    clerk_a: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BULK_MAILS_PER_MINUTE = 600
    open_campaign(org_a)
    add(org_a, "3", "unknown@example.org")  # the test server refuses it (550)
    invite = f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/portal-bereit/einladen/"
    with time_machine.travel(TODAY, tick=False):  # inside the online window
        client_a.force_login(clerk_a)
        with scopes_disabled():
            invited = services.invited_persons(org_a.campaign)  # the fixture's run: confirm
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post(invite, {"confirm": "on", "confirmed_invited": str(invited)})
        with scopes_disabled():
            run = InvitationRun.objects.order_by("-pk").first()
        assert run is not None
        run_url = f"/o/stadt-a/email-laeufe/{run.pk}/"
        assert response.status_code == 302, response.status_code
        assert response["Location"] == run_url
        page = client_a.get(run_url)
        assert "fehlgeschlagen" in page.text
        assert "1 fehlgeschlagene E-Mail erneut senden" in page.text
        with django_capture_on_commit_callbacks(execute=True):
            resent = client_a.post(run_url + "erneut/", follow=True)
        assert "1 E-Mails mit neuen Links liegen wieder im Postausgang." in resent.text
        with scopes_disabled():
            assert OutboxMail.objects.filter(to="unknown@example.org").count() == 2
            assert InvitationRecipient.objects.get(run=run).attempt == 2
