"""``django.tasks`` entry points of invitation and reminder mails (ids only, never a secret)."""

from django.tasks import task


@task()
def build_invitation_run(run_id: int) -> str:
    """Issues the links of a queued run and queues its paced mails (idempotent)."""
    from ablesung.invitations.services import build_run

    return build_run(run_id)


@task()
def start_due_reminders() -> list[int]:
    """Daily: the automatic reminder of every campaign whose day has come (once each)."""
    from ablesung.invitations.services import start_due_reminders as start

    return start()
