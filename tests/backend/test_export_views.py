"""Close and export pages: the dialog with its counts, the export itself, the run page with
files and mails, downloads, resend, retry, reopen, the settings, the campaign page's link."""

import datetime
import hashlib
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core import mail as django_mail
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AuditEntry,
    Campaign,
    CampaignStatus,
    Organisation,
    Reading,
    ReadingSource,
    ReviewState,
    Role,
)
from ablesung.core.services.actor import Actor
from ablesung.exports import services
from ablesung.exports.models import ExportRun, ExportSelection, ExportStatus
from ablesung.mail.models import OutboxMail
from tests.conftest import OrgData
from tests.core.campaign_builder import Builder
from tests.html_tree import attributes, find, find_all, parse, text
from tests.test_isolation import member_client

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
#: after the key date (31.12.2026) and the online window (until 15.01.2027): estimates work
NOW = datetime.datetime(2027, 1, 20, 9, 0, tzinfo=BERLIN)
RECIPIENT = "abrechnung@stadt-a.example"


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def b(org_a: OrgData) -> Builder:
    """A closed campaign: one released, one unreleased, one estimate, two without reading
    (one of them estimable)."""
    builder = Builder.campaign_of(org_a.organisation, "Export 2026")
    builder.line("released", previous=1000)
    builder.reading("released", 1360, source=ReadingSource.LETTER, state=ReviewState.RELEASED)
    builder.line("unreleased", previous=2000)
    builder.reading("unreleased", 2370)
    builder.line("estimate", previous=3000)
    builder.reading("estimate", 3365, source=ReadingSource.ESTIMATE, state=ReviewState.RELEASED)
    builder.line("missing", previous=4000, previous_date=datetime.date(2025, 12, 31))
    builder.line("no_previous", previous=None, previous_date=None)
    return builder


@pytest.fixture
def recipients(org_a: OrgData) -> list[str]:
    set_recipients(org_a.organisation, [RECIPIENT])
    return [RECIPIENT]


@pytest.fixture
def admin_a(org_a: OrgData) -> Client:
    return member_client(org_a.organisation, Role.ADMIN)


def set_recipients(org: Organisation, addresses: list[str], delivery: str = "attachment") -> None:
    services.do_update_export_settings(
        org, addresses=addresses, delivery=delivery, actor=Actor.system("test")
    )


def export_url(b: Builder, suffix: str = "") -> str:
    return f"/o/stadt-a/ableseaktionen/{b.campaign.pk}/export/{suffix}"


def run_url(run: ExportRun, suffix: str = "") -> str:
    return f"/o/stadt-a/exporte/{run.pk}/{suffix}"


def runs_of(b: Builder) -> list[ExportRun]:
    with scopes_disabled():
        return list(ExportRun.objects.filter(campaign=b.campaign).order_by("number"))


def status_of(b: Builder) -> str:
    with scopes_disabled():
        return str(Campaign.objects.get(pk=b.campaign.pk).status)


def actions(*codes: str) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEntry.objects.filter(action__in=codes)
            .order_by("pk")
            .values_list("action", flat=True)
        )


