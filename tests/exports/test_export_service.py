"""Close and export through the services: the run, its files, the campaign's state."""

import codecs
import csv
import datetime
import hashlib
import io
import zipfile
from typing import Any

import openpyxl
import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db.models import Count
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    CampaignStatus,
    ConfirmationReason,
    Organisation,
    Reading,
    ReadingSource,
    ReviewState,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.release import ReleaseRefused, ReleaseSelection, do_release_readings
from ablesung.exports import services
from ablesung.exports.models import ExportRun, ExportSelection, ExportStatus
from ablesung.exports.report import LINES_SHEET, STATISTICS_SHEET
from ablesung.exports.tasks import resume_export_runs
from ablesung.formats import FINANZ_PLUS_STANDARD, Profile
from ablesung.mail.models import OutboxMail
from tests.exports.conftest import (
    ACTOR,
    CAMPAIGN,
    CLEAN,
    RECIPIENTS,
    add_reading,
    campaign_of,
    closed_sample,
    import_file,
    set_status,
)

pytestmark = pytest.mark.django_db


def export(campaign: Any, capture: Any, **options: Any) -> ExportRun:
    with capture(execute=True):
        run = services.do_export_campaign(campaign, actor=ACTOR, **options)
    with scopes_disabled():
        fresh: ExportRun = ExportRun.objects.get(pk=run.pk)
    return fresh


def rows_of(data: bytes, encoding: str = "cp1252") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=";"))


def stored(name: str | None) -> bytes:
    assert name
    with default_storage.open(name, "rb") as file:
        data: bytes = file.read()
    return data


