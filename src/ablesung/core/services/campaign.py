"""Opening and closing a campaign: the portal is only reachable while a campaign is open.

``draft`` or ``closed`` → ``open`` (with the online window) → ``closed``; opening a closed
campaign is its reopening (the audit entry keeps the old status). Opening needs the
organisation's contact, imprint and privacy policy (the portal shows them) and a window that
ends today or later. The window of a draft or open campaign can be edited on its own. Every
change locks the organisation and then the campaign row, so two clerks clicking at once give
one state change and one audit entry; repeating a change that already happened changes
nothing and says so (the return value).
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ablesung.core.models import Campaign, CampaignStatus, Organisation
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor

#: statuses from which a campaign may be opened (a clerk may reopen a closed campaign)
OPENABLE: frozenset[str] = frozenset({CampaignStatus.DRAFT, CampaignStatus.CLOSED})
#: statuses whose online window may be edited (a closed campaign is reopened instead)
WINDOW_EDITABLE: frozenset[str] = frozenset({CampaignStatus.DRAFT, CampaignStatus.OPEN})


@dataclass(frozen=True)
class CampaignProblem:
    """One reason why a transition is refused; ``field`` names the window date it concerns."""

    message: str
    field: str | None = None


class CampaignRefused(ValueError):
    """The campaign cannot change its status now; every problem has a German message."""

    def __init__(self, problems: list[CampaignProblem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems

    @property
    def messages(self) -> list[str]:
        return [problem.message for problem in self.problems]


def window_problems(
    online_from: datetime.date, online_until: datetime.date, *, today: datetime.date
) -> list[CampaignProblem]:
    """What is wrong with an online window (empty when it can be used)."""
    problems = []
    if online_until < online_from:
        problems.append(
            CampaignProblem(
                _("Das Ende des Erfassungszeitraums liegt vor seinem Beginn."), "online_until"
            )
        )
    if online_until < today:
        problems.append(
            CampaignProblem(
                _("Das Ende des Erfassungszeitraums liegt in der Vergangenheit."), "online_until"
            )
        )
    return problems


def branding_problems(organisation: Organisation) -> list[CampaignProblem]:
    """The portal details the organisation still has to fill in before a campaign opens."""
    missing = organisation.branding_missing
    if not missing:
        return []
    return [
        CampaignProblem(
            _("Bevor eine Ableseaktion geöffnet werden kann, fehlen: %(missing)s.")
            % {"missing": ", ".join(missing)}
        )
    ]


def _lock(campaign: Campaign) -> tuple[Organisation, Campaign]:
    """Locks the organisation, then the campaign (always in this order); fresh rows."""
    organisation = Organisation.objects.select_for_update().get(pk=campaign.organisation_id)
    try:
        row: Campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    except Campaign.DoesNotExist as exc:
        raise CampaignRefused(
            [CampaignProblem(_("Die Ableseaktion liegt im Papierkorb."))]
        ) from exc
    return organisation, row


def _copy_state(source: Campaign, target: Campaign) -> None:
    target.status = source.status
    target.online_from = source.online_from
    target.online_until = source.online_until


def do_open_campaign(
    campaign: Campaign,
    *,
    online_from: datetime.date,
    online_until: datetime.date,
    actor: Actor,
) -> bool:
    """Opens the campaign for the online window ``online_from``–``online_until``.

    Returns ``False`` (and changes nothing, not even the window) when the campaign is already
    open. Raises :class:`CampaignRefused` when the organisation's portal details are missing,
    the window is invalid, or the campaign has been exported; then nothing is stored.
    """
    with transaction.atomic(durable=True), organisation_scope(campaign.organisation):
        organisation, row = _lock(campaign)
        if row.status == CampaignStatus.OPEN:
            _copy_state(row, campaign)
            return False
        problems = []
        if row.status not in OPENABLE:
            problems.append(
                CampaignProblem(_("Eine exportierte Ableseaktion kann nicht geöffnet werden."))
            )
        problems += branding_problems(organisation)
        problems += window_problems(online_from, online_until, today=timezone.localdate())
        if problems:
            raise CampaignRefused(problems)
        old_status = row.status
        row.status = CampaignStatus.OPEN
        row.online_from = online_from
        row.online_until = online_until
        row.save(update_fields=["status", "online_from", "online_until"])
        audit.record(
            "campaign.opened",
            actor=actor,
            organisation=organisation,
            obj=row,
            data={
                "old_status": old_status,
                "online_from": online_from.isoformat(),
                "online_until": online_until.isoformat(),
            },
        )
        _copy_state(row, campaign)
    return True


def do_close_campaign(campaign: Campaign, *, actor: Actor) -> bool:
    """Closes an open campaign: citizens can no longer submit readings online.

    Returns ``False`` (nothing changed) when it is already closed; raises
    :class:`CampaignRefused` for a draft or an exported campaign.
    """
    with transaction.atomic(durable=True), organisation_scope(campaign.organisation):
        organisation, row = _lock(campaign)
        if row.status == CampaignStatus.CLOSED:
            _copy_state(row, campaign)
            return False
        if row.status != CampaignStatus.OPEN:
            raise CampaignRefused(
                [CampaignProblem(_("Nur eine geöffnete Ableseaktion kann geschlossen werden."))]
            )
        row.status = CampaignStatus.CLOSED
        row.save(update_fields=["status"])
        audit.record(
            "campaign.closed",
            actor=actor,
            organisation=organisation,
            obj=row,
            data={"old_status": CampaignStatus.OPEN.value},
        )
        _copy_state(row, campaign)
    return True


def do_update_campaign_window(
    campaign: Campaign,
    *,
    online_from: datetime.date,
    online_until: datetime.date,
    actor: Actor,
) -> bool:
    """Changes the online window of a draft or open campaign; the status stays.

    Returns ``False`` (nothing stored) when the window is already this one. Raises
    :class:`CampaignRefused` for a closed or exported campaign (a closed one is reopened
    with a new window instead) and for a window that is invalid or already over.
    """
    with transaction.atomic(durable=True), organisation_scope(campaign.organisation):
        organisation, row = _lock(campaign)
        if row.status not in WINDOW_EDITABLE:
            raise CampaignRefused(
                [
                    CampaignProblem(
                        _(
                            "Der Erfassungszeitraum kann nur geändert werden, solange die "
                            "Ableseaktion nicht geschlossen ist. Öffnen Sie eine geschlossene "
                            "Ableseaktion wieder, um einen neuen Zeitraum festzulegen."
                        )
                    )
                ]
            )
        if (row.online_from, row.online_until) == (online_from, online_until):
            _copy_state(row, campaign)
            return False
        problems = window_problems(online_from, online_until, today=timezone.localdate())
        if problems:
            raise CampaignRefused(problems)
        old = (row.online_from, row.online_until)
        row.online_from = online_from
        row.online_until = online_until
        row.save(update_fields=["online_from", "online_until"])
        audit.record(
            "campaign.window_changed",
            actor=actor,
            organisation=organisation,
            obj=row,
            data={
                "status": row.status,
                "old_online_from": old[0].isoformat() if old[0] else None,
                "old_online_until": old[1].isoformat() if old[1] else None,
                "online_from": online_from.isoformat(),
                "online_until": online_until.isoformat(),
            },
        )
        _copy_state(row, campaign)
    return True
