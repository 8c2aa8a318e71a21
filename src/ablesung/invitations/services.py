"""Invitation and reminder mails: one mail per person, with a personal link per property.

Access. A mail's links are new :class:`~ablesung.core.models.AccessGrant` rows issued *in
addition* to the live ones, marked as sent by mail (``GrantChannel.MAIL``): a property
may have several live grants, and an invitation or reminder revokes none of them, so
printed letters keep working; making letters again revokes only printed grants, so the
mailed links keep working too. When a failed mail is sent again, the grants of the
undelivered mail are revoked and new ones issued. The plaintext tokens exist only in the
mail's text, which the outbox erases once the mail is sent or given up
(``OutboxMail.erase_after``).

Flow. :func:`do_request_run` checks and stores a queued :class:`InvitationRun` (no
secret); the job :func:`build_run` (``invitations.tasks.build_invitation_run``) groups
the properties by person, issues the grants and queues the mails, paced (see
:mod:`ablesung.invitations.pace`), in one transaction. A second run of the job finds the
run built and does nothing; the outbox keys (``invitation:<run>:<recipient>:<attempt>``)
make every mail unique.

Which campaigns. Mails go only for an *open* campaign whose online window has not ended:
the link must lead to a portal that accepts readings.
"""

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    Campaign,
    CampaignStatus,
    GrantChannel,
    Organisation,
    Property,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import audit
from ablesung.core.services.access import IssuedAccess, issue_grants
from ablesung.core.services.actor import Actor
from ablesung.invitations import pace
from ablesung.invitations.addresses import Entry, Person, group_by_person, looks_valid
from ablesung.invitations.models import (
    DEFAULT_REMINDER_DAYS,
    InvitationRecipient,
    InvitationRun,
    ReminderSetting,
    RunKind,
    RunStatus,
)
from ablesung.invitations.reporting import campaign_properties, not_reported
from ablesung.letters import texts
from ablesung.letters.services import (
    NO_OWNER,
    one_line_address,
    owner_name,
    personal_link,
    portal_address,
)
from ablesung.letters.text_store import texts_for
from ablesung.mail.services import queue_mail

logger = logging.getLogger(__name__)

TEXT_KINDS = {
    RunKind.INVITATION: texts.TextKind.INVITATION_MAIL,
    RunKind.REMINDER: texts.TextKind.REMINDER_MAIL,
}
#: a queued run older than this whose job never ran is enqueued again (worker died)
STALE_QUEUED = datetime.timedelta(minutes=2)


class InvitationsRefused(ValueError):
    """Mails cannot be sent (nothing was changed); the message is German."""


def mail_texts(organisation: Organisation, campaign: Campaign, kind: RunKind) -> texts.TextSet:
    """The subject and text of a run's mails: the organisation's own, else the default."""
    return texts_for(organisation, campaign, TEXT_KINDS[RunKind(kind)])


# --- who gets a mail ---------------------------------------------------------------------


def _entries(properties: "Sequence[Property]") -> list[Entry]:
    return [Entry(prop.pk, prop.object_number, prop.email) for prop in properties]


def recipients(campaign: Campaign, kind: RunKind) -> list[Person]:
    """The people a run of ``kind`` writes to (inside a scope): every valid address of the
    campaign's properties, for a reminder only those of properties without a reading."""
    source = not_reported(campaign) if kind == RunKind.REMINDER else campaign_properties(campaign)
    return group_by_person(_entries(list(source.exclude(email="").order_by("object_number"))))


@dataclass(frozen=True)
class Readiness:
    """The "Portal bereit?" check of a campaign's addresses."""

    with_meters: int
    with_email: int
    without_email: list[Property]
    invalid: list[Property]
    #: addresses shared by several properties: (address, object numbers)
    shared: list[tuple[str, list[str]]]
    persons: int  # mails an invitation sends

    @property
    def shared_properties(self) -> int:
        return sum(len(numbers) for _email, numbers in self.shared)


def readiness(campaign: Campaign) -> Readiness:
    """Counts and lists for "Portal bereit?" (inside a scope)."""
    properties = list(campaign_properties(campaign).order_by("object_number"))
    with_email = [prop for prop in properties if prop.email.strip()]
    people = group_by_person(_entries(with_email))
    return Readiness(
        with_meters=len(properties),
        with_email=len(with_email),
        without_email=[prop for prop in properties if not prop.email.strip()],
        invalid=[prop for prop in with_email if not looks_valid(prop.email)],
        shared=[
            (person.email, [entry.object_number for entry in person.entries])
            for person in people
            if len(person.entries) > 1
        ],
        persons=len(people),
    )


# --- refusals ----------------------------------------------------------------------------


