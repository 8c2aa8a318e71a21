"""Settings pages: plausibility thresholds (organisation, campaign), live example, profiles."""

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.translation.reloader import translation_file_changed
from django_scopes import scopes_disabled

from ablesung.backend.settings_forms import LABELS
from ablesung.core.models import AuditEntry, Campaign, Organisation, Role
from ablesung.core.services.plausibility_settings import (
    THRESHOLD_FIELDS,
    campaign_thresholds,
    organisation_thresholds,
)
from ablesung.plausibility.thresholds import FIELD_LABELS
from tests.conftest import OrgData, make_member
from tests.test_i18n import MO_PATH, PO_PATH, compile_mo

ORG_PAGE = "/o/stadt-a/einstellungen/plausibilitaet/"
EXAMPLE = "/o/stadt-a/einstellungen/plausibilitaet/beispiel/"
PROFILE = (
    "Jahr;2026\r\nJanuar;103,24\r\nFebruar;95\r\nMärz;90\r\nApril;80\r\nMai;70\r\nJuni;60\r\n"
    "Juli;60\r\nAugust;60\r\nSeptember;70\r\nOktober;85\r\nNovember;95\r\nDezember;99,84\r\n"
)


def campaign_page(data: OrgData) -> str:
    return f"/o/stadt-a/ableseaktionen/{data.campaign.pk}/plausibilitaet/"


@pytest.fixture
def admin_a(org_a: OrgData) -> Client:
    client = Client()
    client.force_login(make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN))
    return client


def form_data(response: Any, **changes: str) -> dict[str, str]:
    """The page's form as the browser would send it, with changes."""
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(changes)
    return data


def reload(org: Organisation) -> Organisation:
    return Organisation.objects.get(pk=org.pk)


def reload_campaign(campaign: Campaign) -> Campaign:
    with scopes_disabled():
        found: Campaign = Campaign.objects.select_related("organisation").get(pk=campaign.pk)
    return found


def actions() -> list[str]:
    with scopes_disabled():
        return list(
            AuditEntry.objects.exclude(action__startswith="auth.").values_list("action", flat=True)
        )


def test_labels_are_the_engines_labels() -> None:
    assert {name: str(label) for name, label in LABELS.items()} == FIELD_LABELS
    assert tuple(LABELS) == THRESHOLD_FIELDS


# --- organisation page ---------------------------------------------------------------------


@pytest.mark.django_db
def test_page_shows_german_values_labels_and_the_example(admin_a: Client) -> None:
    response = admin_a.get(ORG_PAGE)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["band_lower_pct"].value() == "40"
    assert form["estimate_widening"].value() == "2"
    assert form["vorjahresverbrauch"].value() == "80"
    text = response.text
    assert "Hinweis unter (−%)" in text
    assert "bei 80 m³ Vorjahresverbrauch: Hinweis unter 48 oder über 136 m³" in text
    # the live example: htmx on every input, the inputs it sends, the target it fills
    assert 'hx-trigger="input changed delay:300ms"' in text
    assert f'hx-get="{EXAMPLE}"' in text
    assert 'hx-target="#plausibility-example"' in text
    assert 'id="plausibility-example"' in text
    assert 'name="aktion" value="beispiel"' in text  # the no-JS button
    assert 'name="aktion" value="speichern"' in text
    assert "csrfmiddlewaretoken" in text
    # the default profile as a twelve-month table, and the upload for gas and heat
    assert "Standardprofil (Heizperiode)" in text
    assert 'name="gas-file"' in text
    assert 'name="heat-file"' in text


