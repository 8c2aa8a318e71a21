"""Citizen reading form: check, confirm with a reason, correct, release lock, photo, history."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django_scopes import scopes_disabled
from PIL import Image

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    CitizenMessage,
    Meter,
    Organisation,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from tests.conftest import OrgData
from tests.portal.conftest import form_url, open_and_issue, post_value


@pytest.fixture(autouse=True)
def _clock(portal_clock: None) -> None:
    """Every test here runs on 30.12.2026, inside the online window."""


def readings(data: OrgData) -> list[Reading]:
    with scopes_disabled():
        return list(Reading.objects.filter(register=data.register).order_by("version"))


def effective(data: OrgData) -> list[Reading]:
    return [reading for reading in readings(data) if reading.is_effective]


def test_overview_lists_the_meter_with_its_previous_reading(
    citizen: Client, org_a: OrgData
) -> None:
    page = citizen.get("/portal/")
    assert page.status_code == 200
    assert "stadt-a-M1" in page.text
    assert "noch offen" in page.text
    assert form_url(org_a) in page.text


def test_plausible_value_is_stored_and_shown_with_a_tick(citizen: Client, org_a: OrgData) -> None:
    response = post_value(citizen, org_a, "76440")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    [reading] = readings(org_a)
    assert reading.value == Decimal(76440)
    assert reading.source == ReadingSource.ONLINE
    assert reading.outcome == "ok"
    assert reading.reading_date == datetime.date(2026, 12, 30)
    with scopes_disabled():
        assert AuditEntry.objects.filter(action="reading.submitted", object_id=reading.pk).exists()
    page = citizen.get("/portal/")
    assert "gespeichert" in page.text
    assert "76440" in page.text


def test_warning_needs_a_reason_and_stores_nothing_until_confirmed(
    citizen: Client, org_a: OrgData
) -> None:
    # 28 m³ expected; 200 m³ is far too high
    response = post_value(citizen, org_a, "76614")
    assert response.status_code == 200
    assert "Der Wert stimmt, weil" in response.text
    assert f'name="reason_{org_a.register.pk}"' in response.text
    assert "76614" in response.text  # the typed value stays in the field
    assert readings(org_a) == []
    confirmed = post_value(citizen, org_a, "76614", **{f"reason_{org_a.register.pk}": "pipe_burst"})
    assert confirmed.status_code == 302
    [reading] = readings(org_a)
    assert reading.reason == "pipe_burst"
    assert reading.outcome in {"warning", "implausible"}


def test_other_reason_needs_a_text(citizen: Client, org_a: OrgData) -> None:
    response = post_value(citizen, org_a, "76614", **{f"reason_{org_a.register.pk}": "other"})
    assert response.status_code == 200
    assert readings(org_a) == []
    stored = post_value(
        citizen,
        org_a,
        "76614",
        **{f"reason_{org_a.register.pk}": "other", f"reason_text_{org_a.register.pk}": "Neubau"},
    )
    assert stored.status_code == 302
    assert readings(org_a)[0].confirmation_reason == "Neubau"


@pytest.mark.parametrize(
    ("value", "date", "message"),
    [
        ("1234567", "2026-12-30", "zu viele Stellen"),
        ("76440", "2027-01-05", "in der Zukunft"),
        ("76440", "2025-12-01", "vor der letzten Ablesung"),
        ("abc", "2026-12-30", "keine Zahl"),
        ("76440", "31.02.2026", "gültiges Datum"),
    ],
)
def test_errors_must_be_corrected_and_store_nothing(
    citizen: Client, org_a: OrgData, value: str, date: str, message: str
) -> None:
    response = citizen.post(
        form_url(org_a), {f"value_{org_a.register.pk}": value, "reading_date": date}
    )
    assert response.status_code == 400
    assert message in response.text
    assert readings(org_a) == []


def test_correction_keeps_the_history_and_one_effective_value(
    citizen: Client, org_a: OrgData
) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    assert post_value(citizen, org_a, "76442").status_code == 302
    first, second = readings(org_a)
    assert second.version == first.version + 1
    assert (first.is_effective, second.is_effective) == (False, True)
    assert [reading.value for reading in effective(org_a)] == [Decimal(76442)]
    with scopes_disabled():
        assert AuditEntry.objects.filter(action="reading.corrected", object_id=second.pk).exists()


def test_resending_the_same_value_adds_no_version(citizen: Client, org_a: OrgData) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    assert post_value(citizen, org_a, "76440").status_code == 302
    assert len(readings(org_a)) == 1


def test_after_release_the_value_is_read_only(citizen: Client, org_a: OrgData) -> None:
    assert post_value(citizen, org_a, "76440").status_code == 302
    with scopes_disabled():
        Reading.objects.filter(register=org_a.register).update(state=ReviewState.RELEASED)
    page = citizen.get(form_url(org_a))
    assert "freigegeben" in page.text
    assert f'name="value_{org_a.register.pk}"' not in page.text
    refused = post_value(citizen, org_a, "76445")
    assert refused.status_code == 200
    assert [reading.value for reading in readings(org_a)] == [Decimal(76440)]
    assert "freigegeben" in citizen.get("/portal/").text


def test_live_check_answers_without_storing(citizen: Client, org_a: OrgData) -> None:
    url = f"/portal/zaehler/{org_a.meter.pk}/pruefen/{org_a.register.pk}/"
    ok = citizen.get(url, {f"value_{org_a.register.pk}": "76440", "reading_date": "2026-12-30"})
    assert ok.status_code == 200
    assert "plausibel" in ok.text
    high = citizen.get(url, {f"value_{org_a.register.pk}": "76614", "reading_date": "2026-12-30"})
    assert "Der Wert stimmt, weil" in high.text
    wrong = citizen.get(url, {f"value_{org_a.register.pk}": "7644O"})
    assert "keine Zahl" in wrong.text
    assert readings(org_a) == []


def test_the_form_is_enhanced_with_htmx_but_posts_without_it(
    citizen: Client, org_a: OrgData
) -> None:
    page = citizen.get(form_url(org_a))
    assert 'hx-get="/portal/zaehler/' in page.text
    assert 'method="post"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert f'aria-describedby="feedback-{org_a.register.pk}"' in page.text


def test_another_propertys_meter_is_not_found(citizen: Client, org_a: OrgData) -> None:
    with scopes_disabled():
        other = Property.objects.create(
            organisation=org_a.organisation,
            object_number="stadt-a-2",
            customer_number="stadt-a-K2",
            owner_last_name="Nachbar",
            street="Weg",
        )
        meter = Meter.objects.create(organisation=org_a.organisation, property=other, number="N1")
        register = Register.objects.create(organisation=org_a.organisation, meter=meter)
        CampaignMeter.objects.create(
            organisation=org_a.organisation, campaign=org_a.campaign, register=register
        )
    assert citizen.get(f"/portal/zaehler/{meter.pk}/").status_code == 404
    response = citizen.post(
        f"/portal/zaehler/{meter.pk}/",
        {f"value_{register.pk}": "1", "reading_date": "2026-12-30"},
    )
    assert response.status_code == 404
    assert citizen.get(f"/portal/zaehler/{meter.pk}/pruefen/{register.pk}/").status_code == 404
    with scopes_disabled():
        assert not Reading.objects.filter(register=register).exists()


def test_another_organisations_meter_is_not_found(
    citizen: Client, org_a: OrgData, org_b: OrgData
) -> None:
    assert citizen.get(f"/portal/zaehler/{org_b.meter.pk}/").status_code == 404
    response = citizen.post(
        f"/portal/zaehler/{org_b.meter.pk}/",
        {f"value_{org_b.register.pk}": "76440", "reading_date": "2026-12-30"},
    )
    assert response.status_code == 404
    with scopes_disabled():
        assert Reading.objects.filter(register=org_b.register).count() == 1  # the fixture's


def test_portal_pages_need_a_session(org_a: OrgData) -> None:
    open_and_issue(org_a)
    client = Client()
    for url in ("/portal/", form_url(org_a), "/portal/abschluss/", "/portal/nachricht/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == "/zugang/"


def test_after_the_window_every_portal_page_answers_410(citizen: Client, org_a: OrgData) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(
            online_until=datetime.date(2026, 12, 29)
        )
    for url in ("/portal/", form_url(org_a), "/portal/abschluss/"):
        response = citizen.get(url)
        assert response.status_code == 410
        assert "29.12.2026" in response.text
    assert post_value(citizen, org_a, "76440").status_code == 410
    assert readings(org_a) == []


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (640, 480), (120, 130, 140))
    exif = Image.Exif()
    exif[0x010F] = "Kamera"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photo_is_stored_re_encoded_without_exif(citizen: Client, org_a: OrgData) -> None:
    upload = io.BytesIO(jpeg_with_gps())
    upload.name = "zaehler.jpg"
    response = citizen.post(
        form_url(org_a),
        {f"value_{org_a.register.pk}": "76440", "reading_date": "2026-12-30", "photo": upload},
    )
    assert response.status_code == 302
    [reading] = readings(org_a)
    name = str(reading.photo.name)
    assert name.startswith("photos/")
    with default_storage.open(name) as stored:
        image = Image.open(io.BytesIO(stored.read()))
        assert image.format == "JPEG"
        assert not image.getexif()
        assert "exif" not in image.info


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (jpeg_with_gps() + b"PK\x03\x04" + b"\0" * 5000, "andere Daten"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "JPEG, PNG"),
        (b"GIF89a" + b"\0" * 100, "JPEG, PNG"),
    ],
)
def test_bad_photos_are_rejected_and_nothing_is_stored(
    citizen: Client, org_a: OrgData, payload: bytes, message: str
) -> None:
    upload = io.BytesIO(payload)
    upload.name = "foto.jpg"
    response = citizen.post(
        form_url(org_a),
        {f"value_{org_a.register.pk}": "76440", "reading_date": "2026-12-30", "photo": upload},
    )
    assert response.status_code == 400
    assert message in response.text
    assert readings(org_a) == []


def test_oversized_photo_is_rejected(citizen: Client, org_a: OrgData) -> None:
    upload = io.BytesIO(b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024 + 10))
    upload.name = "gross.jpg"
    response = citizen.post(
        form_url(org_a),
        {f"value_{org_a.register.pk}": "76440", "reading_date": "2026-12-30", "photo": upload},
    )
    assert response.status_code == 400
    assert "zu groß" in response.text
    assert readings(org_a) == []


def test_history_shows_previous_years_as_chart_and_table(citizen: Client, org_a: OrgData) -> None:
    with scopes_disabled():
        older = Campaign.objects.create(
            organisation=org_a.organisation,
            name="Jahresablesung 2025",
            key_date=datetime.date(2025, 12, 31),
            status=CampaignStatus.EXPORTED,
        )
        CampaignMeter.objects.create(
            organisation=org_a.organisation,
            campaign=older,
            register=org_a.register,
            previous_year_consumption=Decimal(31),
        )
    assert post_value(citizen, org_a, "76440").status_code == 302
    page = citizen.get(form_url(org_a))
    assert "Ihr Verbrauch" in page.text
    assert '<svg class="history-chart"' in page.text
    rows = re.findall(
        r'<th class="kern-table__cell" scope="row">(\d{4})[^<]*</th>'
        r'<td class="kern-table__cell num">([\d.,]+)</td>',
        page.text,
    )
    assert rows == [("2024", "31"), ("2025", "28"), ("2026", "26")]


def test_changed_branding_shows_on_the_next_page(citizen: Client, org_a: OrgData) -> None:
    """A change of the legal links or the logo shows on the next page."""
    first = citizen.get(form_url(org_a)).text
    assert 'href="https://neu.example/impressum"' not in first
    assert 'class="portal-logo"' not in first
    with scopes_disabled():
        Organisation.objects.filter(pk=org_a.organisation.pk).update(
            imprint_url="https://neu.example/impressum", logo="logos/neu.jpg"
        )
    page = citizen.get(form_url(org_a)).text
    assert '<a class="kern-link" href="https://neu.example/impressum">Impressum</a>' in page
    assert f'<img class="portal-logo" src="/logo/{org_a.organisation.slug}.jpg"' in page


def test_message_to_the_administration_is_stored(citizen: Client, org_a: OrgData) -> None:
    invalid = citizen.post("/portal/nachricht/", {"reason": "meter_defect", "text": ""})
    assert invalid.status_code == 400
    assert "Bitte schreiben Sie uns Ihre Nachricht." in invalid.text
    response = citizen.post(
        "/portal/nachricht/",
        {"reason": "meter_defect", "text": "Zeiger steht <still>", "phone": "0371 123"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        [message] = CitizenMessage.objects.all()
    assert message.property_id == org_a.property.pk
    assert message.campaign_id == org_a.campaign.pk
    assert message.text == "Zeiger steht <still>"
    assert "Ihre Nachricht ist bei der Verwaltung eingegangen." in citizen.get("/portal/").text


def test_accessibility_statement_names_the_organisations_contact_in_a_session(
    citizen: Client, org_a: OrgData
) -> None:
    with scopes_disabled():
        Organisation.objects.filter(pk=org_a.organisation.pk).update(
            contact_email="barrierefrei@stadt-a.example"
        )
    page = citizen.get("/barrierefreiheit/")
    assert page.status_code == 200
    assert "barrierefrei@stadt-a.example" in page.text
    assert "Stadt A" in page.text
    anonymous = Client().get("/barrierefreiheit/")
    assert "barrierefrei@stadt-a.example" not in anonymous.text
    assert "Sind Ihnen Barrieren aufgefallen?" in anonymous.text
