"""Role matrix: viewers read, clerks and admins change; found by walking the URL configuration.

A viewer gets 200 on every page under /o/<org>/ and 403 on every endpoint that writes
(POST-only views, and the POST of views that serve both methods); nothing changes. New views
are covered without editing this file.
"""

from typing import Any

import pytest
from django.test import Client
from django.urls import resolve
from django_scopes import scopes_disabled

from ablesung.core.models import AuditEntry, Campaign, CampaignStatus, Meter, Role
from ablesung.core.scoping import permissions_for
from ablesung.core.services.trash import TRASH_KINDS
from ablesung.exports.models import ExportRun
from tests.conftest import OrgData
from tests.test_isolation import (
    KNOWN_BACKEND_ROUTES,
    add_export_run,
    add_photo,
    add_trashed_records,
    assert_unchanged,
    member_client,
    org_routes,
    requests_for,
    snapshot,
)

#: pages a viewer may not even open (a GET answering 403); add a route name here on purpose only
VIEWER_MAY_NOT_OPEN: frozenset[str] = frozenset(
    {
        # the export's files are downloads for whoever may export (issue 15: "viewer 403
        # for every new action"); the run page itself is readable
        "backend:export_return_file",
        "backend:export_report",
    }
)
#: routes a viewer may POST to (e.g. a search form); add a route name here on purpose only
VIEWER_MAY_POST: frozenset[str] = frozenset()


@pytest.fixture
def trashed_a(org_a: OrgData) -> dict[str, int]:
    return add_trashed_records(org_a)


def _deleted_at(kind: str, pk: int) -> Any:
    with scopes_disabled():
        return TRASH_KINDS[kind].with_trashed.get(pk=pk).deleted_at


def _actions() -> list[str]:
    with scopes_disabled():
        return list(
            AuditEntry.objects.exclude(action__startswith="auth.").values_list("action", flat=True)
        )


@pytest.mark.django_db
def test_viewer_reads_every_page_and_writes_nowhere(
    org_a: OrgData, trashed_a: dict[str, int]
) -> None:
    org = org_a.organisation
    viewer = member_client(org, Role.VIEWER)
    add_photo(org_a)  # the export run comes from tests/conftest.py (one campaign: see there)
    before = snapshot()
    pages: set[str] = set()
    post_only: set[str] = set()
    refused: set[str] = set()
    for route, path in requests_for(org_routes(), org.slug, org, live_only=True):
        get = viewer.get(path)
        post = viewer.post(path)
        if get.status_code == 405:
            post_only.add(route.name)
            assert post.status_code == 403, f"viewer POST {path} ({route}): {post.status_code}"
            assert "errors/403.html" in [t.name for t in post.templates]
            continue
        if route.name in VIEWER_MAY_NOT_OPEN or needs_more_than_view(path):
            assert get.status_code == 403, f"viewer GET {path} ({route}): {get.status_code}"
            refused.add(route.name)
        else:
            assert get.status_code == 200, f"viewer GET {path} ({route}): {get.status_code}"
            pages.add(route.name)
        if route.name not in VIEWER_MAY_POST:
            # a page that only reads refuses POST (405); one that also writes refuses the viewer
            assert post.status_code in {403, 405}, f"viewer POST {path}: {post.status_code}"
    assert {"backend:delete", "backend:restore"} <= post_only
    assert {"backend:export_start", "backend:export_reopen", "backend:export_resend"} <= post_only
    assert refused >= VIEWER_MAY_NOT_OPEN
    assert {"backend:export", "backend:export_run"} <= pages
    assert KNOWN_BACKEND_ROUTES - {"backend:delete", "backend:restore"} <= pages | refused
    assert_unchanged(before)


def needs_more_than_view(path: str) -> bool:
    """The view's ``require_permission`` asks for more than a viewer has (e.g. import, user
    management); the audit log is for viewers too."""
    required = getattr(resolve(path).func, "required_permission", "view")
    return required not in permissions_for(Role.VIEWER)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(TRASH_KINDS))
def test_viewer_may_neither_delete_nor_restore(
    org_a: OrgData, trashed_a: dict[str, int], kind: str
) -> None:
    org = org_a.organisation
    live = getattr(org_a, kind).pk
    viewer = member_client(org, Role.VIEWER)
    actions = _actions()
    delete = viewer.post(f"/o/{org.slug}/loeschen/{kind}/{live}/")
    restore = viewer.post(f"/o/{org.slug}/papierkorb/{kind}/{trashed_a[kind]}/wiederherstellen/")
    assert delete.status_code == restore.status_code == 403
    assert _deleted_at(kind, live) is None
    assert _deleted_at(kind, trashed_a[kind]) is not None
    assert _actions() == actions


#: kinds only admins put into the trash (destructive campaign actions are for admins)
ADMIN_ONLY_DELETE = frozenset({"campaign"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (kind, role)
        for kind in TRASH_KINDS
        for role in (Role.CLERK, Role.ADMIN)
        if not (role == Role.CLERK and kind in ADMIN_ONLY_DELETE)
    ],
)
def test_clerk_and_admin_delete_and_restore(org_a: OrgData, role: str, kind: str) -> None:
    org = org_a.organisation
    pk = getattr(org_a, kind).pk
    client = member_client(org, role)

    deleted = client.post(f"/o/{org.slug}/loeschen/{kind}/{pk}/")
    assert deleted.status_code == 302
    assert _deleted_at(kind, pk) is not None
    trash = client.get(f"/o/{org.slug}/papierkorb/")
    assert trash.status_code == 200
    sections = trash.context["sections"]
    assert pk in [row["obj"].pk for s in sections if s["kind"] == kind for row in s["rows"]]

    restored = client.post(f"/o/{org.slug}/papierkorb/{kind}/{pk}/wiederherstellen/")
    assert restored.status_code == 302
    assert restored["Location"] == f"/o/{org.slug}/papierkorb/"
    assert _deleted_at(kind, pk) is None
    assert _actions()[:2] == [f"{kind}.restored", f"{kind}.deleted"]
    if kind == "property":  # the meters went along and came back
        with scopes_disabled():
            assert Meter.with_trashed.get(pk=org_a.meter.pk).deleted_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(ADMIN_ONLY_DELETE))
