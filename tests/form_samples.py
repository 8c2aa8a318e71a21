"""Every form of the project with the inputs it needs, shared by the tests that render
every form (``{% form_field %}`` and the Python widgets)."""

from collections.abc import Callable

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from ablesung.accounts.admin import EmailUserChangeForm, EmailUserCreationForm
from ablesung.accounts.forms import StaffLoginForm
from ablesung.accounts.models import User
from ablesung.backend.branding_forms import BrandingForm
from ablesung.backend.campaign_views import OpenCampaignForm
from ablesung.backend.forms import MappingForm, UploadForm
from ablesung.backend.settings_forms import ProfileUploadForm, ThresholdsForm
from ablesung.core.models import AccessMethod, CampaignMeter, Register
from ablesung.formats import Detected, Profile
from ablesung.plausibility.thresholds import Thresholds
from ablesung.portal.access_views import AccessForm, CustomerAccessForm
from ablesung.portal.forms import FinishForm, MessageForm, MeterReadingForm


def reading_lines() -> list[CampaignMeter]:
    """A meter form's lines: one single register, HT and NT."""
    return [
        CampaignMeter(register=Register(pk=pk, code=code))
        for pk, code in ((11, ""), (12, "HT"), (13, "NT"))
    ]


def detected() -> Detected:
    """A CSV layout for the mapping form, with header cells that need escaping."""
    return Detected(
        kind="csv",
        encoding="utf-8",
        separator=";",
        quotechar='"',
        line_end="\n",
        header_row=1,
        header=["Zähler<nr>", "Stand & Datum", "Datum", ""],
        sheets=["Blatt 1"],
    )


def xlsx_detected() -> Detected:
    return Detected(
        kind="xlsx",
        encoding="",
        separator="",
        quotechar="",
        line_end="",
        header_row=2,
        header=["Zählernummer", "Stand"],
        sheet="Blatt <1>",
        sheets=["Blatt <1>", "Blatt & 2"],
    )


PROFILE = Profile(name="Standard", columns={"meter_number": "Zähler<nr>"})
VALID_MAPPING = {
    "encoding": "utf-8",
    "separator": ";",
    "header_row": "1",
    "date_format": "DD.MM.YYYY",
    "col_meter_number": "Zähler<nr>",
    "col_value": "Stand & Datum",
    "col_reading_date": "Datum",
}


def upload(name: str = "foto.jpg", data: bytes = b"\xff\xd8\xff") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


