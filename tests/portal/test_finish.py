"""Summary → send → confirmation page, and the confirmation e-mail through a real SMTP server."""

import datetime
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import AccessGrant, AuditEntry, Organisation, Reading
from ablesung.core.services.access import IssuedAccess, access_from_grant
from ablesung.core.services.actor import Actor
from ablesung.core.services.confirmation import do_queue_reading_confirmation
from ablesung.mail.models import OutboxMail
from tests.conftest import OrgData
from tests.mail.conftest import SmtpServer, smtp, smtp_down  # noqa: F401 (fixtures)
from tests.portal.conftest import TODAY, open_and_issue, post_value


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


# --- confirmation mails a letter can trigger are limited -------------------------------------

TOO_MANY = "Für heute wurden schon zu viele Bestätigungen verschickt."


def open_letter(access: IssuedAccess) -> Client:
    client = Client()
    assert client.get(f"/r/{access.token}").status_code == 302
    return client


def confirm(client: Client, email: str) -> Any:
    return client.post("/portal/abschluss/", {"email": email})


def queued() -> list[str]:
    with scopes_disabled():
        return sorted(OutboxMail.objects.values_list("to", flat=True))


def requested() -> int:
    with scopes_disabled():
        return AuditEntry.objects.filter(action="reading.confirmation_requested").count()


@pytest.fixture
def letter_a(org_a: OrgData, portal_clock: None) -> IssuedAccess:
    return open_and_issue(org_a)


def test_a_letter_sends_three_confirmations_a_day_then_refuses(
    org_a: OrgData, letter_a: IssuedAccess
) -> None:
    citizen = open_letter(letter_a)
    assert post_value(citizen, org_a, "76440").status_code == 302
    for n in range(3):
        assert confirm(citizen, f"adresse-{n}@example.org").status_code == 302
    assert confirm(citizen, "adresse-0@example.org").status_code == 302  # same mail: not counted
    refused = confirm(citizen, "adresse-3@example.org")
    assert refused.status_code == 429
    assert TOO_MANY in refused.text
    assert "Ihre Zählerstände sind gespeichert" in refused.text
    assert queued() == [f"adresse-{n}@example.org" for n in range(3)]
    assert requested() == 3
    # without an address the citizen still finishes
    assert confirm(citizen, "").status_code == 302
    with time_machine.travel(TODAY + datetime.timedelta(days=1), tick=False):
        citizen = open_letter(letter_a)  # yesterday's session has ended
        assert confirm(citizen, "adresse-3@example.org").status_code == 302
    assert len(queued()) == 4
    assert requested() == 4


def test_an_address_gets_a_limited_number_of_confirmations_a_day(
    org_a: OrgData, org_b: OrgData, letter_a: IssuedAccess, settings: Any
) -> None:
    settings.CONFIRMATION_MAILS_PER_ADDRESS_PER_DAY = 1
    citizen_a = open_letter(letter_a)
    citizen_b = open_letter(open_and_issue(org_b))
    assert post_value(citizen_a, org_a, "76440").status_code == 302
    assert post_value(citizen_b, org_b, "76440").status_code == 302
    assert confirm(citizen_a, "opfer@example.org").status_code == 302
    refused = confirm(citizen_b, "Opfer@Example.org ")  # another letter, the same address
    assert refused.status_code == 429
    assert TOO_MANY in refused.text
    assert queued() == ["opfer@example.org"]
    assert confirm(citizen_b, "monika@example.org").status_code == 302  # its own budget is intact
    with time_machine.travel(TODAY + datetime.timedelta(days=1), tick=False):
        citizen_b = open_letter(open_and_issue(org_b))
        assert post_value(citizen_b, org_b, "76441").status_code == 302
        assert confirm(citizen_b, "opfer@example.org").status_code == 302
    assert queued() == ["monika@example.org", "opfer@example.org", "opfer@example.org"]


def test_the_confirmation_service_is_the_outermost_transaction(
    org_a: OrgData, letter_a: IssuedAccess
) -> None:
    """Architecture rule 1: views open no transaction; the service's own is durable."""
    citizen = open_letter(letter_a)
    assert post_value(citizen, org_a, "76440").status_code == 302
    with scopes_disabled():
        grant = AccessGrant.objects.select_related("campaign", "property", "organisation").get(
            pk=letter_a.grant_id
        )
        reading = Reading.objects.select_related("register__meter").get(
            campaign=org_a.campaign, register=org_a.register
        )
    access = access_from_grant(grant)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        do_queue_reading_confirmation(
            access, [reading], email="a@example.org", lang="de", actor=Actor.system("test")
        )
    assert queued() == []