def test_a_campaign_without_readings_gives_the_imported_file_back_byte_for_byte(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    run = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    assert run.status == ExportStatus.SUCCEEDED
    assert run.return_name == "jahresablesung-2026-lauf-1-rueckgabe.csv"
    data = stored(run.return_file.name)
    assert data == CLEAN.read_bytes()
    assert run.return_sha256 == hashlib.sha256(data).hexdigest()
    assert run.report_sha256 == hashlib.sha256(stored(run.report_file.name)).hexdigest()
    assert run.counts["lines"] == 400
    assert run.counts["missing"] == 400
    assert run.layouts[0]["profile"] == "FINANZ+ (Standard)"
    assert run.layouts[0]["source"] == "musterstadt-2026.csv"


def test_readings_are_written_as_stored_with_their_source_codes(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    add_reading(campaign, "66978001", 76440, comment="Zähler im\nKeller")
    add_reading(campaign, "29361589", 2979, source=ReadingSource.LETTER)
    add_reading(campaign, "34127884", 45100, source=ReadingSource.PHONE, state="submitted")
    add_reading(
        campaign,
        "71230843",
        5099,
        source=ReadingSource.STAFF,
        reason=ConfirmationReason.METER_EXCHANGED,
    )
    add_reading(campaign, "70288912", 577010, source=ReadingSource.ESTIMATE, state="submitted")
    add_reading(
        campaign, "86013032", 1900, outcome="implausible", comment='=HYPERLINK("x")'
    )  # released by a clerk although implausible
    run = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    rows = rows_of(stored(run.return_file.name))
    header, body = rows[0], {row[8]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[-4:] == ["Ablesedatum neu", "Zählerstand neu", "Ableseart", "Bemerkung"]
    assert body["66978001"]["Zählerstand neu"] == "76440"
    assert body["66978001"]["Ablesedatum neu"] == "05.12.2026"
    assert body["66978001"]["Ableseart"] == "S"
    assert body["66978001"]["Bemerkung"] == "Zähler im Keller"
    assert body["29361589"]["Ableseart"] == "K"
    # not released: left out by default
    assert body["34127884"]["Zählerstand neu"] == ""
    assert body["34127884"]["Ableseart"] == ""
    assert body["71230843"]["Ableseart"] == "W"
    assert body["70288912"]["Ableseart"] == "A"
    assert body["70288912"]["Zählerstand neu"] == "577010"
    assert body["86013032"]["Bemerkung"] == '\'=HYPERLINK("x")'
    counts = run.counts
    assert counts["by_source"] == {"S": 2, "K": 1, "W": 1, "A": 1, "-": 395}
    assert counts["unreleased_left_out"] == 1
    assert counts["implausible_released"] == 1
    assert counts["neutralised_cells"] == 1
    # the report's statistics equal what the database holds
    with scopes_disabled():
        effective = Reading.objects.filter(campaign=campaign, is_effective=True)
        released = effective.filter(state=ReviewState.RELEASED).count()
        estimates = effective.filter(source=ReadingSource.ESTIMATE).count()
    book = openpyxl.load_workbook(io.BytesIO(stored(run.report_file.name)))
    figures = {
        row[0]: row[2]
        for row in book[STATISTICS_SHEET].iter_rows(values_only=True)
        if row and isinstance(row[0], str) and isinstance(row[2], int)
    }
    assert figures["Zeilen insgesamt"] == 400
    assert figures["Geschätzt"] == estimates == 1
    assert figures["Abgelesen (ohne Schätzungen)"] == released == 4
    assert figures["Unplausibel, manuell freigegeben"] == 1
    lines = list(book[LINES_SHEET].iter_rows(values_only=True))
    assert len(lines) == 401
    first = dict(zip(lines[0], lines[1], strict=True))
    assert first["Zählernummer"] == "66978001"
    assert first["Zählerstand neu"] == 76440
    assert first["Ablesedatum neu"] == datetime.datetime(2026, 12, 5)
    assert first["Verbrauch"] == 26


def test_all_current_readings_include_the_unreleased(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    add_reading(campaign, "34127884", 45100, source=ReadingSource.PHONE, state="submitted")
    run = export(
        campaign,
        django_capture_on_commit_callbacks,
        send_mail=False,
        selection=ExportSelection.ALL_CURRENT,
    )
    rows = rows_of(stored(run.return_file.name))
    [row] = [row for row in rows if row[8] == "34127884"]
    assert row[-4:] == ["05.12.2026", "45100", "T", ""]
    assert run.counts["unreleased_left_out"] == 0


def test_a_campaign_from_two_layouts_gives_one_file_per_layout_in_a_zip(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    closed_sample(org)
    campaign = campaign_of(org)
    set_status(campaign, CampaignStatus.OPEN)
    header = "Zählernummer,Extra,Name,Objektnummer,Kassenzeichen,Straße,Ablesedatum alt,"
    header += "Zählerstand alt,Vorjahresverbrauch,Zählerstand neu,Ablesedatum neu"
    second = "\n".join(
        [
            header,
            "N-1,x1,Neu,9-1,K9,Weg 1,01.01.2026,10,5,,",
            "N-2,x2,Neu,9-1,K9,Weg 1,01.01.2026,20,5,,",
        ]
    )
    profile = Profile(
        name="Zweites Format",
        columns={
            "object_number": "Objektnummer",
            "customer_number": "Kassenzeichen",
            "owner_last_name": "Name",
            "street": "Straße",
            "meter_number": "Zählernummer",
            "previous_date": "Ablesedatum alt",
            "previous_value": "Zählerstand alt",
            "previous_year_consumption": "Vorjahresverbrauch",
        },
    )
    import_file(
        org, codecs.BOM_UTF8 + (second + "\n").encode(), name="nachtrag.csv", profile=profile
    )
    add_reading(campaign, "N-2", 25)
    run = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    assert run.return_name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(stored(run.return_file.name))) as archive:
        names = sorted(archive.namelist())
        assert len(names) == 2
        first, extra = (archive.read(name) for name in names)
    assert first == CLEAN.read_bytes()
    assert extra.startswith(codecs.BOM_UTF8)
    lines = extra.decode("utf-8-sig").split("\n")
    assert lines[0] == header + ",Ableseart,Bemerkung"
    assert lines[2] == "N-2,x2,Neu,9-1,K9,Weg 1,01.01.2026,20,5,25,05.12.2026,S,"
    assert [layout["profile"] for layout in run.layouts] == ["FINANZ+ (Standard)", "Zweites Format"]
    assert FINANZ_PLUS_STANDARD.name in run.layouts[0]["profile"]


def test_the_export_closes_the_campaign_and_makes_its_readings_read_only(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    set_status(campaign, CampaignStatus.OPEN)
    add_reading(campaign, "34127884", 45100, state="submitted")
    run = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    campaign = campaign_of(org)
    assert campaign.status == CampaignStatus.EXPORTED
    assert run.number == 1
    with scopes_disabled():
        actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("campaign.closed") == 1
    assert actions.count("campaign.exported") == 1
    with pytest.raises(ReleaseRefused):
        do_release_readings(campaign, ReleaseSelection(), organisation=org, actor=ACTOR)


@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.EXPORTED])
def test_a_draft_or_exported_campaign_is_refused_and_nothing_changes(
    org: Organisation, status: str, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    set_status(campaign, status)
    with scopes_disabled():
        before = AuditEntry.objects.count()
    with pytest.raises(services.ExportRefused) as refused:
        services.do_export_campaign(campaign, actor=ACTOR)
    assert "Entwurf" in str(refused.value) or "bereits exportiert" in str(refused.value)
    with scopes_disabled():
        assert AuditEntry.objects.count() == before
        assert not ExportRun.objects.exists()
    assert campaign_of(org).status == status


def test_without_recipients_a_mailed_export_is_refused(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    org.settings = {}
    org.save()
    campaign.organisation = org
    with pytest.raises(services.ExportRefused, match="Einstellungen"):
        services.do_export_campaign(campaign, actor=ACTOR)
    assert campaign_of(org).status == CampaignStatus.CLOSED
    run = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    assert run.status == ExportStatus.SUCCEEDED


def test_estimating_missing_meters_first_fills_them_with_source_a(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    with time_machine.travel(datetime.datetime(2027, 1, 10, 12, tzinfo=datetime.UTC)):
        with organisation_scope(org):
            assert services.preview(campaign).estimable > 0
        run = export(
            campaign, django_capture_on_commit_callbacks, send_mail=False, estimate_missing=True
        )
    assert run.estimated == run.counts["estimated"] > 390
    rows = rows_of(stored(run.return_file.name))
    codes = {row[16] for row in rows[1:]}
    assert "A" in codes


def test_reopen_and_export_again_makes_a_new_run_and_keeps_the_old_files(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    first = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    old = stored(first.return_file.name)
    with pytest.raises(services.ExportRefused):
        services.do_export_campaign(campaign, actor=ACTOR, send_mail=False)
    assert services.do_reopen_exported_campaign(campaign, actor=ACTOR)
    assert campaign_of(org).status == CampaignStatus.CLOSED
    add_reading(campaign, "66978001", 76440)
    second = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    assert second.number == 2
    assert stored(first.return_file.name) == old
    assert stored(second.return_file.name) != old
    assert first.return_file.name != second.return_file.name
    campaign = campaign_of(org)
    assert services.do_reopen_exported_campaign(campaign, actor=ACTOR)
    assert not services.do_reopen_exported_campaign(campaign, actor=ACTOR)  # already closed


def test_running_the_build_twice_gives_one_set_of_files_and_one_mail_per_recipient(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    run = export(campaign, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        assert services.build_run(run.pk) == "done"
    folder = f"exports/{org.pk}/{campaign.pk}/1"
    assert sorted(default_storage.listdir(folder)[1]) == [run.report_name, run.return_name]
    mails = OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:")
    assert sorted(mails.values_list("to", flat=True)) == sorted(RECIPIENTS)
    assert all(len(mail.attachments) == 2 for mail in mails)


def test_a_worker_killed_mid_build_is_retried_without_a_second_file_or_mail(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = closed_sample(org)
    t0 = datetime.datetime(2026, 12, 7, 9, tzinfo=datetime.UTC)
    with time_machine.travel(t0, tick=False):
        run = services.do_export_campaign(campaign, actor=ACTOR, enqueue=False)
        with organisation_scope(org):
            claimed = services._claim(run.pk)  # a worker took it …
        assert isinstance(claimed, ExportRun)
        # … wrote half a file, and died
        half = services.storage_path(claimed, "jahresablesung-2026-lauf-1-rueckgabe.csv")
        default_storage.save(half, io.BytesIO(b"Objektnummer;Kass"))
        assert services.build_run(run.pk) == "skipped"  # the lease is still running
        assert resume_export_runs() == 0
    with (
        time_machine.travel(t0 + services.LEASE + datetime.timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.pending_runs() == [run.pk]
        assert resume_export_runs() == 1
    with scopes_disabled():
        run = ExportRun.objects.get(pk=run.pk)
    assert run.status == ExportStatus.SUCCEEDED
    assert run.attempts == 2
    assert stored(run.return_file.name) == CLEAN.read_bytes()
    assert len(default_storage.listdir(f"exports/{org.pk}/{campaign.pk}/1")[1]) == 2
    assert OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:").count() == 2


def test_a_failed_build_says_why_and_can_be_retried(
    org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    batch = import_file(org, CLEAN.read_bytes())
    campaign = campaign_of(org)
    set_status(campaign, CampaignStatus.CLOSED)
    with scopes_disabled():
        type(batch).objects.filter(pk=batch.pk).update(layout={"kind": "pdf"})
    run = export(campaign, django_capture_on_commit_callbacks, send_mail=False)
    assert run.status == ExportStatus.FAILED
    assert "musterstadt-2026.csv" in run.message
    with scopes_disabled():
        type(batch).objects.filter(pk=batch.pk).update(layout=batch.layout)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.do_retry_export_run(run, actor=ACTOR)
    run.refresh_from_db()
    assert run.status == ExportStatus.SUCCEEDED
    assert not services.do_retry_export_run(run, actor=ACTOR)


def test_the_command_line_exports_prints_and_copies_the_files(
    org: Organisation, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = closed_sample(org)
    add_reading(campaign, "66978001", 76440)
    call_command(
        "close_campaign",
        "--organisation",
        org.slug,
        "--campaign",
        CAMPAIGN,
        "--out",
        str(tmp_path),
        "--no-mail",
    )
    output = capsys.readouterr().out
    assert "Übernahmestatistik" in output
    assert "400 Zählwerke" in output
    copied = tmp_path / "jahresablesung-2026-lauf-1-rueckgabe.csv"
    assert copied.is_file()
    assert str(copied) in output
    assert (tmp_path / "jahresablesung-2026-lauf-1-ergebnisse.xlsx").is_file()
    assert "76440" in copied.read_text(encoding="cp1252")
    assert campaign_of(org).status == CampaignStatus.EXPORTED


def test_the_command_line_refuses_with_a_german_message_and_changes_nothing(
    org: Organisation,
) -> None:
    campaign = closed_sample(org)
    set_status(campaign, CampaignStatus.DRAFT)
    with pytest.raises(CommandError, match="Entwurf") as refused:
        call_command("close_campaign", "--organisation", org.slug, "--campaign", CAMPAIGN)
    assert refused.value.returncode == 1
    with pytest.raises(CommandError, match="gibt es bei"):
        call_command("close_campaign", "--organisation", org.slug, "--campaign", "Gibt es nicht")
    with scopes_disabled():
        assert not ExportRun.objects.exists()
    assert campaign_of(org).status == CampaignStatus.DRAFT


def test_preview_counts_what_the_dialog_names(org: Organisation) -> None:
    campaign = closed_sample(org)
    add_reading(campaign, "66978001", 76440)
    add_reading(campaign, "29361589", 2979, state="submitted")
    add_reading(campaign, "34127884", 45100, source=ReadingSource.ESTIMATE, state="submitted")
    with organisation_scope(org), time_machine.travel(datetime.date(2026, 12, 7)):
        preview = services.preview(campaign)
    assert (preview.lines, preview.released, preview.unreleased, preview.estimates) == (
        400,
        1,
        1,
        1,
    )
    assert preview.missing == 397
    assert preview.left_out(ExportSelection.RELEASED_AND_ESTIMATED) == 1
    assert preview.left_out(ExportSelection.ALL_CURRENT) == 0
    assert preview.estimable == preview.missing + 1  # the unreleased estimate is recomputed
    assert preview.estimate_refusal is not None  # the key date 31.12.2026 is still ahead


def test_lines_remember_the_import_that_wrote_them_last(org: Organisation) -> None:
    first = import_file(org, CLEAN.read_bytes())
    changed = CLEAN.read_bytes().replace(b";76414;28;", b";76415;28;", 1)
    second = import_file(org, changed, name="korrigiert.csv")
    campaign = campaign_of(org)
    with scopes_disabled():
        by_batch = dict(
            campaign.campaign_meters.values("import_batch")
            .annotate(count=Count("pk"))
            .values_list("import_batch", "count")
        )
        line = campaign.campaign_meters.get(register__meter__number="66978001")
    assert by_batch == {first.pk: 399, second.pk: 1}
    assert line.import_batch_id == second.pk
    assert line.previous_value == 76415
