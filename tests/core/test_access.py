"""Issuing and resolving citizen access (service and command)."""

import csv
import io
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    AuditEntry,
    CampaignMeter,
    Meter,
    Property,
    Register,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import (
    do_issue_access,
    live_grant,
    resolve_code,
    resolve_token,
)
from ablesung.core.services.actor import Actor
from tests.conftest import OrgData

ACTOR = Actor.system("test")


def add_property(data: OrgData, number: str, owner: str = "Schmidt") -> Property:
    org = data.organisation
    with scopes_disabled():
        prop = Property.objects.create(
            organisation=org,
            object_number=f"{org.slug}-{number}",
            customer_number=f"{org.slug}-K{number}",
            owner_last_name=owner,
            street="Weg",
        )
        meter = Meter.objects.create(
            organisation=org, property=prop, number=f"{org.slug}-M{number}"
        )
        register = Register.objects.create(organisation=org, meter=meter)
        CampaignMeter.objects.create(organisation=org, campaign=data.campaign, register=register)
    assert isinstance(prop, Property)
    return prop


def issue(data: OrgData) -> Any:
    return do_issue_access(data.campaign, organisation=data.organisation, actor=ACTOR)


def grants_dump() -> str:
    with scopes_disabled():
        return str(serializers.serialize("json", AccessGrant.objects.all()))


def test_one_grant_per_property_with_meters_in_the_campaign(org_a: OrgData) -> None:
    add_property(org_a, "2")
    with scopes_disabled():  # a property without meters in the campaign gets nothing
        Property.objects.create(
            organisation=org_a.organisation, object_number="x", customer_number="y", street="z"
        )
    issued = issue(org_a)
    assert sorted(a.property.object_number for a in issued) == ["stadt-a-1", "stadt-a-2"]
    assert len({a.code for a in issued}) == 2
    with organisation_scope(org_a.organisation):
        assert AccessGrant.objects.count() == 2
        entry = AuditEntry.objects.get(action="access.issued")
    assert entry.data == {"count": 2, "revoked": 0}
    assert not any(a.code in str(entry.data) or a.token in str(entry.data) for a in issued)


def test_codes_and_tokens_are_not_stored_in_plain_text(org_a: OrgData) -> None:
    issued = issue(org_a)
    dump = grants_dump()
    with scopes_disabled():
        audit_dump = serializers.serialize("json", AuditEntry.objects.all())
    for access in issued:
        for secret in (access.code, access.code.replace("-", ""), access.token):
            assert secret not in dump
            assert secret not in audit_dump


def test_token_and_code_resolve_to_the_grant(org_a: OrgData) -> None:
    [access] = issue(org_a)
    assert resolve_token(access.token).pk == access.grant_id  # type: ignore[union-attr]
    grant = resolve_code(access.code.lower().replace("-", " "), org_a.meter.number)
    assert grant is not None
    assert grant.pk == access.grant_id
    assert resolve_code(access.code, org_a.meter.number, organisation=org_a.organisation)
    assert live_grant(access.grant_id) is not None


def test_code_needs_a_meter_of_its_own_property_and_campaign(
    org_a: OrgData, org_b: OrgData
) -> None:
    other = add_property(org_a, "2")
    accesses = {a.property.pk: a for a in issue(org_a)}
    [access_b] = issue(org_b)
    code = accesses[org_a.property.pk].code
    with scopes_disabled():
        other_meter = other.meters.get().number
    assert resolve_code(code, other_meter) is None  # meter of another property
    assert resolve_code(code, "gibt-es-nicht") is None
    assert resolve_code(code, "") is None
    assert resolve_code("0000-0000-000", org_a.meter.number) is None
    assert resolve_code("kein code", org_a.meter.number) is None
    assert resolve_code(access_b.code, org_a.meter.number) is None  # foreign organisation
    assert resolve_code(code, org_a.meter.number, organisation=org_b.organisation) is None


def test_reissuing_revokes_the_old_link_and_code(org_a: OrgData) -> None:
    [old] = issue(org_a)
    [new] = issue(org_a)
    assert resolve_token(old.token) is None
    assert resolve_code(old.code, org_a.meter.number) is None
    assert live_grant(old.grant_id) is None
    assert resolve_token(new.token) is not None
    assert resolve_code(new.code, org_a.meter.number) is not None
    with organisation_scope(org_a.organisation):
        assert [
            e.data["revoked"]
            for e in AuditEntry.objects.filter(action="access.issued").order_by("pk")
        ] == [0, 1]


def test_trashed_property_or_campaign_closes_access(org_a: OrgData) -> None:
    [access] = issue(org_a)
    with scopes_disabled():
        Property.objects.filter(pk=org_a.property.pk).update(deleted_at=org_a.campaign.created_at)
    assert resolve_token(access.token) is None
    assert resolve_code(access.code, org_a.meter.number) is None


def test_malformed_tokens_resolve_to_nothing(org_a: OrgData) -> None:
    issue(org_a)
    for token in ("", "x", "a" * 22, "../../etc/passwd", "ä" * 22):
        assert resolve_token(token) is None


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_command_writes_one_row_per_property(org_a: OrgData, tmp_path: Path, settings: Any) -> None:
    settings.BASE_URL = "https://ablesung.example"
    add_property(org_a, "2", owner="=HYPERLINK(1)")
    out = tmp_path / "zugang.csv"
    call_command(
        "issue_access",
        organisation="stadt-a",
        campaign="Jahresablesung 2026",
        out=str(out),
        stdout=io.StringIO(),
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    header, *rows = read_csv(out)
    assert header == ["Objektnummer", "Kassenzeichen", "Name", "Zugangscode", "Link"]
    assert [row[0] for row in rows] == ["stadt-a-1", "stadt-a-2"]
    assert rows[0][1:3] == ["stadt-a-K1", "Weiß, Monika"]
    assert rows[1][2] == "'=HYPERLINK(1)"  # neutralised
    for row in rows:
        assert row[4].startswith("https://ablesung.example/r/")
        token = row[4].removeprefix("https://ablesung.example/r/")
        assert resolve_token(token) is not None
        assert row[3] not in grants_dump()
        assert token not in grants_dump()
    code = rows[0][3]
    assert resolve_code(code, org_a.meter.number) is not None


def test_command_refuses_to_overwrite(org_a: OrgData, tmp_path: Path) -> None:
    out = tmp_path / "zugang.csv"
    out.write_text("alt")
    with pytest.raises(CommandError, match="nicht überschrieben"):
        call_command(
            "issue_access", organisation="stadt-a", campaign="Jahresablesung 2026", out=str(out)
        )
    assert out.read_text() == "alt"
    with scopes_disabled():
        assert not AccessGrant.objects.exists()


def test_command_refuses_unknown_campaign(org_a: OrgData, org_b: OrgData, tmp_path: Path) -> None:
    out = tmp_path / "zugang.csv"
    with pytest.raises(CommandError, match="gibt es nicht"):
        call_command("issue_access", organisation="stadt-a", campaign="Nichts", out=str(out))
    assert not out.exists()
