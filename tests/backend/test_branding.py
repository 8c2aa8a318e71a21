"""Portal settings page: contact, legal links, accent colour, logo and typed access methods."""

import io
import os
import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled
from PIL import Image

from ablesung.core.models import AccentColour, AccessMethod, AuditEntry, Organisation, Role
from ablesung.core.services.actor import Actor
from ablesung.core.services.branding import (
    BRANDING_FIELDS,
    LOGO_MAX_BYTES,
    BrandingInvalid,
    do_update_branding,
)
from tests.conftest import OrgData, make_member

PAGE = "/o/stadt-a/einstellungen/portal/"
VALID = {
    "contact_email": "ablesung@stadt-a.example",
    "contact_phone": "03731 123-456",
    "contact_address": "Rathaus, Zimmer 12\nMo–Fr 8–12 Uhr",
    "imprint_url": "https://www.stadt-a.example/impressum",
    "privacy_url": "https://www.stadt-a.example/datenschutz",
    "accent_colour": AccentColour.PETROL.value,
    "access_methods": [AccessMethod.CODE_METER.value, AccessMethod.CUSTOMER_NAME.value],
}


@pytest.fixture
def admin_a(org_a: OrgData) -> Client:
    client = Client()
    client.force_login(make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN))
    return client


def reload(data: OrgData) -> Organisation:
    return Organisation.objects.get(pk=data.organisation.pk)


def logo_name(data: OrgData) -> str:
    return reload(data).logo.name or ""


def audit_entries() -> list[AuditEntry]:
    with scopes_disabled():
        return list(AuditEntry.objects.exclude(action__startswith="auth."))


def stored_logos() -> list[str]:
    if not default_storage.exists("logos"):
        return []
    return sorted(default_storage.listdir("logos")[1])


def image_bytes(
    fmt: str, size: tuple[int, int] = (800, 400), mode: str = "RGB", exif: bool = False
) -> bytes:
    image = Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "Kamerahersteller"  # Make
        data[0x0131] = "Bildbearbeitung 1.0"  # Software
        kwargs["exif"] = data.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress (random pixels): 3 bytes per pixel and more."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def post(
    client: Client, logo: bytes | None = None, filename: str = "logo.png", **changes: Any
) -> Any:
    data: dict[str, Any] = {**VALID, **changes}
    if logo is not None:
        data["logo"] = SimpleUploadedFile(filename, logo)
    return client.post(PAGE, data)


def state(data: OrgData) -> dict[str, Any]:
    org = reload(data)
    return {name: getattr(org, name) for name in (*BRANDING_FIELDS, "name")} | {
        "logo": org.logo.name
    }


# --- page ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_shows_the_fields_grouped_and_the_name_read_only(
    admin_a: Client, org_a: OrgData
) -> None:
    response = admin_a.get(PAGE)
    assert response.status_code == 200
    text = response.text
    assert "Stadt A" in text
    assert 'name="name"' not in text
    for name in ("contact_email", "contact_phone", "contact_address", "imprint_url", "logo"):
        assert f'name="{name}"' in text
    # every colour as a radio button with its name and a swatch in its colour
    for colour in AccentColour:
        assert f'value="{colour.value}"' in text
        assert f'fill="{colour.value}"' in text
        assert str(colour.label) in text
    assert text.count('type="radio"') == len(AccentColour)
    # groups of radios/checkboxes have a legend, and their hint is linked to the group
    assert re.search(r"<legend[^>]*>Akzentfarbe</legend>", text)
    assert re.search(r"<legend[^>]*>Zugang mit eingetippten Angaben</legend>", text)
    assert 'aria-describedby="id_access_methods_helptext"' in text
    assert "nur über den persönlichen Link oder QR-Code" in text
    # what is still missing before a campaign can open
    assert "Impressum (Link)" in text
    assert "Datenschutzerklärung (Link)" in text
    # the default: blue, typed access with code and meter number
    form = response.context["form"]
    assert form["accent_colour"].value() == AccentColour.BLUE.value
    assert form["access_methods"].value() == [AccessMethod.CODE_METER.value]
    assert "Logo entfernen" not in text  # nothing to remove yet


