"""Tenant isolation, proven for every view under /o/<org>/ by walking the URL configuration.

New views are covered without editing this file: every route with an ``org`` kwarg is
requested as a member of organisation A with organisation B's slug and B's objects, and with
A's slug but B's object ids. Every answer is 404 and the database does not change. A kwarg the
walker does not know how to fill fails the test (teach the walker, never skip).

The helpers (``walk_routes``, ``org_routes``, ``kwarg_sets``, ``snapshot`` …) are reused by
tests/test_roles.py and tests/test_production.py.
"""

import datetime
import hashlib
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from django_scopes import scopes_disabled

from ablesung.accounts.models import User
from ablesung.core.models import (
    AuditEntry,
    Campaign,
    Meter,
    Organisation,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
    Role,
)
from ablesung.core.scoping import ORG_URL_KWARG
from ablesung.core.services.actor import Actor
from ablesung.core.services.trash import TRASH_KINDS, do_delete_record
from ablesung.exports import services as export_services
from ablesung.exports.models import ExportRun, ExportStatus
from tests.conftest import OrgData, make_member
from tests.core.campaign_builder import Builder

#: routes that must exist, so that the walk cannot pass vacuously
KNOWN_BACKEND_ROUTES = frozenset(
    {
        "backend:dashboard",
        "backend:campaign_detail",
        "backend:meter_list",
        "backend:trash",
        "backend:delete",
        "backend:restore",
    }
)
#: apps whose models hold the data (the test snapshots every row of every model)
DATA_APPS = ("core", "accounts", "exports", "letters", "invitations")
KIND_KWARG = "kind"
OBJECT_ID_KWARG = "object_id"
ID_SUFFIX = "_id"
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


# --- walking the URL configuration ------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern with its full route (all prefixes joined) and its kwarg names."""

    route: str
    name: str
    kwargs: tuple[str, ...]
    converters: Mapping[str, Any] = field(default_factory=dict)
    is_regex: bool = False

    def __str__(self) -> str:
        return f"{self.name or '<unnamed>'} ({self.route})"

    def path(self, values: Mapping[str, Any]) -> str:
        """The URL path for these kwarg values (route patterns only)."""
        if self.is_regex:
            pytest.fail(
                f"teach tests/test_isolation.py how to build regex route {self.route!r} "
                "(or use path() instead of re_path())"
            )

        def substitute(match: re.Match[str]) -> str:
            name = match.group("parameter")
            return str(self.converters[name].to_url(values[name]))

        built = "/" + _PARAMETER.sub(substitute, self.route)
        match = resolve(built)
        assert {key: str(match.kwargs.get(key)) for key in self.kwargs} == {
            key: str(values[key]) for key in self.kwargs
        }, f"{built} does not resolve back to {self}"
        return built


def _kwarg_names(pattern: Any) -> tuple[tuple[str, ...], Mapping[str, Any], bool]:
    if isinstance(pattern, RoutePattern):
        names = tuple(m.group("parameter") for m in _PARAMETER.finditer(str(pattern)))
        return names, dict(pattern.converters), False
    regex = getattr(pattern, "regex", None)
    groups = tuple(regex.groupindex) if regex is not None else ()
    return groups, {}, bool(str(pattern))


