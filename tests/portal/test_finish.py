"""Summary → send → confirmation page, and the confirmation e-mail through a real SMTP server."""

from typing import Any

from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import Organisation
from ablesung.mail.models import OutboxMail
from tests.conftest import OrgData
from tests.mail.conftest import SmtpServer, smtp, smtp_down  # noqa: F401 (fixtures)
from tests.portal.conftest import post_value


def test_summary_without_readings_offers_no_send(citizen: Client, org_a: OrgData) -> None:
    page = citizen.get("/portal/abschluss/")
    assert page.status_code == 200
    assert "noch keinen Zählerstand" in page.text
    assert "Absenden" not in page.text


def test_send_shows_the_stored_values_and_mails_them(
    citizen: Client,
    org_a: OrgData,
    smtp: SmtpServer,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    with scopes_disabled():
        Organisation.objects.filter(pk=org_a.organisation.pk).update(
            contact_email="zaehler@stadt-a.example", contact_phone="0371 4711"
        )
    assert post_value(citizen, org_a, "76440").status_code == 302
    summary = citizen.get("/portal/abschluss/")
    assert "76440" in summary.text
    with django_capture_on_commit_callbacks(execute=True):
        response = citizen.post("/portal/abschluss/", {"email": "monika@example.org"})
    assert response.status_code == 302
    page = citizen.get(response["Location"])
    assert page.status_code == 200
    assert "76440" in page.text
    assert "30.12.2026" in page.text
    assert "per E-Mail unterwegs" in page.text
    [message] = smtp.messages
    assert message["To"] == "monika@example.org"
    assert "Stadt A" in str(message["Subject"])
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    plain = text.get_content()
    assert "76440" in plain
    assert "30.12.2026" in plain
    assert "bis die Verwaltung sie freigegeben hat" in plain
    assert "zaehler@stadt-a.example" in plain
    assert "76440" in html.get_content()
    with scopes_disabled():
        [mail] = OutboxMail.objects.all()
    assert mail.sent_at is not None


def test_sending_twice_queues_one_mail(
    citizen: Client,
    org_a: OrgData,
    smtp: SmtpServer,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            citizen.post("/portal/abschluss/", {"email": "monika@example.org"})
    assert len(smtp.messages) == 1


def test_invalid_email_is_refused_and_nothing_queued(citizen: Client, org_a: OrgData) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    response = citizen.post("/portal/abschluss/", {"email": "kein-at-zeichen"})
    assert response.status_code == 400
    assert "gültige E-Mail-Adresse" in response.text
    assert not OutboxMail.objects.exists()


def test_without_email_the_confirmation_page_still_lists_the_values(
    citizen: Client, org_a: OrgData
) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    response = citizen.post("/portal/abschluss/", {"email": ""})
    assert response.status_code == 302
    page = citizen.get("/portal/bestaetigung/")
    assert "76440" in page.text
    assert "per E-Mail" not in page.text
    assert not OutboxMail.objects.exists()


def test_imported_names_are_escaped_in_the_mail(
    citizen: Client,
    org_a: OrgData,
    smtp: SmtpServer,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    with scopes_disabled():
        Organisation.objects.filter(pk=org_a.organisation.pk).update(
            contact_address="<script>alert(1)</script>"
        )
    assert post_value(citizen, org_a, "76440").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        citizen.post("/portal/abschluss/", {"email": "monika@example.org"})
    [message] = smtp.messages
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;" in html.get_content()


def test_an_address_typed_in_the_reading_form_is_offered_on_the_summary(
    citizen: Client, org_a: OrgData
) -> None:
    refused = post_value(citizen, org_a, "76440", email="kein-at")
    assert refused.status_code == 400
    assert "gültige E-Mail-Adresse" in refused.text
    assert post_value(citizen, org_a, "76440", email="monika@example.org").status_code == 302
    summary = citizen.get("/portal/abschluss/")
    assert 'value="monika@example.org"' in summary.text
