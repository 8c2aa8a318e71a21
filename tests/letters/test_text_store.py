"""Stored texts: the fallback chain, checks on save, the custom text in the letters, the
preview PDF (no access issued), the logo in the letterhead, selection by street or place."""

import datetime
import io
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled
from PIL import Image
from pypdf import PdfReader

from ablesung.core.models import AccessGrant, AuditEntry, Campaign, Organisation, Property
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.actor import Actor
from ablesung.letters import pdf, preview, text_store, texts
from ablesung.letters.models import CustomText, LetterBatch, LetterSelection
from ablesung.letters.services import LettersRefused, do_generate_letters, letterhead
from ablesung.letters.text_store import TextInvalid, do_reset_text, do_save_text, texts_for
from ablesung.letters.texts import TextKind, TextSet
from tests.conftest import OrgData
from tests.core.test_access import add_property
from tests.letters.pdfcheck import page_texts, text_box_mm

ACTOR = Actor.system("test")


def save(data: OrgData, kind: TextKind, subject: str, body: str, campaign: bool = False) -> bool:
    return do_save_text(
        data.organisation,
        kind,
        subject=subject,
        body=body,
        campaign=data.campaign if campaign else None,
        actor=ACTOR,
    )


def other_campaign(data: OrgData) -> Campaign:
    with scopes_disabled():
        created: Campaign = Campaign.objects.create(
            organisation=data.organisation,
            name="Zwischenablesung",
            key_date=datetime.date(2026, 6, 30),
        )
    return created


def test_the_fallback_chain_campaign_organisation_default(org_a: OrgData) -> None:
    org, campaign = org_a.organisation, org_a.campaign
    for kind in TextKind:
        assert texts_for(org, campaign, kind) == texts.DEFAULTS[kind]
    save(org_a, TextKind.LETTER, "Ablesung {stichtag}", "Hallo {name}, Ihr Code: {zugangscode}")
    organisation_text = TextSet("Ablesung {stichtag}", "Hallo {name}, Ihr Code: {zugangscode}")
    assert texts_for(org, campaign, TextKind.LETTER) == organisation_text
    assert texts_for(org, None, TextKind.LETTER) == organisation_text
    save(org_a, TextKind.LETTER, "Aktion {frist}", "Nur diese Aktion, {name}.", campaign=True)
    assert texts_for(org, campaign, TextKind.LETTER) == TextSet(
        "Aktion {frist}", "Nur diese Aktion, {name}."
    )
    # another campaign and the organisation keep the organisation's text
    assert texts_for(org, other_campaign(org_a), TextKind.LETTER) == organisation_text
    assert texts_for(org, None, TextKind.LETTER) == organisation_text
    # the other kinds are untouched
    assert (
        texts_for(org, campaign, TextKind.REMINDER_LETTER)
        == texts.DEFAULTS[TextKind.REMINDER_LETTER]
    )
    # a mail text has no campaign level
    save(org_a, TextKind.INVITATION_MAIL, "Einladung", "Hallo {name}\n{objekte}")
    assert texts_for(org, campaign, TextKind.INVITATION_MAIL) == TextSet(
        "Einladung", "Hallo {name}\n{objekte}"
    )
    with pytest.raises(ValueError, match="no own"):
        save(org_a, TextKind.INVITATION_MAIL, "x", "y", campaign=True)
    # reset: the campaign falls back to the organisation, the organisation to the default
    assert do_reset_text(org, TextKind.LETTER, campaign=campaign, actor=ACTOR)
    assert texts_for(org, campaign, TextKind.LETTER) == organisation_text
    assert do_reset_text(org, TextKind.LETTER, actor=ACTOR)
    assert texts_for(org, campaign, TextKind.LETTER) == texts.DEFAULTS[TextKind.LETTER]
    assert not do_reset_text(org, TextKind.LETTER, actor=ACTOR)
    with scopes_disabled():
        actions = list(AuditEntry.objects.order_by("pk").values_list("action", "data"))
    assert [action for action, _data in actions] == [
        "letters.text_saved",
        "letters.text_saved",
        "letters.text_saved",
        "letters.text_reset",
        "letters.text_reset",
    ]
    assert actions[1][1] == {"kind": "letter", "campaign": campaign.pk}