def walk_routes(
    patterns: Sequence[URLPattern | URLResolver] | None = None,
    prefix: str = "",
    namespace: str = "",
    kwargs: tuple[str, ...] = (),
    converters: Mapping[str, Any] | None = None,
    is_regex: bool = False,
) -> list[Route]:
    """Every URL pattern of the project, recursively through include()."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    found: list[Route] = []
    for entry in patterns:
        names, own_converters, regex = _kwarg_names(entry.pattern)
        route = prefix + str(entry.pattern)
        all_kwargs = kwargs + tuple(name for name in names if name not in kwargs)
        all_converters = {**(converters or {}), **own_converters}
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += walk_routes(
                entry.url_patterns, route, inner, all_kwargs, all_converters, is_regex or regex
            )
        else:
            name = f"{namespace}{entry.name}" if entry.name else ""
            found.append(Route(route, name, all_kwargs, all_converters, is_regex or regex))
    return found


def org_routes() -> list[Route]:
    """Every route under an organisation (the ones with an ``org`` kwarg)."""
    routes = [route for route in walk_routes() if ORG_URL_KWARG in route.kwargs]
    names = {route.name for route in routes}
    missing = KNOWN_BACKEND_ROUTES - names
    assert not missing, f"the URL walk did not find {sorted(missing)} (found {sorted(names)})"
    return routes


# --- filling the kwargs -----------------------------------------------------------------------


def _teach(kwarg: str, route: Route, why: str = "") -> None:
    pytest.fail(
        f"teach tests/test_isolation.py how to fill kwarg {kwarg!r} in route {route}"
        + (f": {why}" if why else "")
    )


def model_for_kwarg(kwarg: str, route: Route) -> type[models.Model]:
    """``campaign_id`` → Campaign, ``campaign_meter_id`` → CampaignMeter (in DATA_APPS)."""
    stem = kwarg.removesuffix(ID_SUFFIX)
    class_name = "".join(part.capitalize() for part in stem.split("_"))
    for app_label in DATA_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__ == class_name:
                return model
    _teach(kwarg, route, f"no model {class_name} in apps {DATA_APPS}")
    raise AssertionError("unreachable")


def object_ids(
    model: type[models.Model], organisation: Organisation, *, live_only: bool, what: str
) -> list[Any]:
    """Primary keys of this organisation's rows (live and trashed unless ``live_only``)."""
    field_names = {f.name for f in model._meta.get_fields()}
    with scopes_disabled():
        queryset: models.QuerySet[Any]
        if model is User:
            queryset = model._base_manager.filter(memberships__organisation=organisation)
        elif "organisation" in field_names:
            queryset = model._base_manager.filter(organisation=organisation)
        else:
            pytest.fail(
                f"teach tests/test_isolation.py which {model.__name__} rows belong to {what}"
            )
        if live_only and "deleted_at" in field_names:
            queryset = queryset.filter(deleted_at__isnull=True)
        ids = sorted(set(queryset.values_list("pk", flat=True)))
    assert ids, f"{organisation.slug} has no {model.__name__} for {what}: extend the test data"
    return ids


def kwarg_sets(
    route: Route, slug: str, objects_of: Organisation, *, live_only: bool = False
) -> list[dict[str, Any]]:
    """Every combination of kwargs for a route: ``org`` = slug, ids = objects of ``objects_of``.

    ``kind`` + ``object_id`` (trash views) give one set per kind in TRASH_KINDS and per live
    *and* trashed object of that kind (delete needs live ones, restore trashed ones).
    ``<kind>_id`` gives one set per object of the same-named model (live only if asked).
    """
    choices: list[list[dict[str, Any]]] = [[{ORG_URL_KWARG: slug}]]
    for kwarg in route.kwargs:
        if kwarg == ORG_URL_KWARG:
            continue
        if kwarg == KIND_KWARG:
            if OBJECT_ID_KWARG not in route.kwargs:
                _teach(kwarg, route, "'kind' without 'object_id'")
            choices.append(
                [
                    {KIND_KWARG: kind, OBJECT_ID_KWARG: pk}
                    for kind, model in TRASH_KINDS.items()
                    for pk in object_ids(model, objects_of, live_only=False, what=str(route))
                ]
            )
        elif kwarg == OBJECT_ID_KWARG:
            if KIND_KWARG not in route.kwargs:
                _teach(kwarg, route, "'object_id' without 'kind'")
        elif kwarg.endswith(ID_SUFFIX):
            model = model_for_kwarg(kwarg, route)
            choices.append(
                [
                    {kwarg: pk}
                    for pk in object_ids(model, objects_of, live_only=live_only, what=str(route))
                ]
            )
        else:
            _teach(kwarg, route)
    sets: list[dict[str, Any]] = []
    for combination in itertools.product(*choices):
        values: dict[str, Any] = {}
        for part in combination:
            values.update(part)
        sets.append(values)
    return sets


