"""Meter readings are written as the meter shows them: never grouped in thousands
("76.414 m³" reads as a decimal in German), with the meter's decimals and the language's
decimal separator (``{{ value|meter_value:decimals }}``)."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled

from ablesung.core.models import Meter
from ablesung.core.templatetags.meter_values import meter_value
from ablesung.mail.models import OutboxMail
from tests.conftest import OrgData
from tests.portal.conftest import form_url, post_value


@pytest.fixture(autouse=True)
def _grouping_on(settings: Any) -> None:
    """Django's own number formatting would group now ("76.414"); readings must not."""
    settings.USE_THOUSAND_SEPARATOR = True


def test_the_filter() -> None:
    with translation.override("de"):
        assert meter_value(Decimal("99999.0000")) == "99999"
        assert meter_value(Decimal("99999.0000"), 0) == "99999"
        assert meter_value(Decimal("1234.5600"), 3) == "1234,560"
        assert meter_value(Decimal("1234.5600")) == "1234,56"
        assert meter_value(Decimal("1234567.25"), "1") == "1234567,25"  # no place is cut off
        assert meter_value(Decimal("100000")) == "100000"
        assert meter_value(Decimal("0.0000"), 2) == "0,00"
        assert meter_value(None) == ""
        assert meter_value(Decimal(5), "") == "5"
    with translation.override("en"):
        assert meter_value(Decimal("99999.0000")) == "99999"
        assert meter_value(Decimal("1234.5600"), 3) == "1234.560"


def without_tags(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_portal_pages_german(citizen: Client, org_a: OrgData) -> None:
    home = without_tags(citizen.get("/portal/").text)
    assert "Letzter Zählerstand: 76414 m³" in home
    meter_page = without_tags(citizen.get(form_url(org_a)).text)
    assert "Letzter Zählerstand: 76414 m³" in meter_page
    assert post_value(citizen, org_a, "76440").status_code == 302
    assert "Ihr Wert: 76440 m³" in without_tags(citizen.get("/portal/").text)
    assert "Ihr gespeicherter Wert: 76440 m³" in without_tags(citizen.get(form_url(org_a)).text)
    assert "76440 m³" in without_tags(citizen.get("/portal/abschluss/").text)
    for page in (home, meter_page):
        assert "76.414" not in page


def test_decimals_as_on_the_meter_in_german_and_english(
    citizen: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    with scopes_disabled():
        Meter.objects.filter(pk=org_a.meter.pk).update(decimals=3)
    assert post_value(citizen, org_a, "76440,5").status_code == 302
    home = without_tags(citizen.get("/portal/").text)
    assert "Ihr Wert: 76440,500 m³" in home
    assert "Letzter Zählerstand: 76414,000 m³" in home
    with django_capture_on_commit_callbacks(execute=True):
        response = citizen.post("/portal/abschluss/", {"email": "monika@example.org"})
    assert response.status_code == 302
    confirmation = without_tags(citizen.get(response["Location"]).text)
    assert "76440,500" in confirmation
    with scopes_disabled():
        [mail] = OutboxMail.objects.all()
    assert "76440,500 m³" in mail.text  # with the meter's decimals, as on the pages
    assert "76440,500 m³" in mail.html
    assert "76.440" not in mail.text + mail.html
    citizen.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    english = without_tags(citizen.get("/portal/").text)
    assert "Your value: 76440.500 m³" in english
    assert "76,440" not in english
    assert "76440.500 m³" in without_tags(citizen.get("/portal/abschluss/").text)


def test_mail_values_are_not_grouped(
    citizen: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        citizen.post("/portal/abschluss/", {"email": "monika@example.org"})
    with scopes_disabled():
        [mail] = OutboxMail.objects.all()
    assert "76440 m³" in mail.text
    assert "76440 m³" in mail.html


def test_backend_meter_table(client_a: Client, org_a: OrgData) -> None:
    page = client_a.get(f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/").text
    cells = re.findall(r'<td class="kern-table__cell kern-table__cell--numeric">([^<]*)</td>', page)
    assert cells[0] == "76414"