def test_texts_of_one_organisation_stay_there(org_a: OrgData, org_b: OrgData) -> None:
    save(org_a, TextKind.LETTER, "Nur A", "Text von A, {name}")
    assert (
        texts_for(org_b.organisation, org_b.campaign, TextKind.LETTER)
        == texts.DEFAULTS[TextKind.LETTER]
    )


@pytest.mark.parametrize(
    ("kind", "subject", "body", "field", "message"),
    [
        (
            TextKind.LETTER,
            "Ablesung",
            "Hallo {vorname}",
            "body",
            "Unbekannter Platzhalter {vorname}",
        ),
        (TextKind.LETTER, "Code {zugangscode}", "Hallo", "subject", "Betreff: Unbekannter"),
        (TextKind.INVITATION_MAIL, "Einladung", "Code {zugangscode}", "body", "{zugangscode}"),
        (TextKind.LETTER, "Ablesung", "Hallo {name", "body", "geschweifte Klammer"),
        (TextKind.LETTER, "Ablesung", "Wert {name:>30}", "body", "Formatangabe"),
        (TextKind.LETTER, "", "Hallo", "subject", "Bitte geben Sie einen Betreff ein."),
        (TextKind.LETTER, "Ablesung", "  ", "body", "Bitte geben Sie einen Text ein."),
        (TextKind.LETTER, "x" * 151, "Hallo", "subject", "höchstens 150"),
        (TextKind.INVITATION_MAIL, "Einladung", "x" * 4001, "body", "höchstens 4000"),
        (TextKind.LETTER, "Ablesung", "Zeile\n" * 12, "body", "Platz für höchstens 9 Zeilen"),
        (TextKind.REMINDER_LETTER, "Erinnerung", "lang " * 400, "body", "zu lang für den Brief"),
    ],
)
def test_a_bad_text_is_refused_at_its_field_and_nothing_is_stored(
    org_a: OrgData, kind: TextKind, subject: str, body: str, field: str, message: str
) -> None:
    with pytest.raises(TextInvalid) as refused:
        save(org_a, kind, subject, body)
    assert message in " ".join(refused.value.errors[field])
    with scopes_disabled():
        assert not CustomText.objects.exists()
        assert not AuditEntry.objects.exists()


def test_every_default_passes_the_checks_of_a_save(org_a: OrgData) -> None:
    for kind, default in texts.DEFAULTS.items():
        assert (
            text_store.clean_text(org_a.organisation, kind, default.subject, default.body)
            == default
        )


def test_the_writer_never_draws_more_lines_than_fit(tmp_path: Path) -> None:
    """The last guard: a text longer than the area (it cannot be stored) is cut, never
    drawn into the meter table."""
    body = "\n".join(f"Zeile {index}" for index in range(1, 21))
    head = pdf.Letterhead(organisation="Stadt", sender_line="Stadt", text=body)
    letter = pdf.Letter(
        "O-1",
        "Name",
        ["Name", "Weg 1", "12345 Ort"],
        "https://x/r/t",
        "ABCD-EFGH-JKM",
        [pdf.LetterRow("M1", "Wasser")],
    )
    out = tmp_path / "l.pdf"
    with out.open("wb") as handle:
        pdf.write_letters(handle, head, [letter])
    text = page_texts(out)[0]
    limit = pdf.max_text_lines()
    assert f"Zeile {limit}" in text
    assert f"Zeile {limit + 1}\n" not in text + "\n"
    last = text_box_mm(out, 0, f"Zeile {limit}")
    table = text_box_mm(out, 0, "Zählernummer")
    assert last[3] < table[1]


def pdf_path(batch: LetterBatch, tmp_path: Path) -> Path:
    path = tmp_path / f"batch-{batch.pk}.pdf"
    with batch.pdf_file.open("rb") as stored:
        path.write_bytes(stored.read())
    return path


def test_the_letters_carry_the_campaigns_own_text(org_a: OrgData, tmp_path: Path) -> None:
    save(
        org_a,
        TextKind.LETTER,
        "Hausmitteilung zum {stichtag}",
        "Liebe Familie {name}, bitte bis {frist} ablesen.",
    )
    save(
        org_a,
        TextKind.LETTER,
        "Sonderablesung zum {stichtag}",
        "Sehr geehrte Frau {name},\nObjekt {objekt}: bitte bis {frist} melden.",
        campaign=True,
    )
    batch = do_generate_letters(org_a.campaign, organisation=org_a.organisation, actor=ACTOR)
    [text] = page_texts(pdf_path(batch, tmp_path))
    assert "Sonderablesung zum 31.12.2026" in text
    assert "Sehr geehrte Frau Monika Weiß," in text
    assert "Objekt stadt-a-1: bitte bis" in text
    assert "Hausmitteilung" not in text
    assert "Guten Tag" not in text