def _check_campaign(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.OPEN:
        raise InvitationsRefused(
            "E-Mails mit Links zum Portal gibt es nur für geöffnete Ableseaktionen; "
            f"„{campaign.name}“ ist {campaign.get_status_display()}."
        )
    until = campaign.online_until
    if until is not None and timezone.localdate() > until:
        raise InvitationsRefused(
            f"Die Online-Erfassung von „{campaign.name}“ endete am {until:%d.%m.%Y}."
        )


def waiting_mails(campaign: Campaign) -> int:
    """Mails of the campaign's runs still waiting in the outbox (inside a scope)."""
    return InvitationRecipient.objects.filter(
        run__campaign=campaign,
        mail__isnull=False,
        mail__sent_at__isnull=True,
        mail__failed_at__isnull=True,
    ).count()


def _check_not_running(campaign: Campaign) -> None:
    if InvitationRun.objects.filter(campaign=campaign, status=RunStatus.QUEUED).exists():
        raise InvitationsRefused(
            "Für diese Ableseaktion wird gerade ein E-Mail-Lauf vorbereitet. Bitte warten Sie, "
            "bis er fertig ist."
        )
    waiting = waiting_mails(campaign)
    if waiting:
        raise InvitationsRefused(
            f"Für diese Ableseaktion warten noch {waiting} E-Mails im Postausgang. Ein neuer "
            "Lauf ist möglich, wenn sie gesendet oder aufgegeben sind."
        )


def invited_persons(campaign: Campaign) -> int:
    """Recipients of earlier invitation runs (inside a scope)."""
    return InvitationRecipient.objects.filter(
        run__campaign=campaign, run__kind=RunKind.INVITATION
    ).count()


def _refusal_for_nobody(kind: RunKind) -> InvitationsRefused:
    if kind == RunKind.REMINDER:
        return InvitationsRefused(
            "Es gibt niemanden zu erinnern: Alle Objekte mit gültiger E-Mail-Adresse haben "
            "schon gemeldet."
        )
    return InvitationsRefused("Kein Objekt dieser Ableseaktion hat eine gültige E-Mail-Adresse.")


# --- a run -------------------------------------------------------------------------------


def do_request_run(
    campaign: Campaign,
    *,
    organisation: Organisation,
    kind: RunKind,
    actor: Actor,
    confirmed_invited: int | None = None,
    automatic: bool = False,
    enqueue: bool = True,
) -> InvitationRun:
    """A queued run; its job :func:`build_run` queues the mails.

    A second invitation needs ``confirmed_invited`` equal to the number of people invited
    so far (``None`` skips that check). Raises :class:`InvitationsRefused`; then nothing
    changed.
    """
    kind = RunKind(kind)
    with transaction.atomic(durable=True), organisation_scope(organisation):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _check_campaign(campaign)
        if (
            automatic
            and InvitationRun.objects.filter(
                campaign=campaign, kind=RunKind.REMINDER, automatic=True
            ).exists()
        ):
            raise InvitationsRefused("Die automatische Erinnerung wurde schon gesendet.")
        _check_not_running(campaign)
        if kind == RunKind.INVITATION:
            invited = invited_persons(campaign)
            if confirmed_invited is not None and invited and confirmed_invited != invited:
                raise InvitationsRefused(
                    f"Für diese Ableseaktion wurden schon {invited} Personen eingeladen. Bitte "
                    "bestätigen Sie, dass alle eine weitere Einladung bekommen."
                )
        people = recipients(campaign, kind)
        if not people:
            raise _refusal_for_nobody(kind)
        try:
            with transaction.atomic():
                run: InvitationRun = InvitationRun.objects.create(
                    organisation=organisation,
                    campaign=campaign,
                    kind=kind,
                    automatic=automatic,
                    recipients_count=len(people),
                    properties_count=sum(len(person.entries) for person in people),
                    actor=actor.user,
                    actor_label=actor.label,
                )
        except IntegrityError as exc:  # a parallel schedule tick made the automatic one
            raise InvitationsRefused("Die automatische Erinnerung wurde schon gesendet.") from exc
        audit.record(
            "invitations.requested" if kind == RunKind.INVITATION else "reminders.requested",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={"run": run.pk, "recipients": len(people), "automatic": automatic},
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from ablesung.invitations.tasks import build_invitation_run

    build_invitation_run.enqueue(run_id)


def objects_text(accesses: Sequence[IssuedAccess]) -> str:
    """The ``{objekte}`` list: per property its address, object number and link."""
    return texts.objects_list(
        (
            one_line_address(access.property),
            access.property.object_number,
            personal_link(access.token),
        )
        for access in accesses
    )


def _queue(
    run: InvitationRun,
    recipient: InvitationRecipient,
    accesses: Sequence[IssuedAccess],
    text_set: texts.TextSet,
    send_at: datetime.datetime,
) -> None:
    """Queues ``recipient``'s mail with these links (inside the run's transaction)."""
    campaign, organisation = run.campaign, run.organisation
    values = {
        "name": owner_name(accesses[0].property) or NO_OWNER,
        "objekte": objects_text(accesses),
        "stichtag": campaign.key_date.strftime("%d.%m.%Y"),
        "frist": (
            campaign.online_until.strftime("%d.%m.%Y")
            if campaign.online_until
            else texts.NO_DEADLINE
        ),
        "portal": portal_address(),
        "organisation": organisation.name,
    }
    recipient.grant_ids = [access.grant_id for access in accesses]
    recipient.properties = [
        {
            "id": access.property.pk,
            "object_number": access.property.object_number,
            "address": one_line_address(access.property),
        }
        for access in accesses
    ]
    recipient.mail = queue_mail(
        key=f"{run.kind}:{run.pk}:{recipient.pk}:{recipient.attempt}",
        to=recipient.email,
        subject=texts.render(text_set.subject, values),
        text=texts.render(text_set.body, values),
        organisation=organisation,
        reply_to=organisation.contact_email,
        send_at=send_at,
        erase_after=True,
    )
    recipient.save(update_fields=["grant_ids", "properties", "mail", "attempt"])


def build_run(run_id: int) -> str:
    """The job: grants and paced mails for a queued run, in one transaction (idempotent)."""
    with scopes_disabled():
        found = InvitationRun.objects.select_related("organisation").filter(pk=run_id).first()
    if found is None:
        return "missing"
    organisation = found.organisation
    try:
        return _build(run_id, organisation)
    except InvitationsRefused as exc:
        message = str(exc)
    except Exception:
        logger.exception("invitation run %s failed", run_id)
        message = "Die E-Mails konnten nicht vorbereitet werden; es wurde keine versandt."
    with transaction.atomic(durable=True), organisation_scope(organisation):
        InvitationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), message=message
        )
    return RunStatus.FAILED


