"""Closing and exporting a campaign: the export run, its files, its mails, and the reopen.

:func:`do_export_campaign` is the clerk's "Abschließen und exportieren": in one
transaction it closes an open campaign, estimates the missing meters if asked, creates the
export run and marks the campaign ``exported`` (its readings are read-only from then on);
the files are written afterwards by :func:`build_run` (a task; the command line runs it at
once). :func:`build_run` is idempotent: it claims the run with a lease, writes the files to
fixed names (a retry replaces its own half-written files), and stores them together with
the mails (queued under fixed keys, so each recipient gets one mail per send) in one
transaction. A run that failed can be built again; a new export after a reopen makes a new
run and never touches an older one.
"""

from __future__ import annotations

import copy
import datetime
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_scopes import scopes_disabled

from ablesung.core.models import Campaign, CampaignStatus, Organisation, ReviewState
from ablesung.core.models.reading import ESTIMATE_SOURCES
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit, estimates
from ablesung.core.services.actor import Actor
from ablesung.core.services.campaign_stats import effective_of_live_lines, live_lines
from ablesung.exports.build import BuiltFiles, build_files, sha256_of
from ablesung.exports.models import ExportRun, ExportSelection, ExportStatus
from ablesung.formats import FormatError
from ablesung.mail.models import OutboxMail
from ablesung.mail.services import queue_mail, render_mail

logger = logging.getLogger(__name__)

#: statuses a campaign can be exported from (an open one is closed on the way)
EXPORTABLE = frozenset({CampaignStatus.OPEN, CampaignStatus.CLOSED})
#: a build is left to its worker this long; then the schedule hands it to another
LEASE = datetime.timedelta(minutes=30)
#: a queued run whose task got lost is enqueued again by the schedule after this long
QUEUED_GRACE = datetime.timedelta(minutes=5)
#: above this size the mail carries a link instead of the files (many servers refuse more)
MAX_ATTACHMENTS = 15 * 1024 * 1024
RECIPIENTS_SETTING = "export_recipients"
DELIVERY_SETTING = "export_delivery"
DELIVERY_ATTACH = "attachment"
DELIVERY_LINK = "link"
CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
}


class ExportRefused(ValueError):
    """The campaign cannot be exported now; nothing was changed."""

    def __init__(self, *messages: str) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


def recipients(organisation: Organisation) -> list[str]:
    """The organisation's export recipients (settings page "Export")."""
    value = organisation.setting(RECIPIENTS_SETTING, [])
    return [address for address in value if isinstance(address, str) and address]


def delivers_link(organisation: Organisation) -> bool:
    return bool(organisation.setting(DELIVERY_SETTING, DELIVERY_ATTACH) == DELIVERY_LINK)


# --- what an export would take ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportPreview:
    """What the confirmation dialog (and the command line) tells before an export."""

    lines: int
    released: int  # effective readings released (real readings)
    estimates: int  # effective estimates (automatic or manual)
    unreleased: int  # effective readings not released (left out by default)
    missing: int  # lines without an effective reading
    estimable: int  # of the missing (and unreleased automatic estimates): computable now
    estimate_refusal: str | None  # why estimating is not possible now

    def left_out(self, selection: str) -> int:
        """Effective readings the selection leaves out of the return file."""
        return 0 if selection == ExportSelection.ALL_CURRENT else self.unreleased


def preview(campaign: Campaign, *, today: datetime.date | None = None) -> ExportPreview:
    """Counts for the dialog (aggregate queries, in the organisation scope)."""
    today = today or timezone.localdate()
    effective = effective_of_live_lines([campaign.pk])
    is_estimate = Q(source__in=ESTIMATE_SOURCES)
    figures = {
        "released": effective.filter(~is_estimate, state=ReviewState.RELEASED).count(),
        "estimates": effective.filter(is_estimate).count(),
        "unreleased": effective.filter(~is_estimate).exclude(state=ReviewState.RELEASED).count(),
    }
    summary = estimates.summary(campaign)
    # a campaign that is still open is closed by the export: its window no longer counts
    as_exported = copy.copy(campaign)
    if campaign.status in EXPORTABLE:
        as_exported.status = CampaignStatus.CLOSED
    refusal = estimates.estimate_refusal(as_exported, today)
    return ExportPreview(
        lines=live_lines([campaign.pk]).count(),
        missing=summary.missing,
        estimable=summary.computable,
        estimate_refusal=refusal,
        **figures,
    )


