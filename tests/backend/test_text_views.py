"""The texts pages: the organisation's texts (admins edit), a campaign's letter text (clerks
edit), errors at the field, the escaped HTML preview, the preview PDF without access, the
letters page's street and place selection."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import AccessGrant, AuditEntry, Property, Role
from ablesung.letters.models import CustomText, LetterBatch
from tests.conftest import OrgData
from tests.html_tree import attributes, find, parse, text
from tests.letters.pdfcheck import page_texts
from tests.test_isolation import member_client


def texts_url(data: OrgData, art: str = "brief") -> str:
    return f"/o/{data.organisation.slug}/einstellungen/texte/?art={art}"


def campaign_url(data: OrgData, suffix: str = "") -> str:
    return f"/o/{data.organisation.slug}/ableseaktionen/{data.campaign.pk}/briefe/texte/{suffix}"


def stored() -> list[tuple[Any, ...]]:
    with scopes_disabled():
        return list(CustomText.objects.values_list("campaign_id", "kind", "subject", "body"))


def test_a_wrong_placeholder_is_shown_at_the_field_and_nothing_is_stored(org_a: OrgData) -> None:
    admin = member_client(org_a.organisation, Role.ADMIN)
    response = admin.post(
        texts_url(org_a),
        {"art": "brief", "aktion": "speichern", "subject": "Ablesung", "body": "Hallo {vorname}"},
    )
    assert response.status_code == 400
    tree = parse(response.text)
    error = find(tree, "p", id="id_body_error")
    assert "Unbekannter Platzhalter {vorname}" in text(error)
    assert "{name}" in text(error)  # names what is allowed
    assert "Höchstens 9 Zeilen im Brief" in text(find(tree, "div", id="id_body_helptext"))
    assert attributes(find(tree, "textarea", id="id_body"))["aria-invalid"] == "true"
    assert stored() == []
    with scopes_disabled():
        assert not AuditEntry.objects.filter(action__startswith="letters.text").exists()


def test_an_admin_saves_and_resets_the_organisations_text(org_a: OrgData) -> None:
    admin = member_client(org_a.organisation, Role.ADMIN)
    response = admin.post(
        texts_url(org_a, "einladung"),
        {
            "art": "einladung",
            "subject": "Einladung {stichtag}",
            "body": "Hallo {name}\r\n{objekte}",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == texts_url(org_a, "einladung")
    assert stored() == [
        (None, "invitation_mail", "Einladung {stichtag}", "Hallo {name}\n{objekte}")
    ]
    page = admin.get(texts_url(org_a, "einladung"))
    assert "Eigener Text" in page.text
    assert "(Objekt stadt-a-1)" in page.text  # the preview lists the sample's property
    reset = admin.post(texts_url(org_a), {"art": "einladung", "aktion": "zuruecksetzen"})
    assert reset.status_code == 302
    assert stored() == []
    with scopes_disabled():
        actions = list(
            AuditEntry.objects.filter(action__startswith="letters.")
            .order_by("pk")
            .values_list("action", flat=True)
        )
    assert actions == ["letters.text_saved", "letters.text_reset"]


def test_the_html_preview_escapes_the_text(org_a: OrgData) -> None:
    admin = member_client(org_a.organisation, Role.ADMIN)
    response = admin.post(
        texts_url(org_a),
        {
            "art": "brief",
            "aktion": "vorschau",
            "subject": "<b>Fett</b> {stichtag}",
            "body": "<script>alert(1)</script> Hallo {name}",
        },
    )
    assert response.status_code == 200
    preview = find(parse(response.text), "div", id="vorschau-text")
    assert "<script>alert(1)</script> Hallo Monika Weiß" in text(preview)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)" not in response.text
    assert "&lt;b&gt;Fett&lt;/b&gt; 31.12.2026" in response.text
    assert stored() == []  # a preview never saves


def test_the_preview_pdf_issues_no_access(org_a: OrgData, tmp_path: Path) -> None:
    admin = member_client(org_a.organisation, Role.ADMIN)
    with scopes_disabled():
        grants = AccessGrant.objects.count()
    response = admin.post(
        f"/o/{org_a.organisation.slug}/einstellungen/texte/vorschau.pdf",
        {
            "art": "erinnerungsbrief",
            "subject": "Erinnerung {stichtag}",
            "body": "Noch offen, {name}: {zugangscode}",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    out = tmp_path / "v.pdf"
    out.write_bytes(response.content)
    [page] = page_texts(out)
    assert "Noch offen, Monika Weiß: MUST-ERXX-XXX" in page
    assert "MUSTER" in page
    bad = admin.post(
        f"/o/{org_a.organisation.slug}/einstellungen/texte/vorschau.pdf",
        {"art": "brief", "subject": "x", "body": "{foo}"},
    )
    assert bad.status_code == 400
    assert "Unbekannter Platzhalter {foo}" in bad.text
    mail = admin.get(f"/o/{org_a.organisation.slug}/einstellungen/texte/vorschau.pdf?art=einladung")
    assert mail.status_code == 404  # a mail has no PDF
    with scopes_disabled():
        assert AccessGrant.objects.count() == grants
    assert stored() == []


def test_clerks_edit_the_campaigns_text_but_not_the_organisations(
    org_a: OrgData, tmp_path: Path
) -> None:
    clerk = member_client(org_a.organisation, Role.CLERK)
    assert clerk.get(texts_url(org_a)).status_code == 200  # reads
    refused = clerk.post(texts_url(org_a), {"art": "brief", "subject": "x", "body": "y"})
    assert refused.status_code == 403
    page = clerk.get(campaign_url(org_a))
    assert page.status_code == 200
    assert "Es gilt der Standardtext" in page.text
    saved = clerk.post(
        campaign_url(org_a),
        {
            "art": "brief",
            "aktion": "speichern",
            "subject": "Aktion {stichtag}",
            "body": "Für {name}.",
        },
    )
    assert saved.status_code == 302
    assert stored() == [(org_a.campaign.pk, "letter", "Aktion {stichtag}", "Für {name}.")]
    assert (
        "eigenen Brieftext"
        in clerk.get(
            f"/o/{org_a.organisation.slug}/ableseaktionen/{org_a.campaign.pk}/briefe/"
        ).text
    )
    # the mails have no campaign text
    assert clerk.get(campaign_url(org_a) + "?art=einladung").status_code == 404
    pdf = clerk.get(campaign_url(org_a, "vorschau.pdf") + "?art=brief")
    out = tmp_path / "c.pdf"
    out.write_bytes(pdf.content)
    assert "Für Monika Weiß." in page_texts(out)[0]


def test_a_viewer_reads_texts_and_previews_but_edits_nothing(org_a: OrgData) -> None:
    viewer = member_client(org_a.organisation, Role.VIEWER)
    page = viewer.get(texts_url(org_a))
    assert page.status_code == 200
    assert "disabled" in attributes(find(parse(page.text), "textarea", id="id_body"))
    assert "Speichern" not in page.text
    assert (
        viewer.post(
            texts_url(org_a), {"art": "brief", "aktion": "vorschau", "subject": "x", "body": "y"}
        ).status_code
        == 403
    )
    assert (
        viewer.get(
            f"/o/{org_a.organisation.slug}/einstellungen/texte/vorschau.pdf?art=brief"
        ).status_code
        == 200
    )


def test_an_unknown_kind_is_not_found(org_a: OrgData) -> None:
    admin = member_client(org_a.organisation, Role.ADMIN)
    assert admin.get(texts_url(org_a, "unbekannt")).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_letters_page_selects_a_street(
    org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    with scopes_disabled():
        Property.objects.filter(pk=org_a.property.pk).update(city="Stadt A OT Nord")
    clerk: Client = member_client(org_a.organisation, Role.CLERK)
    url = f"/o/{org_a.organisation.slug}/ableseaktionen/{org_a.campaign.pk}/briefe/"
    page = clerk.get(url)
    assert "Gartenstraße, Stadt A OT Nord (1 Objekt)" in page.text
    missing = clerk.post(
        url + "erstellen/", {"selection": "street", "confirmed_made": "1", "confirm": "on"}
    )
    assert missing.status_code == 400
    assert "Bitte wählen Sie eine Straße." in missing.text
    with django_capture_on_commit_callbacks(execute=True):
        made = clerk.post(
            url + "erstellen/",
            {
                "selection": "street",
                "street": '["Gartenstraße", "Stadt A OT Nord"]',
                "confirmed_made": "1",
                "confirm": "on",
            },
        )
    assert made.status_code == 302
    with scopes_disabled():
        batch = LetterBatch.objects.order_by("-pk").first()
    assert batch is not None
    assert (batch.selection, batch.street, batch.district, batch.total) == (
        "street",
        "Gartenstraße",
        "Stadt A OT Nord",
        1,
    )