@pytest.mark.django_db
def test_valid_update_is_stored_with_audit(admin_a: Client, org_a: OrgData) -> None:
    page = admin_a.get(ORG_PAGE)
    data = form_data(page, band_lower_pct="30", band_upper_pct="62,5", aktion="speichern")
    response = admin_a.post(ORG_PAGE, data)
    assert response.status_code == 302
    assert response["Location"] == ORG_PAGE
    thresholds = organisation_thresholds(reload(org_a.organisation))
    assert str(thresholds.band_upper_pct) == "62.5"
    assert str(thresholds.band_lower_pct) == "30"
    assert reload(org_a.organisation).settings["plausibility"]["band_upper_pct"] == "62.5"
    assert actions()[0] == "settings.thresholds_updated"
    followed = admin_a.get(ORG_PAGE)
    assert followed.context["form"]["band_upper_pct"].value() == "62,5"
    assert "Die Plausibilitätsgrenzen wurden gespeichert." in followed.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"band_lower_pct": "100"},
            "band_lower_pct",
            "Die untere Grenze muss über 0 liegen (Abweichung unter 100 %).",
        ),
        (
            {"overflow_low_pct": "95"},
            "overflow_low_pct",
            "Für den Zählerüberlauf muss die untere Grenze unter der oberen liegen",
        ),
        (
            {"narrow_upper_pct": "90"},
            "narrow_upper_pct",
            "Das enge Band darf nach oben nicht weiter sein als das normale.",
        ),
        ({"min_deviation": "fünf"}, "min_deviation", "Bitte geben Sie eine Zahl ein, z. B. 1,5."),
        ({"min_deviation": ""}, "min_deviation", "Bitte geben Sie einen Wert ein."),
        ({"key_date_days": "3,5"}, "key_date_days", "Bitte geben Sie eine ganze Zahl ein."),
    ],
)
def test_invalid_values_give_400_with_the_error_at_the_field(
    admin_a: Client, org_a: OrgData, changes: dict[str, str], field: str, message: str
) -> None:
    page = admin_a.get(ORG_PAGE)
    response = admin_a.post(ORG_PAGE, form_data(page, aktion="speichern", **changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(e.startswith(message) for e in errors[field]), errors
    # shown at the field, linked for screen readers
    assert f'id="id_{field}_error"' in response.text
    widget = re.search(rf'<input[^>]*name="{field}"[^>]*>', response.text)
    assert widget is not None
    assert f"id_{field}_error" in widget.group(0)
    assert 'aria-invalid="true"' in widget.group(0)
    assert "plausibility" not in reload(org_a.organisation).settings
    assert "settings.thresholds_updated" not in actions()


@pytest.mark.django_db
def test_example_button_recomputes_without_saving(admin_a: Client, org_a: OrgData) -> None:
    page = admin_a.get(ORG_PAGE)
    data = form_data(page, band_lower_pct="50", vorjahresverbrauch="100", aktion="beispiel")
    response = admin_a.post(ORG_PAGE, data)
    assert response.status_code == 200
    assert "bei 100 m³ Vorjahresverbrauch: Hinweis unter 50 oder über 170 m³" in response.text
    assert response.context["form"]["band_lower_pct"].value() == "50"
    assert "plausibility" not in reload(org_a.organisation).settings
    assert actions() == []


@pytest.mark.django_db
def test_example_button_shows_problems_at_the_fields(admin_a: Client, org_a: OrgData) -> None:
    page = admin_a.get(ORG_PAGE)
    response = admin_a.post(ORG_PAGE, form_data(page, band_lower_pct="100", aktion="beispiel"))
    assert response.status_code == 200
    assert "band_lower_pct" in response.context["form"].errors
    assert "noch nicht stimmig" in response.text
    assert "plausibility" not in reload(org_a.organisation).settings


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ({}, "bei 80 m³ Vorjahresverbrauch: Hinweis unter 48 oder über 136 m³"),
        (
            {"vorjahresverbrauch": "80"},
            "bei 80 m³ Vorjahresverbrauch: Hinweis unter 48 oder über 136 m³",
        ),
        (
            {"vorjahresverbrauch": "80", "band_lower_pct": "25", "band_upper_pct": "50"},
            "bei 80 m³ Vorjahresverbrauch: Hinweis unter 60 oder über 120 m³",
        ),
        (
            {"vorjahresverbrauch": "2000", "narrow_upper_pct": "25"},
            "bei 2.000 m³ Vorjahresverbrauch: Hinweis unter 1.600 oder über 2.500 m³",
        ),
        (
            {"vorjahresverbrauch": "12,5"},
            "bei 12,5 m³ Vorjahresverbrauch: Hinweis unter 7,5 oder über 21,3 m³",
        ),
        (
            {"vorjahresverbrauch": "4"},
            "bei 4 m³ Vorjahresverbrauch: Hinweis unter 0 oder über 9 m³",
        ),
    ],
)
def test_live_example_partial(
    client_a: Client, org_a: OrgData, query: dict[str, str], sentence: str
) -> None:
    response = client_a.get(EXAMPLE, query, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert sentence in response.text
    assert "<html" not in response.text  # a partial
    assert "noch nicht stimmig" not in response.text


@pytest.mark.django_db
def test_live_example_uses_saved_values_for_blanks_and_flags_problems(
    admin_a: Client, org_a: OrgData
) -> None:
    page = admin_a.get(ORG_PAGE)
    admin_a.post(ORG_PAGE, form_data(page, band_lower_pct="25", aktion="speichern"))
    response = admin_a.get(EXAMPLE, {"vorjahresverbrauch": "80", "band_lower_pct": ""})
    assert "Hinweis unter 60 oder über 136 m³" in response.text
    response = admin_a.get(EXAMPLE, {"band_lower_pct": "100"})
    assert "noch nicht stimmig" in response.text
    response = admin_a.get(EXAMPLE, {"band_lower_pct": "viel", "vorjahresverbrauch": "x"})
    assert response.status_code == 200
    assert "bei 80 m³ Vorjahresverbrauch: Hinweis unter 60 oder über 136 m³" in response.text
    assert "noch nicht stimmig" in response.text


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK])
def test_only_admins_may_change(org_a: OrgData, role: str) -> None:
    client = Client()
    client.force_login(make_member(org_a.organisation, f"{role}@stadt-a.example", role))
    page = client.get(ORG_PAGE)
    assert page.status_code == 200
    assert (
        "csrfmiddlewaretoken"
        not in page.text.split('id="plausibility-form"')[1].split("</form>")[0]
    )
    assert 'name="aktion" value="speichern"' not in page.text
    assert "readonly" in page.text
    assert 'name="gas-file"' not in page.text
    data = form_data(page, band_lower_pct="30", aktion="speichern")
    assert client.post(ORG_PAGE, data).status_code == 403
    profile = {"aktion": "profil", "art": "gas", "gas-file": SimpleUploadedFile("p.csv", b"x")}
    assert client.post(ORG_PAGE, profile).status_code == 403
    campaign = client.get(campaign_page(org_a))
    assert campaign.status_code == 200
    assert client.post(campaign_page(org_a), {"aktion": "speichern"}).status_code == 403
    assert client.post(campaign_page(org_a), {"aktion": "zuruecksetzen"}).status_code == 403
    # the example works for everyone (GET, nothing stored)
    example = client.get(ORG_PAGE, form_data(page, vorjahresverbrauch="100", aktion="beispiel"))
    assert example.status_code == 200
    assert "bei 100 m³ Vorjahresverbrauch" in example.text
    assert "plausibility" not in reload(org_a.organisation).settings
    assert actions() == []