def export_refusal(campaign: Campaign, *, send_mail: bool = True) -> str | None:
    """Why the campaign cannot be exported now (``None``: it can)."""
    if campaign.status == CampaignStatus.EXPORTED:
        return _(
            "Die Ableseaktion ist bereits exportiert. Eine Administrator:in kann sie wieder "
            "öffnen; ein neuer Export erzeugt dann einen neuen Exportlauf."
        )
    if campaign.status == CampaignStatus.DRAFT:
        return _("Die Ableseaktion ist noch ein Entwurf; exportiert wird nach der Erfassung.")
    if send_mail and not recipients(campaign.organisation):
        return _(
            "Bitte hinterlegen Sie zuerst in den Einstellungen unter „Export“, an welche "
            "E-Mail-Adressen Exporte gehen."
        )
    if ExportRun.objects.filter(
        campaign=campaign, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
    ).exists():
        return _("Für diese Ableseaktion wird gerade ein Export erstellt.")
    return None


# --- the export -------------------------------------------------------------------------------


def _lock(campaign: Campaign) -> tuple[Organisation, Campaign]:
    """Locks the organisation, then the campaign (the order every campaign change keeps)."""
    organisation = Organisation.objects.select_for_update().get(pk=campaign.organisation_id)
    row = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    if row is None:
        raise ExportRefused(_("Die Ableseaktion liegt im Papierkorb."))
    row.organisation = organisation
    return organisation, row


def do_export_campaign(
    campaign: Campaign,
    *,
    selection: str = ExportSelection.RELEASED_AND_ESTIMATED,
    estimate_missing: bool = False,
    send_mail: bool = True,
    actor: Actor,
    enqueue: bool = True,
    today: datetime.date | None = None,
) -> ExportRun:
    """Closes (if open) and exports the campaign: creates the export run, estimates the
    missing meters first if asked, marks the campaign ``exported``; all or nothing.

    The run's files are built by the task :func:`ablesung.exports.tasks.build_export_run`,
    enqueued on commit (``enqueue=False``: the caller runs :func:`build_run` itself). Raises
    :class:`ExportRefused` (nothing changed) when the campaign cannot be exported.
    """
    if selection not in ExportSelection.values:
        raise ExportRefused(_("Unbekannte Auswahl der Zählerstände."))
    today = today or timezone.localdate()
    with transaction.atomic(durable=True), organisation_scope(campaign.organisation):
        organisation, row = _lock(campaign)
        refusal = export_refusal(row, send_mail=send_mail)
        if refusal:
            raise ExportRefused(refusal)
        old_status = row.status
        if row.status == CampaignStatus.OPEN:
            row.status = CampaignStatus.CLOSED
            row.save(update_fields=["status"])
            audit.record(
                "campaign.closed",
                actor=actor,
                organisation=organisation,
                obj=row,
                data={"old_status": old_status, "by": "export"},
            )
        stored = 0
        if estimate_missing:
            try:
                stored = estimates.store_estimates(row, actor=actor, today=today).stored
            except estimates.EstimatesRefused as exc:
                raise ExportRefused(str(exc)) from exc
        number = (
            ExportRun.objects.filter(campaign=row).aggregate(top=Max("number"))["top"] or 0
        ) + 1
        run: ExportRun = ExportRun.objects.create(
            organisation=organisation,
            campaign=row,
            number=number,
            selection=selection,
            estimated=stored,
            send_mail=send_mail,
            actor=actor.user,
            actor_label=actor.label[:254],
        )
        row.status = CampaignStatus.EXPORTED
        row.save(update_fields=["status"])
        audit.record(
            "campaign.exported",
            actor=actor,
            organisation=organisation,
            obj=row,
            data={
                "run": run.number,
                "selection": selection,
                "estimated": stored,
                "send_mail": send_mail,
                "old_status": old_status,
            },
        )
        if enqueue:
            _enqueue_on_commit(run.pk)
        campaign.status = row.status
    return run


def _enqueue_on_commit(run_id: int) -> None:
    from ablesung.exports.tasks import build_export_run

    transaction.on_commit(lambda: build_export_run.enqueue(run_id))