@pytest.mark.django_db
def test_valid_update_is_stored_with_an_audit_entry(admin_a: Client, org_a: OrgData) -> None:
    response = post(admin_a, name="Neuer Name")
    assert response.status_code == 302
    assert response["Location"] == PAGE
    org = reload(org_a)
    assert org.contact_email == VALID["contact_email"]
    assert org.contact_phone == "03731 123-456"
    assert org.contact_address == "Rathaus, Zimmer 12\nMo–Fr 8–12 Uhr"
    assert org.imprint_url == VALID["imprint_url"]
    assert org.privacy_url == VALID["privacy_url"]
    assert org.accent_colour == AccentColour.PETROL
    assert org.access_methods == ["code_meter", "customer_name"]
    assert org.name == "Stadt A"
    assert org.branding_missing == []
    [entry] = audit_entries()
    assert entry.action == "organisation.branding_updated"
    assert entry.object_id == str(org.pk)
    assert entry.actor_label == "admin@stadt-a.example"
    assert entry.data == {
        "fields": [
            "contact_email",
            "contact_phone",
            "contact_address",
            "imprint_url",
            "privacy_url",
            "accent_colour",
            "access_methods",
        ]
    }
    page = admin_a.get(PAGE)
    assert "Die Einstellungen für das Portal wurden gespeichert." in page.text
    assert "Noch nicht angegeben" not in page.text


@pytest.mark.django_db
def test_saving_again_without_changes_writes_no_audit_entry(
    admin_a: Client, org_a: OrgData
) -> None:
    post(admin_a)
    post(admin_a)
    assert [e.action for e in audit_entries()] == ["organisation.branding_updated"]
    post(admin_a, contact_phone="0800 1234")
    assert audit_entries()[0].data == {"fields": ["contact_phone"]}


@pytest.mark.django_db
def test_address_without_scheme_becomes_https(admin_a: Client, org_a: OrgData) -> None:
    assert post(admin_a, imprint_url="www.stadt-a.example/impressum").status_code == 302
    assert reload(org_a).imprint_url == "https://www.stadt-a.example/impressum"


@pytest.mark.django_db
def test_no_typed_access_is_allowed(admin_a: Client, org_a: OrgData) -> None:
    data = {**VALID}
    del data["access_methods"]
    assert admin_a.post(PAGE, data).status_code == 302
    assert reload(org_a).access_methods == []
    assert not reload(org_a).accepts(AccessMethod.CODE_METER)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"imprint_url": "http://www.stadt-a.example/impressum"},
            "imprint_url",
            "Bitte geben Sie eine sichere Adresse an, die mit https:// beginnt.",
        ),
        (
            {"privacy_url": "ftp://stadt-a.example/datenschutz"},
            "privacy_url",
            "Bitte geben Sie eine sichere Adresse an, die mit https:// beginnt.",
        ),
        (
            {"privacy_url": "javascript:alert(1)"},
            "privacy_url",
            "Bitte geben Sie eine",
        ),
        ({"accent_colour": "#ff00ff"}, "accent_colour", "Bitte wählen Sie eine der Farben aus."),
        ({"accent_colour": ""}, "accent_colour", "Bitte wählen Sie eine der Farben aus."),
        (
            {"access_methods": ["code_meter", "birthday"]},
            "access_methods",
            "Bitte wählen Sie nur die angebotenen Zugangswege aus.",
        ),
        (
            {"contact_email": "keine-adresse"},
            "contact_email",
            "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
        ),
        (
            {"contact_phone": "ruf an!"},
            "contact_phone",
            "Bitte geben Sie nur Ziffern, Leerzeichen und + - / ( ) an",
        ),
        ({"contact_address": "x" * 1001}, "contact_address", "höchstens 1000 Zeichen"),
    ],
)
def test_invalid_values_give_400_at_the_field_and_change_nothing(
    admin_a: Client, org_a: OrgData, changes: dict[str, Any], field: str, message: str
) -> None:
    before = state(org_a)
    response = post(admin_a, **changes)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert f'id="id_{field}_error"' in response.text
    assert state(org_a) == before
    assert audit_entries() == []


