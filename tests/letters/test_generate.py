"""Making letters for a campaign: new access in the PDF, selections, regeneration, command."""

import re
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest
from django.conf import settings
from django.core import serializers
from django.core.management import CommandError, call_command
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import (
    AccessGrant,
    AuditEntry,
    Campaign,
    CampaignMeter,
    CampaignStatus,
    Meter,
    Property,
    Register,
)
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import do_issue_access, resolve_code, resolve_token
from ablesung.core.services.actor import Actor
from ablesung.core.services.capture import find_registers
from ablesung.letters.models import LetterBatch, LetterSelection, LetterStatus
from ablesung.letters.reply_card import ReplyCard, parse
from ablesung.letters.services import LettersRefused, do_generate_letters, letters_made
from tests.conftest import OrgData
from tests.core.test_access import add_property
from tests.letters.pdfcheck import page_codes, page_texts

ACTOR = Actor.system("test")
CODE = re.compile(r"Zugangscode:\s*([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{3})")


def generate(
    data: OrgData, selection: str = LetterSelection.ALL, object_numbers: Sequence[str] = ()
) -> LetterBatch:
    return do_generate_letters(
        data.campaign,
        organisation=data.organisation,
        selection=selection,
        object_numbers=object_numbers,
        actor=ACTOR,
    )


def pdf_of(batch: LetterBatch, tmp_path: Path) -> Path:
    path = tmp_path / f"batch-{batch.pk}.pdf"
    with batch.pdf_file.open("rb") as stored:
        path.write_bytes(stored.read())
    return path


def open_campaign(data: OrgData) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=data.campaign.pk).update(status=CampaignStatus.OPEN)


def test_each_letter_carries_its_property_meters_and_a_working_code(
    org_a: OrgData, tmp_path: Path
) -> None:
    add_property(org_a, "2", owner="Schröder")
    batch = generate(org_a)
    assert batch.status == LetterStatus.SUCCEEDED
    assert (batch.total, batch.done, batch.pages) == (2, 2, 2)
    assert len(batch.pdf_sha256) == 64
    texts = page_texts(pdf_of(batch, tmp_path))
    by_object = {
        number: text for text in texts for number in ("stadt-a-1", "stadt-a-2") if number in text
    }
    assert set(by_object) == {"stadt-a-1", "stadt-a-2"}
    first = by_object["stadt-a-1"]
    assert "Monika Weiß" in first
    assert "Gartenstraße 138" in first
    assert "stadt-a-M1" in first
    assert "76414" in first
    assert "16.01.2026" in first
    assert "stadt-a-M2" in by_object["stadt-a-2"]
    assert "Schröder" in by_object["stadt-a-2"]
    for number, text in by_object.items():
        match = CODE.search(text)
        assert match is not None
        grant = resolve_code(match.group(1), f"stadt-a-M{number.rsplit('-', 1)[1]}")
        assert grant is not None
        assert grant.property.object_number == number


def test_every_qr_code_leads_to_exactly_that_propertys_meters(
    org_a: OrgData, tmp_path: Path
) -> None:
    add_property(org_a, "2")
    open_campaign(org_a)
    path = pdf_of(generate(org_a), tmp_path)
    texts = page_texts(path)
    for text, codes in zip(texts, page_codes(path), strict=True):
        links = [code for code in codes if code.startswith(settings.BASE_URL)]
        cards = [code for code in codes if code.startswith("AK1.")]
        assert len(links) == 1
        assert len(cards) == 1
        own, other = ("1", "2") if "stadt-a-1" in text else ("2", "1")
        assert parse(cards[0]) == ReplyCard(f"stadt-a-{own}", (f"stadt-a-M{own}",))
        client = Client()
        response = client.get(links[0].removeprefix(settings.BASE_URL))
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert f"stadt-a-M{own}" in page.text
        assert f"stadt-a-M{other}" not in page.text


def test_the_reply_card_code_finds_exactly_that_propertys_meters_in_capture(
    org_a: OrgData, org_b: OrgData, tmp_path: Path
) -> None:
    """The code decoded from the printed card, typed into the capture screen's lookup: the
    property and the card's meters in card order; another organisation finds nothing."""
    prop = add_property(org_a, "2")
    with scopes_disabled():  # a second meter with a number no keyboard layout types safely
        meter = Meter.objects.create(
            organisation=org_a.organisation, property=prop, number="Zähler 2/b %"
        )
        register = Register.objects.create(organisation=org_a.organisation, meter=meter)
        CampaignMeter.objects.create(
            organisation=org_a.organisation, campaign=org_a.campaign, register=register
        )
    path = pdf_of(generate(org_a), tmp_path)
    cards = sorted(code for codes in page_codes(path) for code in codes if "AK1." in code)
    assert len(cards) == 2
    expected = {
        "stadt-a-1": ["stadt-a-M1"],
        "stadt-a-2": ["Zähler 2/b %", "stadt-a-M2"],  # the letter's order: by meter number
    }
    for code in cards:
        with organisation_scope(org_a.organisation):
            found = find_registers(org_a.campaign, code)
        assert found.matched == "card"
        assert found.property is not None
        number = found.property.object_number
        assert [line.register.meter.number for line in found.lines] == expected[number]
        assert not found.problem
        assert not found.notice
        with organisation_scope(org_b.organisation):
            elsewhere = find_registers(org_b.campaign, code)
        assert (elsewhere.lines, elsewhere.property, elsewhere.matched) == ([], None, "")
        assert elsewhere.problem == (
            f"Antwortkarte gelesen, aber keine Objektnummer „{number}“ gefunden."
        )