# --- campaign page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_campaign_override_takes_precedence_and_reset_works(
    admin_a: Client, org_a: OrgData
) -> None:
    org_page = admin_a.get(ORG_PAGE)
    admin_a.post(ORG_PAGE, form_data(org_page, band_lower_pct="30", aktion="speichern"))
    url = campaign_page(org_a)
    page = admin_a.get(url)
    assert page.status_code == 200
    assert page.context["form"]["band_upper_pct"].value() in (None, "")
    assert "Leer lassen für den Wert der Organisation: 70" in page.text
    assert "Diese Ableseaktion verwendet die Werte der Organisation." in page.text

    response = admin_a.post(url, form_data(page, band_upper_pct="90", aktion="speichern"))
    assert response.status_code == 302
    campaign = reload_campaign(org_a.campaign)
    assert campaign.settings["plausibility"] == {"band_upper_pct": "90"}
    effective = campaign_thresholds(campaign)
    assert str(effective.band_upper_pct) == "90"
    assert str(effective.band_lower_pct) == "30"

    page = admin_a.get(url)
    assert page.context["overridden"] == [
        {"label": LABELS["band_upper_pct"], "value": "90", "organisation_value": "70"}
    ]
    assert "Auf die Werte der Organisation zurücksetzen" in page.text
    assert "bei 80 m³ Vorjahresverbrauch: Hinweis unter 56 oder über 152 m³" in page.text

    reset = admin_a.post(url, {"aktion": "zuruecksetzen"})
    assert reset.status_code == 302
    assert "plausibility" not in reload_campaign(org_a.campaign).settings
    assert actions()[:2] == ["settings.thresholds_reset", "settings.thresholds_updated"]


@pytest.mark.django_db
def test_campaign_invalid_override_is_refused(admin_a: Client, org_a: OrgData) -> None:
    url = campaign_page(org_a)
    page = admin_a.get(url)
    response = admin_a.post(url, form_data(page, band_upper_pct="30", aktion="speichern"))
    assert response.status_code == 400
    assert "narrow_upper_pct" in response.context["form"].errors
    assert "plausibility" not in reload_campaign(org_a.campaign).settings