def do_reopen_exported_campaign(campaign: Campaign, *, actor: Actor) -> bool:
    """An admin reopens an exported campaign for corrections: it becomes ``closed`` again
    (readings can be changed, released, estimated; citizens stay out). Its export runs stay;
    exporting again makes a new run. Returns ``False`` when it is not exported."""
    with transaction.atomic(durable=True), organisation_scope(campaign.organisation):
        organisation, row = _lock(campaign)
        if row.status != CampaignStatus.EXPORTED:
            campaign.status = row.status
            return False
        if ExportRun.objects.filter(
            campaign=row, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
        ).exists():
            raise ExportRefused(
                _("Der Export wird gerade erstellt; öffnen Sie die Ableseaktion danach wieder.")
            )
        row.status = CampaignStatus.CLOSED
        row.save(update_fields=["status"])
        audit.record(
            "campaign.reopened",
            actor=actor,
            organisation=organisation,
            obj=row,
            data={"old_status": CampaignStatus.EXPORTED.value},
        )
        campaign.status = row.status
    return True


# --- building the files -----------------------------------------------------------------------


def build_run(run_id: int, *, today: datetime.date | None = None) -> str:
    """Builds the run's files and queues its mails; returns ``succeeded``, ``failed``,
    ``done`` (already built) or ``skipped`` (another worker holds it).

    Idempotent: the run is claimed with a lease; the files go to fixed names; files,
    checksums, statistics and mails are stored in one transaction at the end.
    """
    organisation = _organisation_of(run_id)
    if organisation is None:
        return "skipped"
    with organisation_scope(organisation):
        run = _claim(run_id)
        if not isinstance(run, ExportRun):
            return run
        campaign = run.campaign
        try:
            with tempfile.TemporaryDirectory() as tmp:
                files = build_files(run, campaign, Path(tmp), today=today)
                stored = _store_files(run, files)
                return _finish(run.pk, files, stored)
        except FormatError as exc:
            return _fail(run.pk, str(exc))
        except Exception as exc:
            logger.exception("export run %s failed", run_id)
            return _fail(
                run.pk,
                _(
                    "Der Export konnte nicht erstellt werden (%(error)s). Bitte versuchen Sie "
                    "es erneut."
                )
                % {"error": type(exc).__name__},
            )


def _organisation_of(run_id: int) -> Organisation | None:
    """The run's organisation, to enter its scope (a task gets only the id)."""
    with scopes_disabled():
        organisation_id = (
            ExportRun.objects.filter(pk=run_id).values_list("organisation_id", flat=True).first()
        )
    if organisation_id is None:
        return None
    return Organisation.objects.filter(pk=organisation_id).first()


def _claim(run_id: int) -> ExportRun | str:
    now = timezone.now()
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        run: ExportRun | None = (
            ExportRun.objects.select_for_update(skip_locked=skip_locked)
            .select_related("campaign__organisation")
            .filter(pk=run_id)
            .first()
        )
        if run is None:
            return "skipped"
        if run.status in (ExportStatus.SUCCEEDED, ExportStatus.FAILED):
            return "done"
        if run.status == ExportStatus.RUNNING and run.lease_until and run.lease_until > now:
            return "skipped"
        run.status = ExportStatus.RUNNING
        run.attempts += 1
        run.lease_until = now + LEASE
        run.started_at = run.started_at or now
        run.save(update_fields=["status", "attempts", "lease_until", "started_at"])
    return run


def storage_path(run: ExportRun, name: str) -> str:
    return f"exports/{run.organisation_id}/{run.campaign_id}/{run.number}/{name}"


def _store_files(run: ExportRun, files: BuiltFiles) -> dict[str, str]:
    """Copies the files into the storage under fixed names (an earlier attempt's files are
    replaced); returns their storage names by kind."""
    stored = {}
    for kind, path, name in (
        ("return", files.return_path, files.return_name),
        ("report", files.report_path, files.report_name),
    ):
        target = storage_path(run, name)
        if default_storage.exists(target):
            default_storage.delete(target)
        with path.open("rb") as handle:
            stored[kind] = default_storage.save(target, File(handle, name=name))
    stored["return_sha256"] = sha256_of(files.return_path)
    stored["report_sha256"] = sha256_of(files.report_path)
    return stored


