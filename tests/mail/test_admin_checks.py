"""The visible alert (operator admin, count for the dashboard) and the deploy check."""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ablesung.mail.checks import check_mailer
from ablesung.mail.models import OutboxMail
from ablesung.mail.services import failed_mail_count
from tests.conftest import OrgData
from tests.mail.conftest import SmtpServer


def given_up(org_data: OrgData | None, key: str) -> OutboxMail:
    mail: OutboxMail = OutboxMail.objects.create(
        key=key,
        to="b@example.org",
        subject=f"Betreff {key}",
        text="Text",
        organisation=org_data.organisation if org_data else None,
        attempts=17,
        failed_at=timezone.now(),
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    return mail


@pytest.mark.django_db
def test_failed_mail_count_counts_given_up_mails_of_one_organisation(
    org_a: OrgData, org_b: OrgData
) -> None:
    given_up(org_a, "a1")
    given_up(org_a, "a2")
    given_up(org_b, "b1")
    OutboxMail.objects.create(
        key="waiting", to="c@example.org", subject="S", text="T", organisation=org_a.organisation
    )
    assert failed_mail_count(org_a.organisation) == 2
    assert failed_mail_count(org_b.organisation) == 1
    assert failed_mail_count(None) == 0


@pytest.mark.django_db
def test_operator_sees_given_up_mails_in_the_admin_and_can_retry_them(
    admin_client: Client,
    smtp: SmtpServer,
    org_a: OrgData,
    django_capture_on_commit_callbacks: Any,
) -> None:
    failed = given_up(org_a, "reading-confirmation:1")
    OutboxMail.objects.create(key="other", to="c@example.org", subject="Wartet noch", text="T")

    response = admin_client.get("/admin/mail/outboxmail/", {"status": "failed"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Betreff reading-confirmation:1" in page
    assert "Wartet noch" not in page
    assert "aufgegeben" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/mail/outboxmail/",
            {"action": "retry_given_up", "_selected_action": [failed.pk]},
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.failed_at is None
    assert failed.sent_at is not None
    assert len(smtp.raw) == 1


def test_deploy_check_refuses_a_mailer_that_does_not_deliver(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    assert [message.id for message in check_mailer()] == ["mail.E001"]


def test_deploy_check_warns_about_smtp_without_a_short_timeout(settings: Any) -> None:
    smtp_backend = "django.core.mail.backends.smtp.EmailBackend"
    settings.MAILERS = {"default": {"BACKEND": smtp_backend, "OPTIONS": {"host": "mail"}}}
    assert [message.id for message in check_mailer()] == ["mail.W001"]
    settings.MAILERS = {
        "default": {"BACKEND": smtp_backend, "OPTIONS": {"host": "mail", "timeout": 10}}
    }
    assert check_mailer() == []
