"""The export's mails through the outbox to a real SMTP server (aiosmtpd on loopback)."""

import datetime
from typing import Any

import pytest
import time_machine
from django.core.files.storage import default_storage
from django_scopes import scopes_disabled

from ablesung.core.models import Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.exports import services
from ablesung.exports.models import ExportRun, ExportStatus
from ablesung.mail.models import OutboxMail
from ablesung.mail.tasks import FIRST_RETRY, retry_due_mails
from tests.exports.conftest import ACTOR, RECIPIENTS, closed_sample
from tests.mail.conftest import SmtpServer

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 12, 7, 9, tzinfo=datetime.UTC)


def export(org: Organisation, capture: Any) -> ExportRun:
    campaign = closed_sample(org)
    with capture(execute=True):
        run = services.do_export_campaign(campaign, actor=ACTOR)
    with scopes_disabled():
        fresh: ExportRun = ExportRun.objects.get(pk=run.pk)
    return fresh


def content(name: str | None) -> bytes:
    assert name
    with default_storage.open(name, "rb") as file:
        data: bytes = file.read()
    return data


def test_each_recipient_gets_one_mail_with_both_files(
    smtp: SmtpServer, org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    run = export(org, django_capture_on_commit_callbacks)
    assert run.status == ExportStatus.SUCCEEDED
    assert sorted(to for [to] in smtp.collector.recipients) == sorted(RECIPIENTS)
    for message in smtp.messages:
        assert message["Subject"] == "Export der Ableseaktion „Jahresablesung 2026“ (Lauf 1)"
        files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
        assert files == {
            run.return_name: content(run.return_file.name),
            run.report_name: content(run.report_file.name),
        }
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "Zählwerke: 400" in text
        assert run.return_sha256 in text
    # sending again later: a second mail per recipient, the first ones stay as they were
    with django_capture_on_commit_callbacks(execute=True):
        assert services.do_resend_export_run(run, actor=ACTOR) == 2
    assert len(smtp.raw) == 4
    assert OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:2:").count() == 2


def test_with_smtp_down_the_export_succeeds_and_each_mail_arrives_once_later(
    smtp_down: SmtpServer, org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(T0, tick=False):
        run = export(org, django_capture_on_commit_callbacks)
    assert run.status == ExportStatus.SUCCEEDED
    mails = OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:")
    assert [(mail.attempts, mail.sent_at) for mail in mails] == [(1, None), (1, None)]
    assert all(mail.last_error.startswith("ConnectionRefusedError") for mail in mails)
    smtp_down.start()
    with time_machine.travel(T0 + FIRST_RETRY, tick=False):
        assert retry_due_mails() == 2
        assert retry_due_mails() == 0
    with time_machine.travel(T0 + 10 * FIRST_RETRY, tick=False):
        assert retry_due_mails() == 0
    assert sorted(to for [to] in smtp_down.collector.recipients) == sorted(RECIPIENTS)
    assert all(len(list(m.iter_attachments())) == 2 for m in smtp_down.messages)


def test_link_delivery_sends_the_run_page_instead_of_the_files(
    smtp: SmtpServer, org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    services.do_update_export_settings(
        org, addresses=["abrechnung@musterstadt.example"], delivery="link", actor=ACTOR
    )
    run = export(org, django_capture_on_commit_callbacks)
    [message] = smtp.messages
    assert list(message.iter_attachments()) == []
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"/o/musterstadt/exporte/{run.pk}/" in body.get_content()
    assert "nach der Anmeldung" in body.get_content()


def test_a_given_up_export_mail_is_counted_for_the_campaign_alert(
    smtp_down: SmtpServer, org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    run = export(org, django_capture_on_commit_callbacks)
    campaign = run.campaign
    with organisation_scope(org):
        assert services.failed_export_mails(campaign) == 0
        OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:").update(failed_at=T0)
        assert services.failed_export_mails(campaign) == 2


def test_export_settings_are_stored_once_and_audited(org: Organisation) -> None:
    assert services.do_update_export_settings(
        org, addresses=["A@Example.org", "a@example.org "], delivery="attachment", actor=ACTOR
    )
    org.refresh_from_db()
    assert services.recipients(org) == ["a@example.org"]
    assert not services.delivers_link(org)
    assert not services.do_update_export_settings(
        org, addresses=["a@example.org"], delivery="attachment", actor=ACTOR
    )