def test_regenerating_invalidates_the_old_links_and_codes(org_a: OrgData, tmp_path: Path) -> None:
    first = pdf_of(generate(org_a), tmp_path)
    [old_link, _] = sorted(page_codes(first)[0], key=lambda code: code.startswith("AK1."))
    old_code = CODE.search(page_texts(first)[0])
    assert old_code is not None
    token = old_link.rsplit("/", 1)[1]
    assert resolve_token(token) is not None
    with organisation_scope(org_a.organisation):
        before = letters_made(org_a.campaign)  # with tests/conftest.py's stored batch
    second = pdf_of(generate(org_a), tmp_path)
    assert resolve_token(token) is None
    assert resolve_code(old_code.group(1), "stadt-a-M1") is None
    new_code = CODE.search(page_texts(second)[0])
    assert new_code is not None
    assert new_code.group(1) != old_code.group(1)
    assert resolve_code(new_code.group(1), "stadt-a-M1") is not None
    with organisation_scope(org_a.organisation):
        assert letters_made(org_a.campaign) == before + 1
        entries = list(AuditEntry.objects.filter(action="letters.generated"))
    assert sorted(entry.data["revoked"] for entry in entries) == [0, 1]


def test_only_without_email_keeps_the_others_access(org_a: OrgData, tmp_path: Path) -> None:
    add_property(org_a, "2")
    with scopes_disabled():
        Property.objects.filter(object_number="stadt-a-2").update(email="b@example.org")
    earlier = {
        access.property.object_number: access
        for access in do_issue_access(org_a.campaign, organisation=org_a.organisation, actor=ACTOR)
    }
    batch = generate(org_a, selection=LetterSelection.WITHOUT_EMAIL)
    assert batch.done == 1
    [text] = page_texts(pdf_of(batch, tmp_path))
    assert "stadt-a-1" in text
    assert "stadt-a-2" not in text
    assert resolve_token(earlier["stadt-a-1"].token) is None
    assert resolve_token(earlier["stadt-a-2"].token) is not None


def test_a_list_of_object_numbers(org_a: OrgData, tmp_path: Path) -> None:
    add_property(org_a, "2")
    add_property(org_a, "3")
    batch = generate(
        org_a, selection=LetterSelection.OBJECT_NUMBERS, object_numbers=["stadt-a-3", " "]
    )
    assert batch.object_numbers == ["stadt-a-3"]
    [text] = page_texts(pdf_of(batch, tmp_path))
    assert "stadt-a-3" in text


def test_refusals_change_nothing(org_a: OrgData) -> None:
    with pytest.raises(LettersRefused, match="keine Zähler in der Ableseaktion: stadt-a-9"):
        generate(
            org_a,
            selection=LetterSelection.OBJECT_NUMBERS,
            object_numbers=["stadt-a-1", "stadt-a-9"],
        )
    with pytest.raises(LettersRefused, match="mindestens eine Objektnummer"):
        generate(org_a, selection=LetterSelection.OBJECT_NUMBERS)
    with scopes_disabled():
        Property.objects.filter(object_number="stadt-a-1").update(email="a@example.org")
    with pytest.raises(LettersRefused, match="keine Objekte"):
        generate(org_a, selection=LetterSelection.WITHOUT_EMAIL)
    with scopes_disabled():
        assert LetterBatch.objects.count() == 1  # tests/conftest.py's stored batch
        assert not AccessGrant.objects.exists()
        assert not AuditEntry.objects.filter(action="letters.generated").exists()


def test_no_code_or_token_is_stored_outside_the_pdf(org_a: OrgData, tmp_path: Path) -> None:
    path = pdf_of(generate(org_a), tmp_path)
    code = CODE.search(page_texts(path)[0])
    assert code is not None
    [link] = [c for c in page_codes(path)[0] if c.startswith(settings.BASE_URL)]
    token = link.rsplit("/", 1)[1]
    with scopes_disabled():
        dump = serializers.serialize(
            "json",
            [
                *AccessGrant.objects.all(),
                *LetterBatch.objects.all(),
                *AuditEntry.objects.all(),
            ],
        )
    assert token not in dump
    assert code.group(1) not in dump
    assert code.group(1).replace("-", "") not in dump


def test_command_writes_the_pdf(org_a: OrgData, tmp_path: Path) -> None:
    out = tmp_path / "briefe.pdf"
    call_command(
        "generate_letters",
        "--organisation=stadt-a",
        "--campaign=Jahresablesung 2026",
        "--out",
        str(out),
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Monika Weiß" in page_texts(out)[0]
    with pytest.raises(CommandError, match="gibt es schon"):
        call_command(
            "generate_letters",
            "--organisation=stadt-a",
            "--campaign=Jahresablesung 2026",
            "--out",
            str(out),
        )


def test_command_refuses_and_leaves_no_file(org_a: OrgData, tmp_path: Path) -> None:
    out = tmp_path / "briefe.pdf"
    with pytest.raises(CommandError, match="Organisation „nirgendwo“ gibt es nicht"):
        call_command(
            "generate_letters", "--organisation=nirgendwo", "--campaign=x", "--out", str(out)
        )
    with scopes_disabled():
        Property.objects.update(email="a@example.org")
    with pytest.raises(CommandError, match="keine Objekte"):
        call_command(
            "generate_letters",
            "--organisation=stadt-a",
            "--campaign=Jahresablesung 2026",
            "--only-without-email",
            "--out",
            str(out),
        )
    assert not out.exists()
    with scopes_disabled():
        assert LetterBatch.objects.count() == 1  # tests/conftest.py's stored batch
