"""A request body limit on every endpoint, checked before the body is read (413).

The request stream of these tests fails the test when anything reads it: a 413 that comes
after reading would not protect the server. The URL configuration is walked (like
tests/test_isolation.py does), so a new view is covered without editing this file.
"""

import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve

from ablesung.core.body_limit import LIMIT_ATTRIBUTE
from ablesung.core.models import Role
from ablesung.formats import Limits
from tests.conftest import OrgData
from tests.portal.conftest import citizen, form_url, portal_clock  # noqa: F401 (fixtures)
from tests.test_isolation import Route, member_client, walk_routes

MB = 1024 * 1024
TOO_LARGE = "Die gesendeten Daten sind zu groß. Es wurde nichts gespeichert."
#: regex routes (the admin's) with the values that build a path for them
REGEX_VALUES = {"app_label": "core", "url": "gibt-es-nicht/"}
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
#: the upload views and what they must accept (SECURITY.md, "Files")
UPLOADS = {
    "backend:import_upload": 50 * MB,
    "backend:branding_settings": 2 * MB,
    "backend:plausibility_settings": 64 * 1024,  # a consumption profile
    "portal:meter": 10 * MB,
}


class UnreadableBody(io.RawIOBase):
    """``wsgi.input`` that records and refuses every read."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.reads += 1
        pytest.fail("the request body was read before the limit was checked")

    def readline(self, size: int | None = -1) -> bytes:
        self.reads += 1
        pytest.fail("the request body was read before the limit was checked")


def example_path(route: Route) -> str:
    """A path that resolves to ``route``, with made-up values for its kwargs."""
    if route.is_regex:
        missing = set(route.kwargs) - set(REGEX_VALUES)
        assert not missing, f"teach tests/core/test_body_limit.py values for {missing} ({route})"
        path = "/" + _GROUP.sub(lambda m: REGEX_VALUES[m.group(1)], route.route)
        return path.replace("^", "").replace("$", "")
    samples = {"IntConverter": 1, "SlugConverter": "stadt-a", "StringConverter": "x" * 22}
    values = {
        name: samples.get(type(route.converters[name]).__name__, "1") for name in route.kwargs
    }
    return route.path(values)


def limit_of(path: str) -> int:
    limit: int = getattr(resolve(path).func, LIMIT_ATTRIBUTE, settings.REQUEST_BODY_MAX_BYTES)
    return limit


def post_unreadable(client: Client, path: str, **meta: str) -> tuple[Any, UnreadableBody]:
    body = UnreadableBody()
    response = client.generic(
        "POST",
        path,
        content_type="multipart/form-data; boundary=x",
        **{"wsgi.input": body, **meta},  # type: ignore[arg-type]
    )
    return response, body


@pytest.mark.django_db
def test_every_url_refuses_a_body_over_its_limit_unread(client_a: Client) -> None:
    routes = walk_routes()
    raised: dict[str, int] = {}
    for client in (Client(), client_a):  # anonymous, and a clerk's session
        for route in routes:
            path = example_path(route)
            assert resolve(path).route == route.route.replace("^", ""), (path, route)
            limit = limit_of(path)
            if limit != settings.REQUEST_BODY_MAX_BYTES:
                raised[route.name] = limit
            response, body = post_unreadable(client, path, CONTENT_LENGTH=str(limit + 1))
            assert response.status_code == 413, f"{path} ({route}): {response.status_code}"
            assert body.reads == 0
    # a path that resolves to nothing has the small limit as well
    response, body = post_unreadable(
        Client(), "/gibt-es-nicht/", CONTENT_LENGTH=str(settings.REQUEST_BODY_MAX_BYTES + 1)
    )
    assert response.status_code == 413
    # only the uploads allow more than the small default
    assert set(raised) == set(UPLOADS)
    for name, documented in UPLOADS.items():
        assert documented < raised[name] <= documented + 2 * MB, name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "meta",
    [
        {"CONTENT_LENGTH": str(200 * MB)},
        {"CONTENT_LENGTH": str(64 * 1024 + 1)},
        {"HTTP_TRANSFER_ENCODING": "chunked"},  # no length: cannot be checked unread
        {"CONTENT_LENGTH": "viel", "HTTP_TRANSFER_ENCODING": "chunked"},
        {"CONTENT_LENGTH": "-1"},
    ],
)
def test_the_access_form_refuses_large_or_unmeasured_bodies(meta: dict[str, str]) -> None:
    response, body = post_unreadable(Client(), "/zugang/", **meta)
    assert response.status_code == 413
    assert body.reads == 0
    assert TOO_LARGE in response.text
    assert '<h1 class="kern-heading-large">Daten zu groß</h1>' in response.text  # the layout
    assert 'lang="de"' in response.text


@pytest.mark.django_db
def test_a_small_form_passes(org_a: OrgData) -> None:
    response = Client().post("/zugang/", {"code": "ABCD-EFGH-JKM", "meter_number": "x" * 50})
    assert response.status_code == 200
    assert "stimmen nicht" in response.text


@pytest.mark.django_db
def test_the_import_accepts_a_file_of_50_mb(client_a: Client, org_a: OrgData) -> None:
    data = b"Objektnummer;Zaehlernummer\r\n" + b"x" * (Limits().max_bytes - 30)
    upload = SimpleUploadedFile("liste.csv", data, content_type="text/csv")
    response = client_a.post("/o/stadt-a/import/", {"file": upload, "campaign": org_a.campaign.pk})
    assert response.status_code == 400  # the form read it: only the profile is missing
    assert set(response.context["form"].errors) == {"profile"}


@pytest.mark.django_db
def test_the_import_names_its_limit_on_the_413_page(client_a: Client) -> None:
    response, body = post_unreadable(client_a, "/o/stadt-a/import/", CONTENT_LENGTH=str(60 * MB))
    assert response.status_code == 413
    assert "Die Datei ist größer als 50 MB." in response.text
    assert body.reads == 0


@pytest.mark.django_db
def test_the_logo_upload_accepts_2_mb(org_a: OrgData) -> None:
    admin_a = member_client(org_a.organisation, Role.ADMIN)
    logo = SimpleUploadedFile("logo.png", b"\x89PNG" + b"x" * (2 * MB - 4))
    response = admin_a.post("/o/stadt-a/einstellungen/portal/", {"logo": logo})
    assert response.status_code == 400  # the form read it: the other fields are missing
    assert "Daten zu groß" not in response.text


def test_the_reading_form_accepts_a_photo_of_10_mb(
    citizen: Client,  # noqa: F811
    org_a: OrgData,
) -> None:
    photo = SimpleUploadedFile("zaehler.jpg", b"\xff\xd8" + b"x" * (10 * MB - 2))
    response = citizen.post(
        form_url(org_a),
        {f"value_{org_a.register.pk}": "76440", "reading_date": "2026-12-30", "photo": photo},
    )
    assert response.status_code == 400  # the photo was read, and is no image
    assert "Bitte laden Sie ein Foto im Format JPEG" in response.text


@pytest.mark.django_db
def test_upload_sizes_are_for_signed_in_staff_and_portal_sessions_only(
    client_a: Client, org_a: OrgData
) -> None:
    """An anonymous client (or one with a forged portal cookie) gets the small limit on
    the upload views too: only who may upload there may send an upload-sized body."""
    import_path = "/o/stadt-a/import/"
    meter_path = form_url(org_a)
    assert resolve(import_path).url_name == "import_upload"
    size = str(settings.REQUEST_BODY_MAX_BYTES + 1)
    for client, path in ((Client(), import_path), (Client(), meter_path)):
        response, body = post_unreadable(client, path, CONTENT_LENGTH=size)
        assert (path, response.status_code, body.reads) == (path, 413, 0)
    forged = Client()
    forged.cookies[settings.PORTAL_COOKIE_NAME] = "eyJvcmdhbmlzYXRpb24iOjF9:1abc:xyz"
    response, body = post_unreadable(forged, meter_path, CONTENT_LENGTH=size)
    assert (response.status_code, body.reads) == (413, 0)
    # the clerk's upload of the same size reaches the view (which reads the body)
    response = client_a.post(import_path, {"file": SimpleUploadedFile("a.csv", b"x" * int(size))})
    assert response.status_code != 413


def test_a_citizen_with_a_portal_session_may_send_a_photo_sized_body(
    citizen: Client,  # noqa: F811
    org_a: OrgData,
) -> None:
    size = settings.REQUEST_BODY_MAX_BYTES + 1
    body = b'--x\r\nContent-Disposition: form-data; name="comment"\r\n\r\n'
    body += b"x" * (size - len(body) - 7) + b"\r\n--x--"
    response = citizen.generic(
        "POST", form_url(org_a), body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400  # the form read it: the value is missing