def test_the_reminder_letterhead_takes_the_reminder_text(org_a: OrgData) -> None:
    save(
        org_a,
        TextKind.REMINDER_LETTER,
        "Noch offen: {stichtag}",
        "Bitte denken Sie an {frist}.",
        campaign=True,
    )
    head = letterhead(org_a.organisation, org_a.campaign, kind=TextKind.REMINDER_LETTER)
    assert (head.subject, head.text) == ("Noch offen: {stichtag}", "Bitte denken Sie an {frist}.")
    assert head.title.startswith("Erinnerungsbriefe")
    assert (
        letterhead(org_a.organisation, org_a.campaign).text == texts.DEFAULTS[TextKind.LETTER].body
    )


def test_the_preview_pdf_renders_one_letter_and_issues_no_access(
    org_a: OrgData, tmp_path: Path
) -> None:
    with scopes_disabled():
        grants = AccessGrant.objects.count()
        audits = AuditEntry.objects.count()
    sample = preview.sample_for(org_a.organisation, None)
    assert sample.campaign == org_a.campaign
    assert sample.prop == org_a.property
    data = preview.letter_pdf(
        org_a.organisation,
        sample,
        TextKind.LETTER,
        TextSet("Probe {stichtag}", "Hallo {name}, Code {zugangscode}."),
    )
    out = tmp_path / "vorschau.pdf"
    out.write_bytes(data)
    [text] = page_texts(out)
    assert "MUSTER" in text
    assert "Probe 31.12.2026" in text
    assert "Hallo Monika Weiß, Code MUST-ERXX-XXX." in text
    assert "stadt-a-M1" in text
    with scopes_disabled():
        assert AccessGrant.objects.count() == grants
        assert AuditEntry.objects.count() == audits


@pytest.mark.django_db
def test_a_preview_without_campaigns_uses_a_made_up_property() -> None:
    org = Organisation.objects.create(slug="leer", name="Leere Gemeinde")
    sample = preview.sample_for(org, None)
    assert sample == preview.Sample(None, None)
    shown = preview.rendered(
        org, sample, TextKind.INVITATION_MAIL, texts.DEFAULTS[TextKind.INVITATION_MAIL]
    )
    assert "Erika Mustermann" in shown.body
    assert "MUSTER-001" in shown.body
    assert preview.letter_pdf(
        org, sample, TextKind.LETTER, texts.DEFAULTS[TextKind.LETTER]
    ).startswith(b"%PDF")


def test_the_mail_preview_lists_the_sample_persons_properties(org_a: OrgData) -> None:
    second = add_property(org_a, "2")
    with scopes_disabled():
        Property.objects.filter(pk__in=[org_a.property.pk, second.pk]).update(
            email="weiss@example.org"
        )
        Property.objects.filter(pk=second.pk).update(postal_code="09112")  # after the first
    sample = preview.sample_for(org_a.organisation, None)
    shown = preview.rendered(
        org_a.organisation,
        sample,
        TextKind.REMINDER_MAIL,
        TextSet("Bis {frist}", "{name}:\n{objekte}"),
    )
    assert shown.body.startswith("Monika Weiß:\n")
    assert "(Objekt stadt-a-1)" in shown.body
    assert "(Objekt stadt-a-2)" in shown.body


# --- the logo -----------------------------------------------------------------------------