@pytest.mark.django_db
def test_field_errors_are_linked_for_screen_readers(admin_a: Client, org_a: OrgData) -> None:
    response = post(admin_a, imprint_url="http://x.example", accent_colour="#000000")
    text = response.text
    widget = re.search(r'<input[^>]*name="imprint_url"[^>]*>', text)
    assert widget is not None
    assert "id_imprint_url_error" in widget.group(0)
    assert 'aria-invalid="true"' in widget.group(0)
    fieldset = re.search(r"<fieldset[^>]*id_accent_colour_error[^>]*>", text)
    assert fieldset is not None
    assert "kern-fieldset--error" in fieldset.group(0)
    assert "Bitte korrigieren Sie die markierten Angaben." in text


# --- logo ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_logo_is_stored_re_encoded_small_and_without_exif(
    admin_a: Client, org_a: OrgData, fmt: str
) -> None:
    upload = image_bytes(fmt, (1200, 600), exif=True)
    assert post(admin_a, upload, filename=f"logo.{fmt.lower()}").status_code == 302
    name = logo_name(org_a)
    assert re.fullmatch(r"logos/stadt-a-[0-9a-f]{16}\.jpg", name), name
    with default_storage.open(name, "rb") as file:
        stored = file.read()
    assert stored != upload
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (400, 200)
        assert not image.getexif()
        assert "exif" not in image.info
    assert b"Kamerahersteller" not in stored
    assert audit_entries()[0].data == {"fields": [*BRANDING_FIELDS, "logo"]}
    # the page shows it without a media URL, and offers to remove it
    page = admin_a.get(PAGE)
    assert 'src="data:image/jpeg;base64,' in page.text
    assert "Logo entfernen" in page.text


@pytest.mark.django_db
def test_transparent_logo_is_laid_on_white(admin_a: Client, org_a: OrgData) -> None:
    transparent = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    out = io.BytesIO()
    transparent.save(out, format="PNG")
    assert post(admin_a, out.getvalue()).status_code == 302
    with default_storage.open(logo_name(org_a), "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
        pixel = image.getpixel((50, 25))
    assert isinstance(pixel, tuple)
    assert min(pixel) >= 250  # white, not black


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            b"Das ist kein Bild, nur Text.",
            "Bitte laden Sie das Logo als PNG-, JPEG- oder WebP-Bild hoch.",
        ),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "als PNG-, JPEG- oder WebP-Bild"),
        (b"GIF89a" + b"\x00" * 64, "als PNG-, JPEG- oder WebP-Bild"),
        (b"\x89PNG\r\n\x1a\n" + b"kaputt" * 20, "konnte nicht"),
    ],
)
def test_a_file_that_is_no_logo_is_rejected(
    admin_a: Client, org_a: OrgData, upload: bytes, message: str
) -> None:
    before = state(org_a)
    response = post(admin_a, upload)
    assert response.status_code == 400
    errors = response.context["form"].errors["logo"]
    assert any(message in error for error in errors), errors
    assert 'id="id_logo_error"' in response.text
    assert state(org_a) == before
    assert stored_logos() == []
    assert audit_entries() == []


@pytest.mark.django_db
def test_a_logo_over_2_mb_is_rejected_and_nothing_changes(admin_a: Client, org_a: OrgData) -> None:
    big = noise_png(900)
    assert len(big) > LOGO_MAX_BYTES
    before = state(org_a)
    response = post(admin_a, big, contact_phone="0800 999")
    assert response.status_code == 400
    assert response.context["form"].errors["logo"] == ["Das Logo ist zu groß (höchstens 2 MB)."]
    assert state(org_a) == before  # the valid phone number was not stored either
    assert stored_logos() == []
    assert audit_entries() == []