def test_clerk_may_not_delete_what_only_admins_delete(org_a: OrgData, kind: str) -> None:
    org = org_a.organisation
    pk = getattr(org_a, kind).pk
    clerk = member_client(org, Role.CLERK)
    actions = _actions()
    assert clerk.post(f"/o/{org.slug}/loeschen/{kind}/{pk}/").status_code == 403
    assert _deleted_at(kind, pk) is None
    assert _actions() == actions


@pytest.mark.django_db
def test_viewer_sees_the_pages_of_their_organisation(org_a: OrgData) -> None:
    org = org_a.organisation
    viewer: Client = member_client(org, Role.VIEWER)
    for path in (
        f"/o/{org.slug}/",
        f"/o/{org.slug}/ableseaktionen/{org_a.campaign.pk}/",
        f"/o/{org.slug}/zaehler/",
        f"/o/{org.slug}/papierkorb/",
    ):
        response = viewer.get(path)
        assert response.status_code == 200, path
        assert org.name in response.text


# --- close and export: what only admins may do ------------------------------------------------


@pytest.mark.django_db
def test_clerk_may_neither_reopen_an_export_nor_change_its_settings(org_a: OrgData) -> None:
    org = org_a.organisation
    run = add_export_run(org_a)
    clerk = member_client(org, Role.CLERK)
    before = snapshot()
    actions = _actions()
    reopen = clerk.post(f"/o/{org.slug}/ableseaktionen/{run.campaign_id}/export/wieder-oeffnen/")
    settings_page = clerk.get(f"/o/{org.slug}/einstellungen/export/")
    settings_post = clerk.post(
        f"/o/{org.slug}/einstellungen/export/",
        {"recipients": "clerk@stadt-a.example", "delivery": "link"},
    )
    assert (reopen.status_code, settings_page.status_code, settings_post.status_code) == (
        403,
        403,
        403,
    )
    with scopes_disabled():
        assert Campaign.objects.get(pk=run.campaign_id).status == CampaignStatus.EXPORTED
    assert _actions() == actions
    assert_unchanged(before)


#: what a clerk may not do: manage users, read the audit log (admins and viewers only)
CLERK_MAY_NOT = frozenset({"manage_users", "view_audit"})


@pytest.mark.django_db
def test_clerk_gets_403_on_every_user_management_and_audit_route(org_a: OrgData) -> None:
    org = org_a.organisation
    clerk = member_client(org, Role.CLERK)
    before = snapshot()
    refused: set[str] = set()
    for route, path in requests_for(org_routes(), org.slug, org, live_only=True):
        required = getattr(resolve(path).func, "required_permission", "view")
        if required not in CLERK_MAY_NOT:
            continue
        for method in (clerk.get, clerk.post):
            response = method(path)
            assert response.status_code in {403, 405}, f"clerk {path} ({route})"
        refused.add(route.name)
    assert {
        "backend:users",
        "backend:user_invite",
        "backend:user_detail",
        "backend:user_role",
        "backend:user_deactivate",
        "backend:user_reactivate",
        "backend:invitation_revoke",
        "backend:two_factor_requirement",
        "backend:audit_log",
        "backend:audit_log_csv",
    } <= refused
    assert_unchanged(before)


@pytest.mark.django_db
def test_clerk_may_not_export_unreleased_readings(org_a: OrgData) -> None:
    org = org_a.organisation
    with scopes_disabled():
        Campaign.objects.filter(pk=org_a.campaign.pk).update(status=CampaignStatus.CLOSED)
        org.settings = {**org.settings, "export_recipients": ["abrechnung@stadt-a.example"]}
        org.save(update_fields=["settings"])
    clerk = member_client(org, Role.CLERK)
    before = snapshot()
    response = clerk.post(
        f"/o/{org.slug}/ableseaktionen/{org_a.campaign.pk}/export/starten/", {"selection": "all"}
    )
    assert response.status_code == 400
    assert (
        "Nur Administrator:innen können auch nicht freigegebene Zählerstände exportieren."
        in response.text
    )
    assert_unchanged(before)
    with scopes_disabled():
        assert not ExportRun.objects.filter(campaign=org_a.campaign, number__gt=1).exists()


@pytest.mark.django_db
def test_admin_opens_every_page_of_the_organisation(org_a: OrgData) -> None:
    """Every GET page under /o/<org>/ answers an admin with 200 (the new users and audit
    pages included)."""
    org = org_a.organisation
    admin = member_client(org, Role.ADMIN)
    add_photo(org_a)
    opened: set[str] = set()
    for route, path in requests_for(org_routes(), org.slug, org, live_only=True):
        response = admin.get(path)
        if response.status_code == 405:
            continue
        assert response.status_code == 200, f"admin GET {path} ({route}): {response.status_code}"
        opened.add(route.name)
    assert {"backend:users", "backend:user_detail", "backend:audit_log"} <= opened