def jpeg_logo(width: int = 400, height: int = 160) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(width):  # a gradient: does not compress to nothing
        for y in range(0, height, 8):
            image.putpixel((x, y), (x % 256, y % 256, (x * y) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def write(tmp_path: Path, name: str, head: pdf.Letterhead, count: int) -> Path:
    letters = [
        pdf.Letter(
            f"O-{index}",
            f"Name {index}",
            [f"Name {index}", "Weg 1", "12345 Ort"],
            f"https://x/r/{index}",
            "ABCD-EFGH-JKM",
            [pdf.LetterRow(f"M{index}", "Wasser")],
        )
        for index in range(count)
    ]
    out = tmp_path / name
    with out.open("wb") as handle:
        pdf.write_letters(handle, head, letters)
    return out


def image_names(page: object) -> set[str]:
    """The image XObjects a page draws, directly or through a form XObject."""
    found: set[str] = set()

    def walk(resources: object) -> None:
        xobjects = resources.get("/XObject", {}) if resources else {}  # type: ignore[attr-defined]
        for name, ref in xobjects.items():
            xobject = ref.get_object()
            if xobject["/Subtype"] == "/Image":
                found.add(f"{name}:{ref.idnum}")
            elif xobject["/Subtype"] == "/Form":
                walk(xobject.get("/Resources"))

    walk(page["/Resources"])  # type: ignore[index]
    return found


def test_the_logo_is_drawn_on_every_page_and_stored_once(tmp_path: Path) -> None:
    logo = jpeg_logo()
    plain = pdf.Letterhead(
        organisation="Stadtwerke Musterstadt",
        sender_line="Stadtwerke · Markt 1",
        contact=["Markt 1", "12345 Musterstadt"],
    )
    with_logo = pdf.Letterhead(
        organisation=plain.organisation,
        sender_line=plain.sender_line,
        contact=plain.contact,
        logo=logo,
    )
    one = write(tmp_path, "one.pdf", with_logo, 1)
    twenty = write(tmp_path, "twenty.pdf", with_logo, 20)
    twenty_plain = write(tmp_path, "plain.pdf", plain, 20)
    pages = PdfReader(twenty).pages
    assert len(pages) == 20
    names = [image_names(page) for page in pages]
    assert all(len(found) == 1 for found in names)
    assert len(set().union(*names)) == 1  # one image object, shared by every page
    assert not any(image_names(page) for page in PdfReader(twenty_plain).pages)
    growth = twenty.stat().st_size - twenty_plain.stat().st_size
    assert len(logo) * 0.9 < growth < len(logo) * 1.1 + 2000
    assert one.stat().st_size > len(logo)
    # the address block stays inside the window; the logo does not push the contact lines into it
    left, top, right, bottom = text_box_mm(twenty, 0, "Name 0")
    assert left >= pdf.ADDRESS_LEFT
    assert right <= pdf.ADDRESS_LEFT + pdf.ADDRESS_WIDTH
    assert top >= pdf.ANSCHRIFT_TOP
    assert bottom <= pdf.ADDRESS_TOP + pdf.ADDRESS_HEIGHT
    contact = text_box_mm(twenty, 0, "12345 Musterstadt")
    assert pdf.LOGO_BOX[1] + pdf.LOGO_BOX[3] < contact[1]
    assert contact[3] < pdf.ADDRESS_TOP


def test_the_organisations_logo_goes_into_its_letters(org_a: OrgData, tmp_path: Path) -> None:
    name = default_storage.save("logos/stadt-a-test.jpg", ContentFile(jpeg_logo()))
    with scopes_disabled():
        Organisation.objects.filter(pk=org_a.organisation.pk).update(logo=name)
        org_a.organisation.refresh_from_db()
    assert letterhead(org_a.organisation, org_a.campaign).logo == default_storage.open(name).read()
    batch = do_generate_letters(org_a.campaign, organisation=org_a.organisation, actor=ACTOR)
    [page] = PdfReader(pdf_path(batch, tmp_path)).pages
    assert len(image_names(page)) == 1


# --- selection by street or place ---------------------------------------------------------


def street_property(data: OrgData, number: str, street: str, city: str) -> Property:
    prop = add_property(data, number)
    with scopes_disabled():
        Property.objects.filter(pk=prop.pk).update(street=street, city=city)
    return prop


def numbers(batch: LetterBatch, tmp_path: Path) -> list[str]:
    found = []
    for text in page_texts(pdf_path(batch, tmp_path)):
        found += [
            word
            for word in text.split()
            if word.startswith("stadt-a-") and "-M" not in word and "-K" not in word
        ]
    return sorted(set(found))


def test_letters_for_one_street_or_one_place(org_a: OrgData, tmp_path: Path) -> None:
    street_property(org_a, "2", "Gartenstraße", "Stadt A OT Nord")  # same street, other place
    street_property(org_a, "3", "Bergstraße", "Stadt A OT Nord")
    street_property(org_a, "4", "Gartenstraße", "Stadt A")
    from ablesung.letters.services import campaign_districts, campaign_streets

    with organisation_scope(org_a.organisation):
        assert campaign_streets(org_a.campaign) == [
            ("Bergstraße", "Stadt A OT Nord", 1),
            ("Gartenstraße", "Stadt A", 2),
            ("Gartenstraße", "Stadt A OT Nord", 1),
        ]
        assert campaign_districts(org_a.campaign) == [("Stadt A", 2), ("Stadt A OT Nord", 2)]
    street = do_generate_letters(
        org_a.campaign,
        organisation=org_a.organisation,
        selection=LetterSelection.STREET,
        street="Gartenstraße",
        district="Stadt A",
        actor=ACTOR,
    )
    assert (street.street, street.district, street.done) == ("Gartenstraße", "Stadt A", 2)
    assert numbers(street, tmp_path) == ["stadt-a-1", "stadt-a-4"]
    place = do_generate_letters(
        org_a.campaign,
        organisation=org_a.organisation,
        selection=LetterSelection.DISTRICT,
        district="Stadt A OT Nord",
        street="ignored",
        actor=ACTOR,
    )
    assert (place.street, place.district) == ("", "Stadt A OT Nord")
    assert numbers(place, tmp_path) == ["stadt-a-2", "stadt-a-3"]
    with scopes_disabled():
        audit = AuditEntry.objects.filter(action="letters.requested").order_by("pk").last()
    assert audit is not None
    assert audit.data["district"] == "Stadt A OT Nord"


def test_an_empty_street_or_place_is_refused(org_a: OrgData) -> None:
    with pytest.raises(LettersRefused, match="In der Straße „Bergstraße“ hat kein Objekt"):
        do_generate_letters(
            org_a.campaign,
            organisation=org_a.organisation,
            selection=LetterSelection.STREET,
            street="Bergstraße",
            actor=ACTOR,
        )
    with pytest.raises(LettersRefused, match="Im Ort „Nirgendwo“ hat kein Objekt"):
        do_generate_letters(
            org_a.campaign,
            organisation=org_a.organisation,
            selection=LetterSelection.DISTRICT,
            district="Nirgendwo",
            actor=ACTOR,
        )
    with pytest.raises(LettersRefused, match="Bitte eine Straße angeben"):
        do_generate_letters(
            org_a.campaign,
            organisation=org_a.organisation,
            selection=LetterSelection.STREET,
            actor=ACTOR,
        )
    with pytest.raises(LettersRefused, match="Bitte einen Ort oder Ortsteil angeben"):
        do_generate_letters(
            org_a.campaign,
            organisation=org_a.organisation,
            selection=LetterSelection.DISTRICT,
            actor=ACTOR,
        )
    with scopes_disabled():
        assert LetterBatch.objects.count() == 1  # tests/conftest.py's stored batch
        assert not AccessGrant.objects.exists()


def test_the_command_selects_a_street_or_a_place(org_a: OrgData, tmp_path: Path) -> None:
    street_property(org_a, "2", "Bergstraße", "Stadt A OT Nord")
    base = ["generate_letters", "--organisation=stadt-a", "--campaign=Jahresablesung 2026"]
    call_command(*base, "--street=Bergstraße", "--out", str(tmp_path / "strasse.pdf"))
    [text] = page_texts(tmp_path / "strasse.pdf")
    assert "stadt-a-2" in text
    call_command(*base, "--district=Stadt A", "--out", str(tmp_path / "ort.pdf"))
    [text] = page_texts(tmp_path / "ort.pdf")
    assert "stadt-a-1" in text
    with pytest.raises(CommandError, match="kein Objekt Zähler"):
        call_command(
            *base, "--street=Bergstraße", "--district=Stadt A", "--out", str(tmp_path / "leer.pdf")
        )
    assert not (tmp_path / "leer.pdf").exists()
    with pytest.raises(CommandError, match="nur eine Auswahl"):
        call_command(
            *base, "--street=Bergstraße", "--only-without-email", "--out", str(tmp_path / "x.pdf")
        )
    with scopes_disabled():
        batches = list(
            LetterBatch.objects.order_by("pk").values_list("selection", "street", "district")
        )
    assert batches[-2:] == [("street", "Bergstraße", ""), ("district", "", "Stadt A")]