@pytest.mark.django_db
def test_a_logo_with_too_many_pixels_is_rejected(admin_a: Client, org_a: OrgData) -> None:
    huge = image_bytes("PNG", (5000, 5000))  # one colour: small file, 25 megapixels
    assert len(huge) < LOGO_MAX_BYTES
    response = post(admin_a, huge)
    assert response.status_code == 400
    assert "zu viele Bildpunkte" in response.context["form"].errors["logo"][0]
    assert stored_logos() == []


@pytest.mark.django_db
def test_replacing_the_logo_deletes_the_old_file_after_commit(
    admin_a: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(admin_a, image_bytes("PNG"))
    first = logo_name(org_a)
    assert default_storage.exists(first)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(admin_a, image_bytes("JPEG"))
    second = logo_name(org_a)
    assert second != first
    assert default_storage.exists(first), "deleted before the change was committed"
    for callback in callbacks:
        callback()
    assert not default_storage.exists(first)
    assert default_storage.exists(second)
    assert stored_logos() == [second.removeprefix("logos/")]
    assert audit_entries()[0].data == {"fields": ["logo"]}


@pytest.mark.django_db
def test_removing_the_logo(
    admin_a: Client, org_a: OrgData, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(admin_a, image_bytes("PNG"))
        name = logo_name(org_a)
        assert post(admin_a, remove_logo="on").status_code == 302
    assert logo_name(org_a) == ""
    assert not default_storage.exists(name)
    assert stored_logos() == []
    assert audit_entries()[0].data == {"fields": ["logo"]}
    # removing nothing changes nothing
    post(admin_a, remove_logo="on")
    assert len(audit_entries()) == 2


@pytest.mark.django_db
def test_service_refuses_bad_values_without_writing_a_file(org_a: OrgData) -> None:
    org = org_a.organisation
    values = {**VALID, "privacy_url": "http://stadt-a.example/datenschutz"}
    with pytest.raises(BrandingInvalid) as caught:
        do_update_branding(
            org,
            values=values,
            logo_bytes=image_bytes("PNG"),
            remove_logo=False,
            actor=Actor.system("test"),
        )
    assert set(caught.value.errors) == {"privacy_url"}
    assert stored_logos() == []
    assert reload(org_a).privacy_url == ""
    with pytest.raises(ValueError, match="unknown"):
        do_update_branding(
            org,
            values={**VALID, "name": "Neu"},
            logo_bytes=None,
            remove_logo=False,
            actor=Actor.system("test"),
        )


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK])
def test_viewer_and_clerk_get_403(org_a: OrgData, role: str) -> None:
    client = Client()
    client.force_login(make_member(org_a.organisation, f"{role}@stadt-a.example", role))
    before = state(org_a)
    assert client.get(PAGE).status_code == 403
    response = post(client, image_bytes("PNG"))
    assert response.status_code == 403
    assert state(org_a) == before
    assert stored_logos() == []
    assert audit_entries() == []


@pytest.mark.django_db
def test_other_organisations_page_is_404(admin_a: Client, org_b: OrgData) -> None:
    assert admin_a.get("/o/stadt-b/einstellungen/portal/").status_code == 404
    assert admin_a.post("/o/stadt-b/einstellungen/portal/", VALID).status_code == 404
    assert Organisation.objects.get(pk=org_b.organisation.pk).contact_email == ""


@pytest.mark.django_db
def test_plausibility_page_links_here_for_admins_only(
    admin_a: Client, client_a: Client, org_a: OrgData
) -> None:
    link = f'href="{PAGE}"'
    assert link in admin_a.get("/o/stadt-a/einstellungen/plausibilitaet/").text
    assert link not in client_a.get("/o/stadt-a/einstellungen/plausibilitaet/").text