def _finish(run_id: int, files: BuiltFiles, stored: dict[str, str]) -> str:
    with transaction.atomic():
        run = (
            ExportRun.objects.select_for_update()
            .select_related("campaign__organisation")
            .get(pk=run_id)
        )
        if run.status == ExportStatus.SUCCEEDED:
            return "done"  # another attempt finished first; the files are the same names
        run.status = ExportStatus.SUCCEEDED
        run.return_file.name = stored["return"]
        run.return_name = files.return_name
        run.return_sha256 = stored["return_sha256"]
        run.report_file.name = stored["report"]
        run.report_name = files.report_name
        run.report_sha256 = stored["report_sha256"]
        run.layouts = files.layouts
        run.counts = files.statistics.as_dict()
        run.finished_at = timezone.now()
        run.lease_until = None
        run.message = ""
        run.save()
        if run.send_mail:
            _queue_mails(run, actor_label=run.actor_label)
    logger.info("export run %s built: %s lines", run_id, files.statistics.lines)
    return "succeeded"


def _fail(run_id: int, message: str) -> str:
    with transaction.atomic():
        run = ExportRun.objects.select_for_update().get(pk=run_id)
        if run.status == ExportStatus.SUCCEEDED:
            return "done"
        run.status = ExportStatus.FAILED
        run.message = message[:2000]
        run.finished_at = timezone.now()
        run.lease_until = None
        run.save(update_fields=["status", "message", "finished_at", "lease_until"])
    return "failed"


def do_retry_export_run(run: ExportRun, *, actor: Actor) -> bool:
    """A failed run is built again (same number); returns ``False`` if it had not failed."""
    with transaction.atomic(durable=True), organisation_scope(run.campaign.organisation):
        row = ExportRun.objects.select_for_update().get(pk=run.pk)
        if row.status != ExportStatus.FAILED:
            return False
        row.status = ExportStatus.QUEUED
        row.message = ""
        row.finished_at = None
        row.save(update_fields=["status", "message", "finished_at"])
        audit.record(
            "export.retried",
            actor=actor,
            organisation=run.campaign.organisation,
            obj=row,
            data={"run": row.number, "campaign": row.campaign_id},
        )
        _enqueue_on_commit(row.pk)
    return True


def pending_runs(now: datetime.datetime | None = None) -> list[int]:
    """Runs whose task got lost (queued for a while) or whose worker died (lease over)."""
    now = now or timezone.now()
    stale = Q(status=ExportStatus.QUEUED, created_at__lt=now - QUEUED_GRACE) | Q(
        status=ExportStatus.RUNNING, lease_until__lt=now
    )
    with scopes_disabled():  # the schedule looks at every organisation's runs
        return list(ExportRun.objects.filter(stale).values_list("pk", flat=True))


# --- mails ------------------------------------------------------------------------------------


def mail_key(run: ExportRun, send: int, address: str) -> str:
    return f"export-run:{run.pk}:{send}:{address.lower()}"


def _queue_mails(run: ExportRun, *, actor_label: str) -> list[OutboxMail]:
    """One mail per recipient for the run's next send (inside the caller's transaction)."""
    organisation = run.campaign.organisation
    addresses = recipients(organisation)
    if not addresses:
        return []
    run.sends += 1
    run.save(update_fields=["sends"])
    size = (run.return_file.size if run.return_file else 0) + (
        run.report_file.size if run.report_file else 0
    )
    link_only = delivers_link(organisation) or size > MAX_ATTACHMENTS
    url = settings.BASE_URL + reverse(
        "backend:export_run",
        kwargs={"org": organisation.slug, "export_run_id": run.pk},
    )
    subject, text, html = render_mail(
        "exports/mail/export_run",
        {
            "run": run,
            "campaign": run.campaign,
            "organisation": organisation,
            "counts": run.counts,
            "link_only": link_only,
            "too_large": size > MAX_ATTACHMENTS and not delivers_link(organisation),
            "url": url,
            "sender": actor_label,
        },
        language="de",
    )
    attachments = (
        []
        if link_only
        else [
            _attachment(str(run.return_file.name), run.return_name),
            _attachment(str(run.report_file.name), run.report_name),
        ]
    )
    return [
        queue_mail(
            key=mail_key(run, run.sends, address),
            to=address,
            subject=subject,
            text=text,
            html=html,
            organisation=organisation,
            reply_to=organisation.contact_email,
            attachments=attachments,
        )
        for address in addresses
    ]