@pytest.mark.django_db
def test_campaign_detail_links_to_its_plausibility_page(client_a: Client, org_a: OrgData) -> None:
    response = client_a.get(f"/o/stadt-a/ableseaktionen/{org_a.campaign.pk}/")
    assert f'href="{campaign_page(org_a)}"' in response.text
    assert f'href="{ORG_PAGE}"' in response.text  # the navigation


@pytest.mark.django_db
def test_campaign_of_another_organisation_is_404(
    admin_a: Client, org_a: OrgData, org_b: OrgData
) -> None:
    url = f"/o/stadt-a/ableseaktionen/{org_b.campaign.pk}/plausibilitaet/"
    assert admin_a.get(url).status_code == 404
    assert admin_a.post(url, {"aktion": "zuruecksetzen"}).status_code == 404


# --- profiles --------------------------------------------------------------------------------


def upload(client: Client, kind: str, content: bytes) -> Any:
    return client.post(
        ORG_PAGE,
        {"aktion": "profil", "art": kind, f"{kind}-file": SimpleUploadedFile("p.csv", content)},
    )


@pytest.mark.django_db
def test_profile_upload_valid(admin_a: Client, org_a: OrgData) -> None:
    response = upload(admin_a, "gas", PROFILE.encode("cp1252"))
    assert response.status_code == 302
    stored = reload(org_a.organisation).settings["consumption_profiles"]["gas"]
    assert stored["year"] == 2026
    assert stored["shares"][2] == "90"
    page = admin_a.get(ORG_PAGE)
    assert "Eigenes Profil (2026)" in page.text
    assert "103,24" in page.text
    assert "Das Verbrauchsprofil wurde gespeichert." in page.text
    assert actions()[0] == "settings.consumption_profile_imported"
    # UTF-8 with BOM is read as well
    assert upload(admin_a, "heat", b"\xef\xbb\xbf" + PROFILE.encode()).status_code == 302
    removed = admin_a.post(ORG_PAGE, {"aktion": "profil_entfernen", "art": "gas"})
    assert removed.status_code == 302
    assert "gas" not in reload(org_a.organisation).settings["consumption_profiles"]


@pytest.mark.django_db
def test_profile_upload_invalid_lists_errors_and_stores_nothing(
    admin_a: Client, org_a: OrgData
) -> None:
    content = b"Jahr;26\nJanuar;1,2,3\nFebruar;95\nFebruar;96\n"
    response = upload(admin_a, "heat", content)
    assert response.status_code == 400
    text = response.text
    assert "Zeile 1: „26“ ist keine gültige Jahreszahl." in text
    assert "Zeile 2: „1,2,3“ ist keine gültige Zahl für Januar" in text
    assert "Zeile 4: Februar steht doppelt in der Datei (zuerst in Zeile 3)." in text
    assert "Es fehlen Monate: März" in text
    assert 'id="id_heat-file_error"' in text
    assert "consumption_profiles" not in reload(org_a.organisation).settings
    assert actions() == []


@pytest.mark.django_db
def test_profile_upload_without_file_or_with_unknown_kind(admin_a: Client, org_a: OrgData) -> None:
    assert admin_a.post(ORG_PAGE, {"aktion": "profil", "art": "gas"}).status_code == 400
    assert upload(admin_a, "water_main", PROFILE.encode()).status_code == 400
    too_big = upload(admin_a, "gas", b"Januar;1\n" * 10_000)
    assert too_big.status_code == 400
    assert "zu groß" in too_big.text
    assert "consumption_profiles" not in reload(org_a.organisation).settings


@pytest.mark.django_db
def test_page_in_english(admin_a: Client, org_a: OrgData) -> None:
    if not MO_PATH.exists() or MO_PATH.stat().st_mtime < PO_PATH.stat().st_mtime:
        compile_mo()  # `make test` builds the .mo first; a lone run builds it here
        translation_file_changed(sender=None, file_path=MO_PATH)
    admin_a.post("/i18n/setlang/", {"language": "en", "next": ORG_PAGE})
    response = admin_a.get(ORG_PAGE)
    assert response.status_code == 200
    assert "Implausible below (% of expected)" in response.text
    assert "with 80 m³ previous-year consumption: flagged below 48 or above 136 m³" in response.text
    example = admin_a.get(EXAMPLE, {"vorjahresverbrauch": "2000"})
    assert "with 2,000 m³ previous-year consumption: flagged below 1,600 or above 3,000 m³" in (
        example.text
    )
