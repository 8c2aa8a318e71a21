"""`ablesung import_meters`: creates the campaign on request, summary, non-zero exit on rejection."""

import datetime
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django_scopes import scopes_disabled

from ablesung.core.models import Campaign, ImportBatch, ImportStatus, Meter, Organisation
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import NewCampaign, do_start_import, do_upload_meter_list
from ablesung.formats import FINANZ_PLUS_STANDARD
from tests.core.test_meter_import import ROWS, csv_bytes


@pytest.fixture
def meter_list(tmp_path: Path) -> Path:
    path = tmp_path / "zaehler.csv"
    path.write_bytes(csv_bytes(ROWS))
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_meters", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_import_creates_the_campaign_and_prints_a_summary(meter_list: Path) -> None:
    Organisation.objects.create(slug="stadt", name="Stadt")
    out, err = run(
        "--organisation", "stadt", "--campaign", "Ablesung 2026", "--key-date", "2026-12-31",
        str(meter_list),
    )  # fmt: skip
    assert "Ableseaktion „Ablesung 2026“ (Stichtag 31.12.2026) angelegt." in out
    assert "CSV, Windows-1252, Trennzeichen Semikolon, Kopfzeile 1" in out
    assert "Objekte: 2 neu, 0 geändert, 0 unverändert" in out
    assert "Zähler: 3 neu, 0 geändert, 0 unverändert" in out
    assert "3 / 3 Zeilen" in err  # the progress bar
    with scopes_disabled():
        assert Campaign.objects.get().key_date.isoformat() == "2026-12-31"
        assert Meter.objects.count() == 3


@pytest.mark.django_db
def test_rejected_rows_exit_non_zero(tmp_path: Path) -> None:
    Organisation.objects.create(slug="stadt", name="Stadt")
    broken = tmp_path / "kaputt.csv"
    broken.write_bytes(csv_bytes([ROWS[0].replace("76414", "-5")]))
    with pytest.raises(SystemExit) as exited:
        run("--organisation", "stadt", "--campaign", "A", "--key-date", "2026-12-31", str(broken))
    assert exited.value.code == 1
    with scopes_disabled():
        assert ImportBatch.objects.get().status == ImportStatus.REJECTED
        assert not Meter.objects.exists()


@pytest.mark.django_db
def test_unknown_campaign_without_key_date_is_refused(meter_list: Path) -> None:
    Organisation.objects.create(slug="stadt", name="Stadt")
    with pytest.raises(CommandError, match="--key-date"):
        run("--organisation", "stadt", "--campaign", "Neu", str(meter_list))
    with pytest.raises(CommandError, match="gibt es nicht"):
        run("--organisation", "nirgendwo", "--campaign", "Neu", str(meter_list))
    with pytest.raises(CommandError, match="Importprofil"):
        run("--organisation", "stadt", "--campaign", "Neu", "--profile", "X", str(meter_list))
    with scopes_disabled():
        assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_the_import_task_runs_only_when_the_service_commits(
    meter_list: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """A service is the outermost transaction: it refuses to run inside a caller's
    transaction (which could still roll back after it), and it enqueues its task on
    commit only."""
    org = Organisation.objects.create(slug="stadt", name="Stadt")
    actor = Actor.system("test")
    batch, _ = do_upload_meter_list(
        NewCampaign("A", datetime.date(2026, 12, 31)),
        ContentFile(meter_list.read_bytes(), name="zaehler.csv"),
        original_name="zaehler.csv",
        profile=FINANZ_PLUS_STANDARD,
        organisation=org,
        actor=actor,
    )

    def start_inside_a_transaction() -> None:
        with transaction.atomic():
            do_start_import(batch, FINANZ_PLUS_STANDARD, organisation=org, actor=actor)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="durable"),
    ):
        start_inside_a_transaction()
    assert callbacks == []
    with scopes_disabled():
        batch.refresh_from_db()
        assert batch.status == ImportStatus.PENDING
        assert not Meter.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        do_start_import(batch, FINANZ_PLUS_STANDARD, organisation=org, actor=actor)
        with scopes_disabled():
            assert not Meter.objects.exists()  # not before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    with scopes_disabled():
        assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.SUCCEEDED
        assert Meter.objects.exists()