def _build(run_id: int, organisation: Organisation) -> str:
    with transaction.atomic(durable=True), organisation_scope(organisation):
        run: InvitationRun = (
            InvitationRun.objects.select_for_update()
            .select_related("campaign", "organisation")
            .get(pk=run_id)
        )
        if run.status != RunStatus.QUEUED:
            return str(run.status)
        campaign = Campaign.objects.select_for_update().get(pk=run.campaign_id)
        run.campaign = campaign
        _check_campaign(campaign)
        kind = RunKind(run.kind)
        people = recipients(campaign, kind)
        if not people:
            raise _refusal_for_nobody(kind)
        properties = {
            prop.pk: prop
            for prop in Property.objects.filter(
                pk__in=[entry.property_id for person in people for entry in person.entries]
            )
        }
        issued = {
            access.property.pk: access
            for access in issue_grants(
                campaign,
                list(properties.values()),
                organisation=organisation,
                channel=GrantChannel.MAIL,
            )
        }
        run.started_at = timezone.now()
        text_set = mail_texts(organisation, campaign, kind)
        for person, send_at in zip(people, pace.reserve(len(people)), strict=True):
            recipient = InvitationRecipient.objects.create(
                organisation=organisation, run=run, email=person.email
            )
            accesses = [issued[entry.property_id] for entry in person.entries]
            _queue(run, recipient, accesses, text_set, send_at)
        run.status = RunStatus.DONE
        run.recipients_count = len(people)
        run.properties_count = len(issued)
        run.finished_at = timezone.now()
        run.save()
        audit.record(
            "invitations.queued" if kind == RunKind.INVITATION else "reminders.queued",
            actor=Actor(user=run.actor, label=run.actor_label or "system"),
            organisation=organisation,
            obj=campaign,
            data={"run": run.pk, "recipients": len(people), "properties": len(issued)},
        )
    return RunStatus.DONE


def failed_recipients(run: InvitationRun) -> "list[InvitationRecipient]":
    return list(
        run.recipients.filter(mail__failed_at__isnull=False, mail__sent_at__isnull=True)
        .select_related("mail")
        .order_by("email")
    )