#: every form of the project as (name, factory), unbound and bound with invalid and valid
#: data: a fresh form per language, so lazy texts and error messages are
#: translated in the language under test
PROJECT_FORMS: list[tuple[str, Callable[[], forms.BaseForm]]] = [
    ("meter-unbound", lambda: MeterReadingForm(reading_lines())),
    (
        "meter-invalid",
        lambda: MeterReadingForm(
            reading_lines(),
            {
                "value_11": "12<3",
                "value_12": "",
                "value_13": "4.567,8",
                "reason_12": "<x>",
                "reading_date": "31.13.2026",
                "comment": "Müller & <Söhne>" * 40,
                "email": "kaputt@",
            },
            {"photo": upload()},
        ),
    ),
    (
        "meter-valid",
        lambda: MeterReadingForm(
            reading_lines(),
            {
                "value_11": "1",
                "value_12": "2,5",
                "value_13": "3",
                "reading_date": "2026-12-31",
                "comment": "Keller",
                "email": "monika@example.org",
            },
        ),
    ),
    ("finish-unbound", lambda: FinishForm()),
    ("finish-invalid", lambda: FinishForm({"email": '"x"@'})),
    ("finish-valid", lambda: FinishForm({"email": "monika@example.org"})),
    ("message-unbound", lambda: MessageForm()),
    (
        "message-invalid",
        lambda: MessageForm({"reason": "nope", "text": "", "phone": "<0351>", "email": "a@b"}),
    ),
    ("message-valid", lambda: MessageForm({"reason": "other", "text": "Hallo & <tschüss>"})),
    ("access-unbound", lambda: AccessForm()),
    ("access-invalid", lambda: AccessForm({"code": "ABCD-<EF>", "meter_number": ""})),
    ("access-valid", lambda: AccessForm({"code": "ABCD", "meter_number": "M1"})),
    *[
        (f"customer-{method}-{kind}", factory)
        for method in (AccessMethod.CUSTOMER_METER, AccessMethod.CUSTOMER_NAME)
        for kind, factory in (
            ("unbound", lambda method=method: CustomerAccessForm(method=method)),
            (
                "invalid",
                lambda method=method: CustomerAccessForm(
                    {f"{method}-customer_number": "&1"}, method=method
                ),
            ),
            (
                "valid",
                lambda method=method: CustomerAccessForm(
                    {
                        f"{method}-customer_number": "K1",
                        f"{method}-meter_number": "M1",
                        f"{method}-last_name": "Weiß",
                    },
                    method=method,
                ),
            ),
        )
    ],
    ("open-campaign-unbound", lambda: OpenCampaignForm()),
    (
        "open-campaign-invalid",
        lambda: OpenCampaignForm({"online_from": "01.12.2026", "online_until": "kaputt"}),
    ),
    (
        "open-campaign-valid",
        lambda: OpenCampaignForm({"online_from": "01.12.2026", "online_until": "15.01.2027"}),
    ),
    (
        "branding-initial",
        lambda: BrandingForm(
            initial={
                "contact_email": "info@example.org",
                "contact_address": "Markt 1\n<01234> Stadt",
                "imprint_url": "https://example.org/?a=1&b=2",
                "accent_colour": "blue",
                "access_methods": ["customer_meter"],
            }
        ),
    ),
    (
        "branding-invalid",
        lambda: BrandingForm(
            {
                "contact_email": "x",
                "contact_phone": "<>",
                "imprint_url": "http://x",
                "remove_logo": "on",
                "access_methods": ["<nope>"],
            },
            MultiValueDict({"logo": [upload()]}),
        ),
    ),
    (
        "branding-valid",
        lambda: BrandingForm(
            {
                "contact_email": "ablesung@stadt-a.example",
                "contact_phone": "03731 123-456",
                "imprint_url": "https://www.stadt-a.example/impressum",
                "accent_colour": "petrol",
            }
        ),
    ),
    ("thresholds-organisation", lambda: ThresholdsForm()),
    (
        "thresholds-campaign-readonly",
        lambda: ThresholdsForm(
            inherited=Thresholds(), readonly=True, example_attrs={"hx-get": "/x?a&b"}
        ),
    ),
    (
        "thresholds-invalid",
        lambda: ThresholdsForm({"vorjahresverbrauch": "1.234,5<"}, inherited=Thresholds()),
    ),
    (
        "thresholds-valid",
        lambda: ThresholdsForm({"vorjahresverbrauch": "1.234,5"}, inherited=Thresholds()),
    ),
    ("profile-unbound", lambda: ProfileUploadForm(prefix="water", kind_label="Wasser <kalt>")),
    ("profile-invalid", lambda: ProfileUploadForm({}, {}, prefix="water")),
    (
        "profile-valid",
        lambda: ProfileUploadForm(
            {}, {"water-file": upload("p.csv", b"Januar;1\n")}, prefix="water"
        ),
    ),
    (
        "upload-unbound",
        lambda: UploadForm(
            campaigns=[(1, "Aktion <1>")],
            profiles=["Standard & Co"],
            initial={"campaign": "1"},
        ),
    ),
    (
        "upload-invalid",
        lambda: UploadForm(
            {"campaign": "", "new_key_date": "31.12.2026", "profile": "x"},
            {"file": upload("liste.csv", b"a;b")},
            campaigns=[(1, "Aktion")],
            profiles=["Standard"],
        ),
    ),
    (
        "upload-valid",
        lambda: UploadForm(
            {"campaign": "1", "profile": "Standard"},
            {"file": upload("liste.csv", b"a;b")},
            campaigns=[(1, "Aktion")],
            profiles=["Standard"],
        ),
    ),
    ("mapping-unbound", lambda: MappingForm(detected=detected(), profile=PROFILE)),
    ("mapping-xlsx", lambda: MappingForm(detected=xlsx_detected(), profile=PROFILE)),
    (
        "mapping-invalid",
        lambda: MappingForm(
            {"header_row": "99", "date_format": "<x>", "col_meter_number": "fehlt"},
            detected=detected(),
            profile=PROFILE,
        ),
    ),
    (
        "mapping-valid",
        lambda: MappingForm(VALID_MAPPING, detected=detected(), profile=PROFILE),
    ),
    ("login-unbound", lambda: StaffLoginForm()),
    ("login-invalid", lambda: StaffLoginForm(data={"username": "kein<at>", "password": ""})),
    ("login-valid-fields", lambda: StaffLoginForm(data={"username": "a@b.de", "password": "x"})),
    ("user-create-unbound", lambda: EmailUserCreationForm()),
    (
        "user-create-invalid",
        lambda: EmailUserCreationForm({"email": "x", "password1": "a", "password2": "b"}),
    ),
    ("user-change", lambda: EmailUserChangeForm(instance=User(email="a&b@example.org"))),
    (
        "user-change-invalid",
        lambda: EmailUserChangeForm({"email": "", "full_name": "&"}, instance=User()),
    ),
]
