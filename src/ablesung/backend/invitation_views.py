""" "Portal bereit?", invitation and reminder mails of a campaign, and a run's recipients.

Every member sees the pages; sending mails (they carry new personal links), changing the
reminder setting and re-sending failed mails need "letters" (clerks and admins), like
making reading letters.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ablesung.backend.invitation_forms import InviteForm, ReminderSettingForm
from ablesung.core.models import Campaign
from ablesung.core.scoping import OrgRequest, has_permission, require_permission
from ablesung.core.services.actor import Actor
from ablesung.invitations import services
from ablesung.invitations.models import InvitationRun, RunKind
from ablesung.invitations.reporting import campaign_properties, not_reported
from ablesung.letters.models import LetterSelection
from ablesung.letters.services import letters_made

#: how many entries each list of "Portal bereit?" shows (the count is always complete)
LIST_CAP = 50
PER_PAGE = 50


def _campaign(campaign_id: int) -> Campaign:
    campaign: Campaign = get_object_or_404(
        Campaign.objects.select_related("organisation"), pk=campaign_id
    )
    return campaign


def _runs(campaign: Campaign) -> list[InvitationRun]:
    return list(InvitationRun.objects.filter(campaign=campaign).order_by("-created_at", "-pk"))


def _readiness_context(
    request: OrgRequest, campaign: Campaign, form: InviteForm
) -> dict[str, object]:
    check = services.readiness(campaign)
    return {
        "campaign": campaign,
        "check": check,
        "cap": LIST_CAP,
        "without_email": check.without_email[:LIST_CAP],
        "invalid": check.invalid[:LIST_CAP],
        "shared": check.shared[:LIST_CAP],
        "form": form,
        "invited": form.invited,
        "waiting": services.waiting_mails(campaign),
        "runs": _runs(campaign),
        "may_send": has_permission(request, "letters"),
    }


@require_GET
@never_cache
@login_required
@require_permission("view")
def readiness(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = InviteForm(invited=services.invited_persons(campaign))
    return render(request, "backend/portal_ready.html", _readiness_context(request, campaign, form))


@require_POST
@never_cache
@login_required
@require_permission("letters")
def invite(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = InviteForm(request.POST, invited=services.invited_persons(campaign))
    if not form.is_valid():
        context = _readiness_context(request, campaign, form)
        return render(request, "backend/portal_ready.html", context, status=400)
    try:
        run = services.do_request_run(
            campaign,
            organisation=campaign.organisation,
            kind=RunKind.INVITATION,
            confirmed_invited=form.cleaned_data.get("confirmed_invited") or 0,
            actor=Actor.from_request(request),
        )
    except services.InvitationsRefused as exc:
        messages.error(request, str(exc))
        return redirect("backend:portal_ready", org=org, campaign_id=campaign.pk)
    messages.success(request, _("Die Einladungen werden vorbereitet."))
    return redirect("backend:invitation_run", org=org, invitation_run_id=run.pk)


def _reminders_context(
    request: OrgRequest, campaign: Campaign, form: ReminderSettingForm | None = None
) -> dict[str, object]:
    setting = services.reminder_setting(campaign)
    form = form or ReminderSettingForm(
        initial={"enabled": setting.enabled, "days_before": setting.days_before}
    )
    missing = not_reported(campaign)
    return {
        "campaign": campaign,
        "setting": setting,
        "reminder_day": services.reminder_day(setting, campaign),
        "form": form,
        "with_meters": campaign_properties(campaign).count(),
        "missing": missing.count(),
        "missing_with_email": missing.exclude(email="").count(),
        "missing_without_email": missing.filter(email="").count(),
        "runs": [run for run in _runs(campaign) if run.kind == RunKind.REMINDER],
        "letters_made": letters_made(campaign),
        "reminder_selection": LetterSelection.REMINDER,
        "may_send": has_permission(request, "letters"),
    }


@require_GET
@never_cache
@login_required
@require_permission("view")
def reminders(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    return render(request, "backend/reminders.html", _reminders_context(request, campaign))


@require_POST
@never_cache
@login_required
@require_permission("letters")
def reminder_setting(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    form = ReminderSettingForm(request.POST)
    if not form.is_valid():
        context = _reminders_context(request, campaign, form)
        return render(request, "backend/reminders.html", context, status=400)
    services.do_save_reminder_setting(
        campaign,
        organisation=campaign.organisation,
        enabled=form.cleaned_data["enabled"],
        days_before=form.cleaned_data["days_before"],
        actor=Actor.from_request(request),
    )
    messages.success(request, _("Die Einstellung der Erinnerung ist gespeichert."))
    return redirect("backend:reminders", org=org, campaign_id=campaign.pk)


@require_POST
@never_cache
@login_required
@require_permission("letters")
def remind_now(request: OrgRequest, org: str, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    try:
        run = services.do_request_run(
            campaign,
            organisation=campaign.organisation,
            kind=RunKind.REMINDER,
            actor=Actor.from_request(request),
        )
    except services.InvitationsRefused as exc:
        messages.error(request, str(exc))
        return redirect("backend:reminders", org=org, campaign_id=campaign.pk)
    messages.success(request, _("Die Erinnerungen werden vorbereitet."))
    return redirect("backend:invitation_run", org=org, invitation_run_id=run.pk)


def _run(invitation_run_id: int) -> InvitationRun:
    run: InvitationRun = get_object_or_404(
        InvitationRun.objects.select_related("campaign", "organisation"), pk=invitation_run_id
    )
    return run


@require_GET
@never_cache
@login_required
@require_permission("view")
def invitation_run(request: OrgRequest, org: str, invitation_run_id: int) -> HttpResponse:
    run = _run(invitation_run_id)
    recipients = run.recipients.select_related("mail").order_by("email", "pk")
    counts = recipients.aggregate(
        sent=Count("pk", filter=Q(mail__sent_at__isnull=False)),
        failed=Count("pk", filter=Q(mail__failed_at__isnull=False, mail__sent_at__isnull=True)),
        queued=Count(
            "pk",
            filter=Q(mail__isnull=False, mail__sent_at__isnull=True, mail__failed_at__isnull=True),
        ),
        purged=Count("pk", filter=Q(mail__isnull=True)),
    )
    page = Paginator(recipients, PER_PAGE).get_page(request.GET.get("seite"))
    context = {
        "campaign": run.campaign,
        "run": run,
        "counts": counts,
        "page": page,
        "may_send": has_permission(request, "letters"),
    }
    return render(request, "backend/invitation_run.html", context)


@require_POST
@never_cache
@login_required
@require_permission("letters")
def invitation_run_resend(request: OrgRequest, org: str, invitation_run_id: int) -> HttpResponse:
    run = _run(invitation_run_id)
    try:
        count = services.do_resend_failed(run, actor=Actor.from_request(request))
    except services.InvitationsRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(count)s E-Mails mit neuen Links liegen wieder im Postausgang.") % {"count": count},
        )
    return redirect("backend:invitation_run", org=org, invitation_run_id=run.pk)
