"""The reading-letters page of a campaign: counts, making letters, confirmation, download."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import Role
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import resolve_code
from ablesung.letters.models import LetterBatch, LetterStatus
from ablesung.letters.services import letters_made
from tests.conftest import OrgData
from tests.core.test_access import add_property
from tests.html_tree import attributes, find, find_all, parse, text
from tests.letters.pdfcheck import page_texts
from tests.test_isolation import member_client

CODE = re.compile(r"Zugangscode:\s*([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{3})")


def page_url(data: OrgData) -> str:
    return f"/o/{data.organisation.slug}/ableseaktionen/{data.campaign.pk}/briefe/"


def made(data: OrgData) -> int:
    with organisation_scope(data.organisation):
        return letters_made(data.campaign)


def start(client: Client, data: OrgData, capture: Any, **fields: str) -> Any:
    fields.setdefault("selection", "all")
    fields.setdefault("confirmed_made", str(made(data)))
    with capture(execute=True):
        return client.post(page_url(data) + "erstellen/", fields)


def newest(data: OrgData) -> LetterBatch:
    with scopes_disabled():
        batch: LetterBatch = LetterBatch.objects.filter(campaign=data.campaign).latest("pk")
    return batch


def test_the_campaign_page_links_to_the_letters(org_a: OrgData, client_a: Client) -> None:
    detail = client_a.get(f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/")
    assert page_url(org_a) in [attributes(a)["href"] for a in find_all(parse(detail.text), "a")]


def test_the_page_shows_counts_and_asks_to_confirm(org_a: OrgData, client_a: Client) -> None:
    add_property(org_a, "2")
    tree = parse(client_a.get(page_url(org_a)).text)
    body = text(tree)
    assert text(find(tree, "h1")) == "Ablesebriefe"
    assert "Objekte mit Zählern 2" in body
    assert "davon ohne E-Mail-Adresse 2" in body
    assert "Bisher erstellte Briefe 1" in body  # tests/conftest.py's stored batch
    assert "Für diese Ableseaktion wurde schon 1 Ablesebrief erstellt." in body
    radios = find_all(tree, "input", name="selection")
    assert [attributes(r)["value"] for r in radios] == [
        "all",
        "without_email",
        "object_numbers",
        "reminder",
        "street",
        "district",
    ]
    assert attributes(find(tree, "input", name="confirmed_made"))["value"] == "1"


def test_without_confirmation_nothing_is_made(
    org_a: OrgData, client_a: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = start(client_a, org_a, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "Bitte bestätigen Sie" in response.text
    with scopes_disabled():
        assert LetterBatch.objects.filter(campaign=org_a.campaign).count() == 1


def test_a_stale_confirmation_is_refused(
    org_a: OrgData, client_a: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = start(
        client_a, org_a, django_capture_on_commit_callbacks, confirm="on", confirmed_made="0"
    )
    assert response.status_code == 302
    page = client_a.get(response["Location"])
    assert "wurden schon 1 Ablesebriefe erstellt" in page.text
    assert made(org_a) == 1


def test_a_clerk_makes_letters_and_downloads_the_pdf(
    org_a: OrgData, client_a: Client, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    response = start(client_a, org_a, django_capture_on_commit_callbacks, confirm="on")
    batch = newest(org_a)
    assert response.status_code == 302
    assert response["Location"] == f"/o/stadt-a/briefe/{batch.pk}/"
    assert batch.status == LetterStatus.SUCCEEDED
    assert batch.actor_label == "clerk@stadt-a.example"
    page = client_a.get(response["Location"])
    assert "Die Ablesebriefe werden erstellt." in page.text
    assert "1 Ablesebrief (1 Seiten) am" in text(parse(page.text))
    assert "hx-get" not in page.text  # finished: no more polling
    download = client_a.get(f"/o/stadt-a/briefe/{batch.pk}/pdf/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    path = tmp_path / "download.pdf"
    path.write_bytes(download.getvalue())
    [letter] = page_texts(path)
    code = CODE.search(letter)
    assert code is not None
    grant = resolve_code(code.group(1), "stadt-a-M1")
    assert grant is not None
    assert grant.property_id == org_a.property.pk


def test_a_pending_batch_polls_and_works_without_javascript(
    org_a: OrgData, client_a: Client
) -> None:
    batch = newest(org_a)
    with scopes_disabled():
        LetterBatch.objects.filter(pk=batch.pk).update(status=LetterStatus.RUNNING)
    url = f"/o/stadt-a/briefe/{batch.pk}/"
    tree = parse(client_a.get(url).text)
    status = find(tree, "div", id="letter-status")
    # polled with the count seen so far, so the live region speaks only when it moved
    assert attributes(status)["hx-get"] == f"{url}?gesehen={batch.done}"
    assert "Wird erstellt" in text(status)
    assert url in [attributes(a)["href"] for a in find_all(status, "a")]  # reload link
    partial = client_a.get(url, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="letter-status"')


@pytest.mark.parametrize("role", [Role.VIEWER])
def test_a_viewer_sees_the_page_but_neither_makes_nor_downloads(
    org_a: OrgData, role: str, django_capture_on_commit_callbacks: Any
) -> None:
    viewer = member_client(org_a.organisation, role)
    tree = parse(viewer.get(page_url(org_a)).text)
    assert not find_all(tree, "form", action=page_url(org_a) + "erstellen/")
    assert "Briefe erstellen" not in text(tree)
    batch = newest(org_a)
    assert viewer.get(f"/o/stadt-a/briefe/{batch.pk}/pdf/").status_code == 403
    assert "es laden Sachbearbeiter:innen" in viewer.get(f"/o/stadt-a/briefe/{batch.pk}/").text
    response = start(viewer, org_a, django_capture_on_commit_callbacks, confirm="on")
    assert response.status_code == 403
    assert made(org_a) == 1