def export_mails(run: ExportRun) -> list[OutboxMail]:
    return list(OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:").order_by("pk"))


def export(client: Client, b: Builder, capture: Any, **data: str) -> Any:
    """POSTs the dialog; the build task runs on commit (Immediate backend)."""
    with capture(execute=True):
        return client.post(export_url(b, "starten/"), data)


def exported(b: Builder, capture: Any) -> ExportRun:
    """An export made through the service, built."""
    with capture(execute=True):
        services.do_export_campaign(b.campaign, actor=Actor.system("test"))
    [run] = runs_of(b)
    assert run.status == ExportStatus.SUCCEEDED
    return run


def figures(html: str) -> dict[str, str]:
    table = find(parse(html), "table")
    return {text(find(row, "th")): text(find(row, "td")) for row in find_all(table, "tr")[1:]}


# --- the dialog -------------------------------------------------------------------------------


def test_the_page_shows_the_counts_and_the_estimate_checkbox(
    client_a: Client, b: Builder, recipients: list[str]
) -> None:
    page = client_a.get(export_url(b))
    assert page.status_code == 200
    assert figures(page.text) == {
        "Zählwerke gesamt": "5",
        "Freigegeben": "1",
        "Geschätzt": "1",
        "Nicht freigegeben": "1",
        "Ohne Zählerstand": "2",
    }
    tree = parse(page.text)
    assert "1 Zählerstand ist nicht freigegeben und bleibt im Export leer" in text(tree)
    checkbox = find(tree, "input", name="estimate_missing")
    assert attributes(checkbox)["type"] == "checkbox"
    label = find(tree, "label", **{"for": str(attributes(checkbox)["id"])})
    assert text(label) == "Vorher fehlende Zählerstände schätzen: 1 Zählwerk wird geschätzt"
    assert f"Die Dateien gehen per E-Mail an: {RECIPIENT}." in text(tree)
    # a clerk does not choose: released and estimated readings are exported
    assert not find_all(tree, "input", name="selection")
    assert "Exportiert werden die freigegebenen und die geschätzten Zählerstände." in text(tree)
    assert "Noch kein Export." in text(tree)


def test_an_admin_chooses_what_is_exported(
    admin_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    page = parse(admin_a.get(export_url(b)).text)
    radios = find_all(page, "input", name="selection")
    assert [attributes(r)["value"] for r in radios] == ["released", "all"]
    assert "checked" in attributes(radios[0])
    response = export(admin_a, b, django_capture_on_commit_callbacks, selection="all")
    assert response.status_code == 302
    [run] = runs_of(b)
    assert run.selection == ExportSelection.ALL_CURRENT
    assert run.counts["unreleased_left_out"] == 0


def test_exporting_closes_the_campaign_and_builds_the_run(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    response = export(client_a, b, django_capture_on_commit_callbacks)
    [run] = runs_of(b)
    assert response.status_code == 302
    assert response["Location"] == run_url(run)
    assert status_of(b) == CampaignStatus.EXPORTED
    assert (run.number, run.status, run.selection) == (
        1,
        ExportStatus.SUCCEEDED,
        ExportSelection.RELEASED_AND_ESTIMATED,
    )
    assert run.return_file
    assert run.report_file
    assert run.actor_label == "clerk@stadt-a.example"
    assert actions("campaign.exported") == ["campaign.exported"]
    with scopes_disabled():
        entry = AuditEntry.objects.get(action="campaign.exported")
    assert entry.data["run"] == 1
    assert [m.to for m in export_mails(run)] == [RECIPIENT]
    page = client_a.get(response["Location"])
    assert "Die Ableseaktion ist abgeschlossen. Der Export (Lauf 1) wird erstellt." in page.text
    # exported: the dialog refuses another export and offers no button
    again = client_a.get(export_url(b)).text
    assert text(find(parse(again), "h1")) == "Export"
    assert "Die Ableseaktion ist bereits exportiert." in again
    assert "/export/starten/" not in again
    assert "Exportierte Ableseaktion wieder öffnen" not in again  # a clerk does not reopen


def test_an_open_campaign_is_closed_by_the_export(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=b.campaign.pk).update(status=CampaignStatus.OPEN)
    page = client_a.get(export_url(b)).text
    assert "Die Ableseaktion ist noch geöffnet. Der Export schließt sie" in page
    export(client_a, b, django_capture_on_commit_callbacks)
    assert status_of(b) == CampaignStatus.EXPORTED
    assert actions("campaign.closed", "campaign.exported") == [
        "campaign.closed",
        "campaign.exported",
    ]


def test_without_recipients_nothing_is_exported(
    client_a: Client, admin_a: Client, b: Builder, django_capture_on_commit_callbacks: Any
) -> None:
    page = parse(client_a.get(export_url(b)).text)
    message = "Bitte hinterlegen Sie zuerst in den Einstellungen unter „Export“"
    assert message in text(page)
    assert not [f for f in find_all(page, "form") if "starten" in str(attributes(f)["action"])]
    # only someone who may change the settings gets the link to them
    assert "Zu den Einstellungen für Exporte" not in text(page)
    assert "Zu den Einstellungen für Exporte" in admin_a.get(export_url(b)).text
    response = export(client_a, b, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == export_url(b)
    assert message in client_a.get(response["Location"]).text
    assert runs_of(b) == []
    assert status_of(b) == CampaignStatus.CLOSED
    assert actions("campaign.exported") == []


def test_a_draft_is_not_exported(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=b.campaign.pk).update(status=CampaignStatus.DRAFT)
    assert "Die Ableseaktion ist noch ein Entwurf" in client_a.get(export_url(b)).text
    response = export(client_a, b, django_capture_on_commit_callbacks)
    assert "Die Ableseaktion ist noch ein Entwurf" in client_a.get(response["Location"]).text
    assert runs_of(b) == []
    assert status_of(b) == CampaignStatus.DRAFT


def test_estimating_missing_meters_first(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    export(client_a, b, django_capture_on_commit_callbacks, estimate_missing="on")
    [run] = runs_of(b)
    assert run.estimated == 1
    with scopes_disabled():
        [estimate] = Reading.objects.filter(
            campaign=b.campaign,
            register_id=b.lines["missing"].register_id,
            source=ReadingSource.ESTIMATE,
        )
    assert estimate.is_effective
    assert estimate.reading_date == datetime.date(2026, 12, 31)
    assert run.counts["estimated"] == 2  # the earlier estimate and the new one
    page = client_a.get(run_url(run)).text
    assert "1 Zählwerk vorher geschätzt" in page


def test_without_the_checkbox_nothing_is_estimated(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    export(client_a, b, django_capture_on_commit_callbacks)
    [run] = runs_of(b)
    assert run.estimated == 0
    with scopes_disabled():
        assert not Reading.objects.filter(
            campaign=b.campaign, register_id=b.lines["missing"].register_id
        ).exists()


def test_before_the_key_date_estimating_is_explained_not_offered(
    client_a: Client, b: Builder, recipients: list[str]
) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=b.campaign.pk).update(key_date=datetime.date(2027, 2, 28))
    tree = parse(client_a.get(export_url(b)).text)
    assert not find_all(tree, "input", name="estimate_missing")
    assert "Schätzungen gelten für den Stichtag 28.02.2027" in text(tree)


# --- the run page -----------------------------------------------------------------------------


def test_the_run_page_shows_statistics_files_and_mails(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    run = exported(b, django_capture_on_commit_callbacks)
    page = client_a.get(run_url(run))
    assert page.status_code == 200
    tree = parse(page.text)
    assert text(find(tree, "h1")) == "Export, Lauf 1"
    body = text(tree)
    [statistics] = [
        t for t in find_all(tree, "table") if "Rückgabedatei" in text(find(t, "caption"))
    ]
    # the return file's view: the unreleased reading is left out, so it has no value
    assert {
        text(find(row, "th")): text(find(row, "td"))
        for row in find_all(find(statistics, "tbody"), "tr")
    } == {
        "Zählwerke gesamt": "5",
        "Abgelesen": "1",
        "davon online gemeldet": "0",
        "Geschätzt": "1",
        "Ohne Zählerstand in der Rückgabedatei": "3",
        "davon nicht freigegeben": "1",
        "Unplausibel, aber freigegeben": "0",
        "Kontrollablesung angefordert": "0",
        "Ersetzte Zeichen (Zeichensatz der Datei)": "0",
        "Als Text gesicherte Formeln": "0",
    }
    assert "freigegebene und geschätzte Zählerstände" in body
    links = {attributes(a)["href"]: text(a) for a in find_all(tree, "a")}
    assert links[run_url(run, "rueckgabedatei/")].endswith(run.return_name)
    assert links[run_url(run, "ergebnisse/")].endswith(run.report_name)
    assert run.return_sha256 in body
    assert run.report_sha256 in body
    mail_table = find_all(tree, "table")[-1]
    assert text(find(mail_table, "caption")) == "E-Mails dieses Exports"
    rows = find_all(find(mail_table, "tbody"), "tr")
    assert [text(find(row, "th")) for row in rows] == [RECIPIENT]
    assert "Erneut senden" in body
    assert 'hx-get="' not in page.text  # finished: no more polling


def test_a_viewer_sees_the_run_without_files_and_mails(
    org_a: OrgData, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    run = exported(b, django_capture_on_commit_callbacks)
    viewer = member_client(org_a.organisation, Role.VIEWER)
    page = viewer.get(run_url(run))
    assert page.status_code == 200
    assert "Übernahmestatistik" in page.text
    assert run_url(run, "rueckgabedatei/") not in page.text
    assert RECIPIENT not in page.text
    assert "Erneut senden" not in page.text
    assert viewer.get(run_url(run, "rueckgabedatei/")).status_code == 403
    assert viewer.get(run_url(run, "ergebnisse/")).status_code == 403
    assert viewer.post(run_url(run, "senden/")).status_code == 403


def test_a_pending_run_polls_and_htmx_gets_only_the_status(
    client_a: Client, b: Builder, recipients: list[str]
) -> None:
    with scopes_disabled():
        run = services.do_export_campaign(b.campaign, actor=Actor.system("test"), enqueue=False)
    page = client_a.get(run_url(run))
    status = find(parse(page.text), "div", id="export-status")
    assert attributes(status)["hx-get"] == run_url(run)
    assert attributes(status)["hx-trigger"] == "every 2s"
    assert "In Warteschlange …" in text(status)
    assert "Seite aktualisieren" in text(status)  # without JavaScript
    fragment = client_a.get(run_url(run), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="export-status"')
    assert "<html" not in fragment.text
    assert "<h1" not in fragment.text
    assert "export-announce" not in fragment.text  # nothing to announce while it waits
    assert services.build_run(run.pk) == "succeeded"
    done = client_a.get(run_url(run), headers={"HX-Request": "true"})
    assert "hx-get" not in done.text
    assert "Der Export wurde am 20.01.2027 09:00 erstellt." in done.text
    # the page's live region gets the news out of band (a new region would not be read out)
    assert '<p id="export-announce" class="kern-sr-only" role="status"></p>' in page.text
    announce = find(parse(done.text), "p", id="export-announce")
    assert attributes(announce)["hx-swap-oob"] == "true"
    assert text(announce) == "Der Export ist fertig; die Dateien stehen bereit."
    assert run_url(run, "rueckgabedatei/") in done.text


def test_downloads_are_the_stored_files(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    run = exported(b, django_capture_on_commit_callbacks)
    for suffix, name, digest in (
        ("rueckgabedatei/", run.return_name, run.return_sha256),
        ("ergebnisse/", run.report_name, run.report_sha256),
    ):
        response = client_a.get(run_url(run, suffix))
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        content = response.getvalue()
        assert content
        assert hashlib.sha256(content).hexdigest() == digest
        assert "no-store" in response["Cache-Control"]
    return_file = client_a.get(run_url(run, "rueckgabedatei/")).getvalue()
    assert return_file.split(b"\r\n")[0].startswith(b"Objektnummer;Kassenzeichen;")
    assert client_a.get(run_url(run, "ergebnisse/")).getvalue()[:2] == b"PK"  # xlsx: a zip


def test_a_run_without_files_has_no_downloads(
    client_a: Client, b: Builder, recipients: list[str]
) -> None:
    with scopes_disabled():
        run = services.do_export_campaign(b.campaign, actor=Actor.system("test"), enqueue=False)
    assert client_a.get(run_url(run, "rueckgabedatei/")).status_code == 404
    assert client_a.get(run_url(run, "ergebnisse/")).status_code == 404


# --- resend, retry, reopen --------------------------------------------------------------------


def test_resend_queues_new_mails(
    client_a: Client,
    org_a: OrgData,
    b: Builder,
    recipients: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    run = exported(b, django_capture_on_commit_callbacks)
    assert len(export_mails(run)) == 1
    set_recipients(org_a.organisation, [RECIPIENT, "kasse@stadt-a.example"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(run_url(run, "senden/"), follow=True)
    assert response.redirect_chain == [(run_url(run), 302)]
    assert "Der Export wird erneut an 2 Adressen gesendet." in response.text
    mails = export_mails(run)
    assert [(m.key.split(":")[2], m.to) for m in mails] == [
        ("1", RECIPIENT),
        ("2", RECIPIENT),
        ("2", "kasse@stadt-a.example"),
    ]
    assert [a["name"] for a in mails[-1].attachments] == [run.return_name, run.report_name]
    with scopes_disabled():
        run.refresh_from_db()
    assert run.sends == 2
    assert actions("export.sent") == ["export.sent"]
    assert len(find_all(find_all(parse(response.text), "tbody")[-1], "tr")) == 3


def test_resend_without_recipients_changes_nothing(
    client_a: Client,
    org_a: OrgData,
    b: Builder,
    recipients: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    run = exported(b, django_capture_on_commit_callbacks)
    set_recipients(org_a.organisation, [])
    response = client_a.post(run_url(run, "senden/"), follow=True)
    assert "Bitte hinterlegen Sie zuerst in den Einstellungen Empfänger:innen" in response.text
    assert len(export_mails(run)) == 1
    assert actions("export.sent") == []


def test_retry_builds_a_failed_run_again(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    with scopes_disabled():
        run = services.do_export_campaign(b.campaign, actor=Actor.system("test"), enqueue=False)
        ExportRun.objects.filter(pk=run.pk).update(
            status=ExportStatus.FAILED, message="Der Export konnte nicht erstellt werden (OSError)."
        )
    page = client_a.get(run_url(run)).text
    assert "Der Export ist fehlgeschlagen." in page
    assert "(OSError)" in page
    assert "Export erneut erstellen" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(run_url(run, "wiederholen/"), follow=True)
    assert "Der Export wird erneut erstellt." in response.text
    [again] = runs_of(b)
    assert (again.pk, again.number, again.status) == (run.pk, 1, ExportStatus.SUCCEEDED)
    assert again.message == ""
    assert actions("export.retried") == ["export.retried"]
    # a run that did not fail is left alone
    response = client_a.post(run_url(run, "wiederholen/"), follow=True)
    assert "Dieser Export ist nicht fehlgeschlagen; es wurde nichts geändert." in response.text
    assert actions("export.retried") == ["export.retried"]


def test_an_admin_reopens_and_exports_again(
    admin_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    first = exported(b, django_capture_on_commit_callbacks)
    page = admin_a.get(export_url(b)).text
    assert "Exportierte Ableseaktion wieder öffnen" in page
    response = admin_a.post(export_url(b, "wieder-oeffnen/"), follow=True)
    assert response.redirect_chain == [(export_url(b), 302)]
    assert "Die Ableseaktion ist wieder geschlossen" in response.text
    assert status_of(b) == CampaignStatus.CLOSED
    assert actions("campaign.reopened") == ["campaign.reopened"]
    assert runs_of(b) == [first]
    # reopening what is not exported changes nothing
    twice = admin_a.post(export_url(b, "wieder-oeffnen/"), follow=True)
    assert "Die Ableseaktion war nicht exportiert; es wurde nichts geändert." in twice.text
    assert actions("campaign.reopened") == ["campaign.reopened"]
    export(admin_a, b, django_capture_on_commit_callbacks)
    old, new = runs_of(b)
    assert (old.pk, old.number, old.return_sha256) == (first.pk, 1, first.return_sha256)
    assert new.number == 2
    assert new.status == ExportStatus.SUCCEEDED
    assert new.return_file.name != old.return_file.name
    runs_table = find_all(parse(admin_a.get(export_url(b)).text), "table")[-1]
    rows = find_all(find(runs_table, "tbody"), "tr")
    assert [text(find(row, "th")) for row in rows] == ["Lauf 2", "Lauf 1"]


# --- settings ---------------------------------------------------------------------------------

SETTINGS = "/o/stadt-a/einstellungen/export/"


def test_settings_refuse_an_invalid_address(admin_a: Client, org_a: OrgData) -> None:
    response = admin_a.post(
        SETTINGS, {"recipients": "abrechnung@stadt-a.example\nkeine-adresse", "delivery": "link"}
    )
    assert response.status_code == 400
    tree = parse(response.text)
    error = find(tree, "p", class_="kern-error")
    assert text(error) == "„keine-adresse“ ist keine gültige E-Mail-Adresse."
    textarea = find(tree, "textarea", name="recipients")
    assert attributes(textarea)["aria-invalid"] == "true"
    assert "keine-adresse" in text(textarea)  # what was typed stays
    with scopes_disabled():
        org = Organisation.objects.get(pk=org_a.organisation.pk)
    assert services.recipients(org) == []
    assert actions("organisation.export_settings_changed") == []


def test_settings_refuse_too_many_addresses(admin_a: Client, org_a: OrgData) -> None:
    addresses = "\n".join(f"a{i}@stadt-a.example" for i in range(services.MAX_RECIPIENTS + 1))
    response = admin_a.post(SETTINGS, {"recipients": addresses, "delivery": "attachment"})
    assert response.status_code == 400
    assert f"Bitte geben Sie höchstens {services.MAX_RECIPIENTS} Adressen an." in response.text
    assert actions("organisation.export_settings_changed") == []


def test_settings_store_the_addresses(admin_a: Client, org_a: OrgData) -> None:
    form = parse(admin_a.get(SETTINGS).text)
    assert text(find(form, "h1")) == "Versand der Exporte"
    assert "checked" in attributes(find(form, "input", name="delivery", value="attachment"))
    response = admin_a.post(
        SETTINGS,
        {"recipients": " Abrechnung@Stadt-A.example ; kasse@stadt-a.example", "delivery": "link"},
        follow=True,
    )
    assert response.redirect_chain == [(SETTINGS, 302)]
    assert "Die Einstellungen für Exporte wurden gespeichert." in response.text
    with scopes_disabled():
        org = Organisation.objects.get(pk=org_a.organisation.pk)
    assert services.recipients(org) == [RECIPIENT, "kasse@stadt-a.example"]
    assert services.delivers_link(org)
    assert actions("organisation.export_settings_changed") == [
        "organisation.export_settings_changed"
    ]
    shown = parse(response.text)
    assert text(find(shown, "textarea", name="recipients")).split() == [
        RECIPIENT,
        "kasse@stadt-a.example",
    ]
    assert "checked" in attributes(find(shown, "input", name="delivery", value="link"))
    same = admin_a.post(
        SETTINGS,
        {"recipients": f"{RECIPIENT}\nkasse@stadt-a.example", "delivery": "link"},
        follow=True,
    )
    assert "Die Einstellungen waren bereits so; nichts geändert." in same.text
    assert len(actions("organisation.export_settings_changed")) == 1


def test_a_link_instead_of_attachments(
    client_a: Client, org_a: OrgData, b: Builder, django_capture_on_commit_callbacks: Any
) -> None:
    set_recipients(org_a.organisation, [RECIPIENT], delivery="link")
    assert f"Ein Download-Link geht per E-Mail an: {RECIPIENT}." in client_a.get(export_url(b)).text
    run = exported(b, django_capture_on_commit_callbacks)
    [queued] = export_mails(run)
    assert queued.attachments == []
    assert run_url(run) in queued.text
    assert len(django_mail.outbox) <= 1


# --- the campaign page ------------------------------------------------------------------------


def test_the_campaign_page_names_the_last_export(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    campaign_url = f"/o/stadt-a/ableseaktionen/{b.campaign.pk}/"
    before = parse(client_a.get(campaign_url).text)
    values = {
        text(find(item, "dt")): text(find(item, "dd"))
        for item in find_all(before, "div", class_="kern-description-list-item")
    }
    assert values["Letzter Export"] == "noch keiner"
    assert export_url(b) in [attributes(a)["href"] for a in find_all(before, "a")]
    run = exported(b, django_capture_on_commit_callbacks)
    after = parse(client_a.get(campaign_url).text)
    [item] = [
        item
        for item in find_all(after, "div", class_="kern-description-list-item")
        if text(find(item, "dt")) == "Letzter Export"
    ]
    assert text(find(item, "dd")).replace(" ,", ",") == "Lauf 1, 20.01.2027 09:00 – Erstellt"
    assert attributes(find(item, "a"))["href"] == run_url(run)
    assert "Exportläufe und Dateien" in text(after)


def test_given_up_mails_alert_on_the_campaign_and_export_pages(
    client_a: Client, b: Builder, recipients: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    run = exported(b, django_capture_on_commit_callbacks)
    OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:").update(
        sent_at=None, failed_at=NOW, last_error="550 unbekannte Adresse"
    )
    campaign_page = client_a.get(f"/o/stadt-a/ableseaktionen/{b.campaign.pk}/").text
    assert "1 E-Mail mit einem Export wurde nach 48 Stunden aufgegeben." in campaign_page
    export_page = client_a.get(export_url(b)).text
    assert "1 E-Mail mit einem Export konnte nicht zugestellt werden." in export_page
    run_page = parse(client_a.get(run_url(run)).text)
    assert "nicht zustellbar (550 unbekannte Adresse)" in text(find_all(run_page, "tbody")[-1])


# --- other organisations ----------------------------------------------------------------------


def test_another_organisations_run_is_404(
    client_a: Client, org_b: OrgData, recipients: list[str]
) -> None:
    with scopes_disabled():
        foreign = ExportRun.objects.get(organisation=org_b.organisation)
    for suffix in ("", "rueckgabedatei/", "ergebnisse/"):
        assert client_a.get(f"/o/stadt-a/exporte/{foreign.pk}/{suffix}").status_code == 404
    for suffix in ("senden/", "wiederholen/"):
        assert client_a.post(f"/o/stadt-a/exporte/{foreign.pk}/{suffix}").status_code == 404
    assert OutboxMail.objects.count() == 0