def requests_for(
    routes: Sequence[Route], slug: str, objects_of: Organisation, *, live_only: bool = False
) -> Iterator[tuple[Route, str]]:
    for route in routes:
        for values in kwarg_sets(route, slug, objects_of, live_only=live_only):
            yield route, route.path(values)


# --- the database snapshot --------------------------------------------------------------------


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a hash of every value of every model in ``DATA_APPS``."""
    state: dict[str, tuple[int, str]] = {}
    with scopes_disabled():
        for app_label in DATA_APPS:
            for model in apps.get_app_config(app_label).get_models():
                queryset = model._base_manager.order_by("pk")
                if model is AuditEntry:
                    queryset = queryset.exclude(action="auth.login")
                rows = list(queryset.values_list())
                digest = hashlib.sha256(repr(rows).encode()).hexdigest()
                state[model._meta.label] = (len(rows), digest)
    return state


def assert_unchanged(before: dict[str, tuple[int, str]]) -> None:
    after = snapshot()
    changed = sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )
    assert not changed, f"the requests changed {changed}"


# --- test data ------------------------------------------------------------------------------------


def add_trashed_records(data: OrgData) -> dict[str, int]:
    """Puts one record of every trash kind into the organisation's trash (through the service)."""
    org = data.organisation
    slug = org.slug
    with scopes_disabled():
        campaign = Campaign.objects.create(
            organisation=org, name="Gelöschte Aktion", key_date=datetime.date(2025, 12, 31)
        )
        prop = Property.objects.create(
            organisation=org,
            object_number=f"{slug}-2",
            customer_number=f"{slug}-K2",
            owner_last_name="Gelöscht",
            street="Alte Straße",
        )
        Meter.objects.create(organisation=org, property=prop, number=f"{slug}-M3")
        meter = Meter.objects.create(organisation=org, property=data.property, number=f"{slug}-M2")
        register = Register.objects.create(organisation=org, meter=meter)
        reading = Reading.objects.create(
            organisation=org,
            campaign=data.campaign,
            register=register,
            version=1,
            is_effective=True,
            value=Decimal(12),
            reading_date=datetime.date(2026, 12, 30),
            source=ReadingSource.PHONE,
        )
    trashed = {
        "reading": reading.pk,
        "meter": meter.pk,
        "property": prop.pk,
        "campaign": campaign.pk,
    }
    assert set(trashed) == set(TRASH_KINDS), "add_trashed_records misses a kind of TRASH_KINDS"
    for kind, pk in trashed.items():
        do_delete_record(kind, pk, organisation=org, actor=Actor.system("test setup"))
    return trashed


def add_export_run(data: OrgData) -> ExportRun:
    """A closed campaign of the organisation, exported through the service: a built run with
    its files and one mail (tests/conftest.py adds a stored run to every organisation too)."""
    org = data.organisation
    builder = Builder.campaign_of(org, "Exportierte Aktion")
    builder.line("read")
    builder.reading("read", 1300, state=ReviewState.RELEASED)
    actor = Actor.system("test setup")
    export_services.do_update_export_settings(
        org, addresses=[f"abrechnung@{org.slug}.example"], delivery="attachment", actor=actor
    )
    run = export_services.do_export_campaign(builder.campaign, actor=actor, enqueue=False)
    assert export_services.build_run(run.pk) == "succeeded"
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == ExportStatus.SUCCEEDED
    assert run.return_file
    assert run.report_file
    return run


def add_photo(data: OrgData) -> None:
    """Gives the organisation's reading a stored photo: the staff-only photo route
    (backend:reading_photo) answers 404 for a reading without one."""
    with scopes_disabled():
        data.reading.photo.save("zaehler.jpg", ContentFile(b"\xff\xd8\xff\xd9"), save=True)


def secrets_of(data: OrgData) -> list[str]:
    """Strings that identify an organisation's data; none may appear in the other's answers."""
    return [
        data.organisation.name,
        data.meter.number,
        data.property.object_number,
        data.property.customer_number,
        f"{data.organisation.slug}-M2",
    ]


