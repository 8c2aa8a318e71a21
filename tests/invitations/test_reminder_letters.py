"""Reminder letters: a PDF for the properties without a reading and without an address."""

from pathlib import Path

import pytest
from django.core.management import call_command

from ablesung.letters.models import LetterSelection
from ablesung.letters.services import do_generate_letters
from tests.conftest import OrgData
from tests.invitations.conftest import ACTOR, add, open_campaign
from tests.letters.pdfcheck import page_texts

pytestmark = pytest.mark.django_db


def test_the_reminder_letters_hold_only_non_reporters_without_an_address(
    org_a: OrgData, tmp_path: Path
) -> None:
    open_campaign(org_a)  # stadt-a-1 (the fixture's) has a reading and no address
    add(org_a, "2", "anna@example.org")  # no reading, but an address: a mail
    add(org_a, "3")  # no reading, no address: a letter
    add(org_a, "4", reported=True)  # reported: nothing
    add(org_a, "5")  # no reading, no address: a letter
    batch = do_generate_letters(
        org_a.campaign,
        organisation=org_a.organisation,
        selection=LetterSelection.REMINDER,
        actor=ACTOR,
    )
    path = tmp_path / "erinnerung.pdf"
    with batch.pdf_file.open("rb") as stored:
        path.write_bytes(stored.read())
    texts = page_texts(path)
    assert len(texts) == 2
    assert ["stadt-a-3" in texts[0], "stadt-a-5" in texts[1]] == [True, True]
    for text in texts:
        assert "Erinnerung: Ablesung Ihrer Zähler" in text
        for other in ("stadt-a-1", "stadt-a-2", "stadt-a-4"):
            assert other not in text
    # the command line does the same with --reminder
    out = tmp_path / "cli.pdf"
    call_command(
        "generate_letters",
        "--organisation",
        org_a.organisation.slug,
        "--campaign",
        org_a.campaign.name,
        "--reminder",
        "--out",
        str(out),
    )
    assert [("stadt-a-3" in t) or ("stadt-a-5" in t) for t in page_texts(out)] == [True, True]