def _attachment(path: str, name: str) -> dict[str, str]:
    suffix = Path(name).suffix.lower()
    return {
        "name": name,
        "path": path,
        "content_type": CONTENT_TYPES.get(suffix, "application/octet-stream"),
    }


def do_resend_export_run(run: ExportRun, *, actor: Actor) -> int:
    """Sends a built run's files again to the current recipients; returns how many mails
    were queued. Raises :class:`ExportRefused` when the run is not built or no recipients
    are set."""
    organisation = run.campaign.organisation
    with transaction.atomic(durable=True), organisation_scope(organisation):
        row = (
            ExportRun.objects.select_for_update()
            .select_related("campaign__organisation")
            .get(pk=run.pk)
        )
        if row.status != ExportStatus.SUCCEEDED:
            raise ExportRefused(_("Nur ein fertig erstellter Export kann gesendet werden."))
        if not recipients(organisation):
            raise ExportRefused(
                _("Bitte hinterlegen Sie zuerst in den Einstellungen Empfänger:innen für Exporte.")
            )
        mails = _queue_mails(row, actor_label=actor.label)
        audit.record(
            "export.sent",
            actor=actor,
            organisation=organisation,
            obj=row,
            data={"run": row.number, "campaign": row.campaign_id, "send": row.sends},
        )
        run.sends = row.sends
    return len(mails)


def run_mails(run: ExportRun) -> QuerySet[OutboxMail]:
    """Every mail of the run (all sends), oldest first."""
    return OutboxMail.objects.filter(key__startswith=f"export-run:{run.pk}:").order_by(
        "created_at", "pk"
    )


def failed_export_mails(campaign: Campaign) -> int:
    """Export mails of the campaign that were given up (the dashboard's alert)."""
    run_ids = ExportRun.objects.filter(campaign=campaign).values_list("pk", flat=True)
    query = Q()
    for run_id in run_ids:
        query |= Q(key__startswith=f"export-run:{run_id}:")
    if not query:
        return 0
    return OutboxMail.objects.filter(query, failed_at__isnull=False).count()


def describe_counts(counts: dict[str, object]) -> Sequence[str]:
    """Short German lines for the command line and the run page."""
    lines = int(str(counts.get("lines", 0)))
    return [
        ngettext("%(count)s Zählwerk", "%(count)s Zählwerke", lines) % {"count": lines},
        _("abgelesen: %(read)s, davon online: %(online)s")
        % {"read": counts.get("read", 0), "online": counts.get("online", 0)},
        _("geschätzt: %(estimated)s") % {"estimated": counts.get("estimated", 0)},
        _("ohne Wert: %(missing)s (davon nicht freigegeben und daher nicht exportiert: %(left)s)")
        % {"missing": counts.get("missing", 0), "left": counts.get("unreleased_left_out", 0)},
        _("unplausibel, aber freigegeben: %(count)s")
        % {"count": counts.get("implausible_released", 0)},
        _("ersetzte Zeichen: %(count)s") % {"count": counts.get("replaced_characters", 0)},
    ]


# --- settings ---------------------------------------------------------------------------------

MAX_RECIPIENTS = 10


def do_update_export_settings(
    organisation: Organisation, *, addresses: Sequence[str], delivery: str, actor: Actor
) -> bool:
    """Stores the export recipients and the delivery (attachment or link); returns ``False``
    when nothing changed. The form has checked the addresses."""
    if delivery not in (DELIVERY_ATTACH, DELIVERY_LINK):
        raise ValueError(delivery)
    cleaned = list(dict.fromkeys(address.strip().lower() for address in addresses))
    with transaction.atomic(durable=True):
        row = Organisation.objects.select_for_update().get(pk=organisation.pk)
        old = (recipients(row), row.setting(DELIVERY_SETTING, DELIVERY_ATTACH))
        if old == (cleaned, delivery):
            return False
        row.settings = {**row.settings, RECIPIENTS_SETTING: cleaned, DELIVERY_SETTING: delivery}
        row.save(update_fields=["settings"])
        audit.record(
            "organisation.export_settings_changed",
            actor=actor,
            organisation=row,
            obj=row,
            data={"recipients": len(cleaned), "delivery": delivery},
        )
        organisation.settings = row.settings
    return True
