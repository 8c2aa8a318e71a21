import pytest
from django_scopes import ScopeError, scopes_disabled

from ablesung.core.models import Meter, Property, Role
from ablesung.core.scoping import organisation_scope, permissions_for
from tests.conftest import OrgData


@pytest.mark.django_db
def test_query_outside_an_organisation_scope_raises(org_a: OrgData) -> None:
    with pytest.raises(ScopeError):
        list(Property.objects.all())


@pytest.mark.django_db
def test_scope_shows_only_the_organisations_rows(org_a: OrgData, org_b: OrgData) -> None:
    with organisation_scope(org_a.organisation):
        assert list(Meter.objects.values_list("number", flat=True)) == ["stadt-a-M1"]
    with scopes_disabled():
        assert Meter.objects.count() == 2


def test_role_permissions_are_nested() -> None:
    viewer, clerk, admin = (permissions_for(r) for r in (Role.VIEWER, Role.CLERK, Role.ADMIN))
    assert viewer == {"view", "view_audit"}
    # the audit log is for admins and viewers (auditors), not for clerks (issue 16)
    assert viewer - {"view_audit"} < clerk < admin
    assert "view_audit" in admin
    assert "view_audit" not in clerk
    assert {"capture", "release", "estimate", "export", "delete", "restore", "import"} <= clerk
    assert "manage_users" in admin
    assert "manage_users" not in clerk
    assert permissions_for("nonsense") == frozenset()
