"""Upload → mapping → (task) → result, through the backend pages."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import Campaign, ImportBatch, ImportProfile, Meter, Role
from ablesung.formats import FileLayout, Profile, ReturnFile
from ablesung.formats.return_file import export_columns
from tests.conftest import OrgData, make_member

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason="shared/samples not beside the checkout"
)


def upload(client: Client, name: str, data: bytes, **fields: Any) -> Any:
    post = {"profile": "FINANZ+ (Standard)", "file": SimpleUploadedFile(name, data), **fields}
    return client.post("/o/stadt-a/import/", post)


def start(client: Client, batch: ImportBatch, follow: bool = True, **overrides: str) -> Any:
    page = client.get(f"/o/stadt-a/importe/{batch.pk}/zuordnung/")
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["decimal_comma"] = "on"
    data.update(overrides)
    return client.post(f"/o/stadt-a/importe/{batch.pk}/zuordnung/", data, follow=follow)


@needs_samples
@pytest.mark.django_db
def test_clean_sample_imports_through_the_pages(
    client_a: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    response = upload(
        client_a,
        "musterstadt-2026.csv",
        (SAMPLES / "musterstadt-2026.csv").read_bytes(),
        new_campaign_name="Jahresablesung 2027",
        new_key_date="31.12.2027",
    )
    assert response.status_code == 302
    with scopes_disabled():
        batch = ImportBatch.objects.exclude(original_name="liste.csv").get()
    mapping = client_a.get(response["Location"])
    assert "Windows-1252" in mapping.text
    assert "Semikolon" in mapping.text
    assert "Gartenstraße" in mapping.text  # preview
    assert mapping.context["form"]["col_meter_number"].value() == "Zählernummer"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = start(client_a, batch, follow=False, save_as="Musterstadt 2026")
    assert started.status_code == 302, started.context["form"].errors
    assert started["Location"] == f"/o/stadt-a/importe/{batch.pk}/"
    assert len(callbacks) == 1  # the task is enqueued on commit
    result = client_a.get(started["Location"])
    assert "vollständig importiert" in result.text
    assert "321 neu, 0 geändert, 0 unverändert" in result.text
    with scopes_disabled():
        campaign = Campaign.objects.get(name="Jahresablesung 2027")
        assert campaign.key_date.isoformat() == "2027-12-31"
        assert Meter.objects.filter(organisation=org_a.organisation).count() == 401
        assert ImportProfile.objects.get().name == "Musterstadt 2026"
    partial = client_a.get(f"/o/stadt-a/importe/{batch.pk}/", HTTP_HX_REQUEST="true")
    assert partial.text.lstrip().startswith('<div id="import-status"')


@needs_samples
@pytest.mark.django_db
def test_dirty_sample_is_rejected_with_a_downloadable_error_list(
    client_a: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    response = upload(
        client_a,
        "dirty.csv",
        (SAMPLES / "musterstadt-2026-dirty.csv").read_bytes(),
        campaign=str(org_a.campaign.pk),
    )
    with scopes_disabled():
        batch = ImportBatch.objects.exclude(original_name="liste.csv").get()
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        start(client_a, batch, follow=False)
    result = client_a.get(f"/o/stadt-a/importe/{batch.pk}/")
    assert "Nichts importiert." in result.text
    assert "ist kein gültiges Datum." in result.text
    with scopes_disabled():
        assert Meter.objects.filter(organisation=org_a.organisation).count() == 1
        batch.refresh_from_db()
    download = client_a.get(f"/o/stadt-a/importe/{batch.pk}/fehler.csv")
    assert download["Content-Disposition"].startswith("attachment;")
    text = b"".join(download.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Zeile", "Spalte", "Wert", "Meldung"]
    assert len(rows) == batch.error_count + 1
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert any(row[2].startswith("'-") for row in rows)  # negative value neutralised


@pytest.mark.django_db
def test_unreadable_file_gets_a_german_message_and_creates_nothing(client_a: Client) -> None:
    response = upload(
        client_a,
        "liste.xlsx",
        b"PK\x03\x04 kaputt",
        new_campaign_name="Neu",
        new_key_date="31.12.2027",
    )
    assert response.status_code == 400
    assert "kern-error" in response.text
    with scopes_disabled():
        assert not Campaign.objects.filter(name="Neu").exists()
        assert not ImportBatch.objects.exclude(original_name="liste.csv").exists()


@pytest.mark.django_db
def test_upload_needs_a_campaign_or_a_new_one(client_a: Client) -> None:
    response = upload(client_a, "x.csv", b"Objektnummer;Name\r\n1;A\r\n")
    assert response.status_code == 400
    assert "Bitte wählen Sie eine Ableseaktion" in response.text


@pytest.mark.django_db
def test_missing_required_column_keeps_the_clerk_on_the_mapping_page(
    client_a: Client, org_a: OrgData
) -> None:
    upload(
        client_a,
        "x.csv",
        "Objektnummer;Name\r\n1;A\r\n".encode("cp1252"),
        campaign=str(org_a.campaign.pk),
    )
    with scopes_disabled():
        batch = ImportBatch.objects.exclude(original_name="liste.csv").get()
    page = start(client_a, batch)
    assert page.status_code == 400
    assert "Pflichtfeld: bitte eine Spalte zuordnen." in page.text
    batch.refresh_from_db()
    assert batch.status == "pending"


@pytest.mark.django_db
def test_viewer_may_not_import(org_a: OrgData) -> None:
    viewer = make_member(org_a.organisation, "viewer@stadt-a.example", Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    assert client.get("/o/stadt-a/import/").status_code == 403


@pytest.mark.django_db
def test_oversized_upload_is_refused_before_the_body_is_read(client_a: Client) -> None:
    response = client_a.post(
        "/o/stadt-a/import/",
        data=b"x" * 100,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(60 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "Die Datei ist größer als 50 MB." in response.text


EXPORT_HEADER = (
    "Objektnummer;Kassenzeichen;Name;Straße;Zählernummer;Ablesedatum alt;Zählerstand alt;"
    "Vorjahresverbrauch;Ablesedatum neu;Stand für Abrechnung;Ableseart;Bemerkung\r\n"
)
EXPORT_ROW = "O-1;K-1;Weiß;Gartenstraße;M-1;16.01.2026;100;20;;;;\r\n"


@pytest.mark.django_db
def test_the_mapping_page_names_the_return_files_columns_and_saves_a_chosen_one(
    client_a: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    upload(
        client_a,
        "abrechnung.csv",
        (EXPORT_HEADER + EXPORT_ROW).encode("cp1252"),
        campaign=str(org_a.campaign.pk),
    )
    with scopes_disabled():
        batch = ImportBatch.objects.exclude(original_name="liste.csv").get()
    page = client_a.get(f"/o/stadt-a/importe/{batch.pk}/zuordnung/")
    assert "Spalten für die Rückgabedatei (optional)" in page.text
    # found by name; "Stand für Abrechnung" is no synonym of the new reading
    assert "Ablesedatum neu → „Ablesedatum neu“" in page.text
    assert "Zählerstand neu → " not in page.text
    assert page.context["form"]["exp_new_value"].value() == ""
    with django_capture_on_commit_callbacks(execute=True):
        started = start(
            client_a,
            batch,
            follow=False,
            save_as="Abrechnung mit eigenem Stand",
            exp_new_value="Stand für Abrechnung",
        )
    assert started.status_code == 302, started.context["form"].errors
    with scopes_disabled():
        saved = ImportProfile.objects.get(name="Abrechnung mit eigenem Stand")
    profile = Profile.from_dict(saved.data)
    assert profile.columns["new_value"] == "Stand für Abrechnung"
    header = EXPORT_HEADER.strip().split(";")
    # the return file writes the reading into the chosen column, nothing is appended
    assert export_columns(header, profile)["new_value"] == header.index("Stand für Abrechnung")
    assert ReturnFile(FileLayout.from_dict(batch_layout(batch)), profile).header == header


def batch_layout(batch: ImportBatch) -> dict[str, Any]:
    with scopes_disabled():
        batch.refresh_from_db()
    return dict(batch.layout)


@pytest.mark.django_db
def test_a_return_file_column_that_is_also_imported_is_refused(
    client_a: Client, org_a: OrgData
) -> None:
    upload(
        client_a,
        "abrechnung.csv",
        (EXPORT_HEADER + EXPORT_ROW).encode("cp1252"),
        campaign=str(org_a.campaign.pk),
    )
    with scopes_disabled():
        batch = ImportBatch.objects.exclude(original_name="liste.csv").get()
    page = start(client_a, batch, exp_new_value="Zählerstand alt", exp_comment="Ableseart")
    assert page.status_code == 400
    assert "Diese Spalte wird schon eingelesen" in page.text
    page = start(client_a, batch, exp_new_value="Bemerkung", exp_comment="Bemerkung")
    assert page.status_code == 400
    assert "Diese Spalte ist schon einem anderen Feld zugeordnet." in page.text
    batch.refresh_from_db()
    assert batch.status == "pending"
