import re
from pathlib import Path

import pytest
from django.test import Client

import ablesung
from ablesung.core.audit_actions import ACTIONS, UnknownAction
from ablesung.core.models import AppendOnlyError, AuditEntry
from ablesung.core.services import audit
from ablesung.core.services.actor import Actor
from ablesung.core.services.trash import TRASH_KINDS
from tests.conftest import PASSWORD, OrgData


@pytest.mark.django_db
def test_audit_entries_cannot_be_changed_or_deleted(org_a: OrgData) -> None:
    entry = audit.record(
        "campaign.opened",
        actor=Actor.system(),
        organisation=org_a.organisation,
        data={"label": "x"},
    )
    entry.action = "campaign.closed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "campaign.opened"


@pytest.mark.django_db
def test_redaction_keeps_the_entry_and_non_personal_data(org_a: OrgData) -> None:
    entry = audit.record(
        "property.deleted",
        actor=Actor.system(),
        organisation=org_a.organisation,
        obj=org_a.property,
        data={"label": "Weiß, Monika", "meters": [1, 2]},
    )
    assert audit.redact_entries(type(org_a.property), [org_a.property.pk]) == 1
    entry.refresh_from_db()
    assert entry.data == {"label": audit.REDACTED, "meters": [1, 2]}
    assert entry.action == "property.deleted"
    assert audit.redact_entries(type(org_a.property), [org_a.property.pk]) == 0


@pytest.mark.django_db
def test_logins_and_failed_logins_are_audited_with_client_ip(clerk_a: object) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.post("/konto/anmelden/", {"username": "clerk@stadt-a.example", "password": "falsch"})
    client.post("/konto/anmelden/", {"username": "CLERK@stadt-a.example", "password": PASSWORD})
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.client_ip == "203.0.113.7"
    assert failed.actor is None
    ok = AuditEntry.objects.get(action="auth.login")
    assert ok.actor == clerk_a
    assert ok.client_ip == "203.0.113.7"
    # both in the log of the member's organisation, in UTC
    assert failed.organisation is not None
    assert failed.organisation == ok.organisation
    assert ok.created_at.utcoffset() is not None


@pytest.mark.django_db
def test_record_refuses_an_unregistered_action(org_a: OrgData) -> None:
    with pytest.raises(UnknownAction):
        audit.record("test.done", actor=Actor.system(), organisation=org_a.organisation)
    assert not AuditEntry.objects.filter(action="test.done").exists()


def test_every_action_code_in_the_source_is_registered_with_a_german_text() -> None:
    """Literal codes passed to ``audit.record`` (and to the bulk writers) are registered;
    the trash's ``f"{kind}.deleted"``/``restored`` codes for every trash kind too."""
    source = Path(ablesung.__file__).parent
    # every literal "<namespace>.<verb>" of a registered namespace, wherever it stands
    # (conditional codes, helpers such as _audit_result); "trash.purge" is a schedule job
    namespaces = "|".join(sorted({code.split(".")[0] for code in ACTIONS}))
    literal = re.compile(rf'"((?:{namespaces})\.[a-z_]+)"')
    found = {code for path in source.rglob("*.py") for code in literal.findall(path.read_text())}
    found -= {"trash.purge"}
    found |= {f"{kind}.{verb}" for kind in TRASH_KINDS for verb in ("deleted", "restored")}
    assert len(found) > 30
    assert found <= set(ACTIONS), sorted(found - set(ACTIONS))
    for code, text in ACTIONS.items():
        assert str(text).strip()
        assert str(text) != code