def do_resend_failed(run: InvitationRun, *, actor: Actor) -> int:
    """New links and a new mail for each recipient whose mail was given up.

    The undelivered mail's grants are revoked; returns how many mails were queued. Raises
    :class:`InvitationsRefused` (nothing changed).
    """
    organisation = run.organisation
    with transaction.atomic(durable=True), organisation_scope(organisation):
        run = (
            InvitationRun.objects.select_for_update().select_related("organisation").get(pk=run.pk)
        )
        campaign = Campaign.objects.select_for_update().get(pk=run.campaign_id)
        run.campaign = campaign
        _check_campaign(campaign)
        failed = failed_recipients(run)
        if not failed:
            raise InvitationsRefused("In diesem Lauf gibt es keine fehlgeschlagenen E-Mails.")
        live = {prop.pk: prop for prop in campaign_properties(campaign)}
        wanted = [
            [live[item["id"]] for item in recipient.properties if item["id"] in live]
            for recipient in failed
        ]
        AccessGrant.objects.filter(
            Q(pk__in=[pk for recipient in failed for pk in recipient.grant_ids]),
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        issued = {
            access.property.pk: access
            for access in issue_grants(
                campaign,
                list({prop.pk: prop for props in wanted for prop in props}.values()),
                organisation=organisation,
                channel=GrantChannel.MAIL,
            )
        }
        text_set = mail_texts(organisation, campaign, RunKind(run.kind))
        queued = 0
        for recipient, props, send_at in zip(
            failed, wanted, pace.reserve(len(failed)), strict=True
        ):
            if not props:
                continue
            recipient.attempt += 1
            _queue(run, recipient, [issued[prop.pk] for prop in props], text_set, send_at)
            queued += 1
        audit.record(
            "invitations.resent",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={"run": run.pk, "mails": queued},
        )
    return queued


# --- reminders ---------------------------------------------------------------------------


def reminder_setting(campaign: Campaign) -> ReminderSetting:
    """The campaign's setting, or an unsaved default (off, 7 days) (inside a scope)."""
    found = ReminderSetting.objects.filter(campaign=campaign).first()
    if isinstance(found, ReminderSetting):
        return found
    return ReminderSetting(
        organisation_id=campaign.organisation_id,
        campaign=campaign,
        enabled=False,
        days_before=DEFAULT_REMINDER_DAYS,
    )


def do_save_reminder_setting(
    campaign: Campaign, *, organisation: Organisation, enabled: bool, days_before: int, actor: Actor
) -> ReminderSetting:
    with transaction.atomic(durable=True), organisation_scope(organisation):
        setting: ReminderSetting
        setting, _created = ReminderSetting.objects.update_or_create(
            campaign=campaign,
            defaults={
                "organisation": organisation,
                "enabled": enabled,
                "days_before": days_before,
            },
        )
        audit.record(
            "reminders.setting_changed",
            actor=actor,
            organisation=organisation,
            obj=campaign,
            data={"enabled": enabled, "days_before": days_before},
        )
    return setting


def reminder_day(setting: ReminderSetting, campaign: Campaign) -> datetime.date | None:
    """The day the automatic reminder is due, or ``None`` (off, or no end of the window)."""
    if not setting.enabled or campaign.online_until is None:
        return None
    return campaign.online_until - datetime.timedelta(days=setting.days_before)


def start_due_reminders(today: datetime.date | None = None) -> list[int]:
    """The schedule's job: the automatic reminder of every campaign whose day has come.

    Once per campaign: a unique automatic reminder run per campaign, so a second tick (or
    a second worker) starts nothing. Returns the new runs' ids.
    """
    today = today or timezone.localdate()
    with scopes_disabled():
        reminded = InvitationRun.objects.filter(kind=RunKind.REMINDER, automatic=True)
        settings = list(
            ReminderSetting.objects.filter(
                enabled=True,
                campaign__status=CampaignStatus.OPEN,
                campaign__deleted_at__isnull=True,
                campaign__online_until__gte=today,
                organisation__is_active=True,
            )
            .exclude(campaign__in=reminded.values("campaign"))
            .select_related("campaign", "organisation")
        )
    started = []
    for setting in settings:
        day = reminder_day(setting, setting.campaign)
        if day is None or today < day:
            continue
        try:
            run = do_request_run(
                setting.campaign,
                organisation=setting.organisation,
                kind=RunKind.REMINDER,
                automatic=True,
                actor=Actor.system("Erinnerung (automatisch)"),
            )
        except InvitationsRefused as exc:
            logger.info("automatic reminder for campaign %s: %s", setting.campaign_id, exc)
            continue
        started.append(run.pk)
    return started


def resume_stale_runs(now: datetime.datetime | None = None) -> int:
    """Enqueues the job again for runs queued long ago whose job never ran (worker died)."""
    now = now or timezone.now()
    with scopes_disabled():
        ids = list(
            InvitationRun.objects.filter(
                status=RunStatus.QUEUED, created_at__lt=now - STALE_QUEUED
            ).values_list("pk", flat=True)
        )
    for run_id in ids:
        _enqueue(run_id)
    return len(ids)