def assert_redirects_to_login(response: HttpResponseBase, path: str) -> None:
    assert response.status_code == 302, f"{path}: {response.status_code}"
    location = urlsplit(response["Location"])
    assert location.path == reverse("accounts:login"), f"{path}: redirected to {location}"
    assert parse_qs(location.query) == {"next": [path]}, f"{path}: redirected to {location}"


@dataclass
class World:
    a: OrgData
    b: OrgData
    trashed_b: dict[str, int]
    export_run_b: ExportRun


@pytest.fixture
def world(org_a: OrgData, org_b: OrgData) -> World:
    make_member(org_b.organisation, "clerk@stadt-b.example", Role.CLERK)
    add_trashed_records(org_a)
    trashed_b = add_trashed_records(org_b)
    add_export_run(org_a)
    return World(org_a, org_b, trashed_b, add_export_run(org_b))


def member_client(org: Organisation, role: str) -> Client:
    user = make_member(org, f"{role}@{org.slug}.example", role)
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


# --- the tests ------------------------------------------------------------------------------------


def test_the_walk_finds_every_backend_route() -> None:
    routes = org_routes()
    by_name = {route.name: route for route in routes}
    assert by_name["backend:campaign_detail"].kwargs == ("org", "campaign_id")
    assert by_name["backend:delete"].kwargs == ("org", "kind", "object_id")
    # every route under /o/<org>/ is a route pattern the walker can build
    assert all(not route.is_regex for route in routes)


@pytest.mark.django_db
def test_the_walk_fills_every_kwarg_with_objects_of_the_organisation(world: World) -> None:
    org_b = world.b.organisation
    for route in org_routes():
        for values in kwarg_sets(route, org_b.slug, org_b):
            match = resolve(route.path(values))
            assert match.kwargs[ORG_URL_KWARG] == org_b.slug
    restore = next(route for route in org_routes() if route.name == "backend:restore")
    restore_targets = {(v[KIND_KWARG], v[OBJECT_ID_KWARG]) for v in kwarg_sets(restore, "x", org_b)}
    assert set(world.trashed_b.items()) <= restore_targets
    export_run = next(route for route in org_routes() if route.name == "backend:export_run")
    assert world.export_run_b.pk in {v["export_run_id"] for v in kwarg_sets(export_run, "x", org_b)}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLERK, Role.VIEWER])
def test_member_of_a_gets_404_for_every_route_of_b(world: World, role: str) -> None:
    client = member_client(world.a.organisation, role)
    org_b = world.b.organisation
    before = snapshot()
    checked = 0
    for route, path in requests_for(org_routes(), org_b.slug, org_b):
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 404, f"{method.__name__.upper()} {path} ({route})"
            for secret in secrets_of(world.b):
                assert secret not in response.text, f"{path} shows {secret!r}"
            checked += 1
    assert checked >= 2 * len(KNOWN_BACKEND_ROUTES)
    assert_unchanged(before)


@pytest.mark.django_db
def test_member_of_a_gets_404_for_ids_of_b_under_their_own_organisation(world: World) -> None:
    client = member_client(world.a.organisation, Role.ADMIN)
    org_a, org_b = world.a.organisation, world.b.organisation
    routes = [route for route in org_routes() if set(route.kwargs) - {ORG_URL_KWARG}]
    assert {"backend:campaign_detail", "backend:delete", "backend:restore"} <= {
        route.name for route in routes
    }
    before = snapshot()
    for route, path in requests_for(routes, org_a.slug, org_b):
        get, post = client.get(path), client.post(path)
        statuses = (get.status_code, post.status_code)
        # a view for one method answers 405 to the other; the method it serves must say 404
        assert statuses in {(404, 404), (405, 404), (404, 405)}, (
            f"GET/POST {path} ({route}): {statuses}"
        )
        for response in (get, post):
            for secret in secrets_of(world.b):
                assert secret not in response.text, f"{path} shows {secret!r}"
    assert_unchanged(before)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login(world: World) -> None:
    client = Client()
    org_b = world.b.organisation
    before = snapshot()
    for _route, path in requests_for(org_routes(), org_b.slug, org_b):
        assert_redirects_to_login(client.get(path), path)
        assert_redirects_to_login(client.post(path), path)
    assert_unchanged(before)
