"""Letters in chunks: one PDF from several committed parts, crash and resume, the sweep,
progress between chunks, the join's and the writer's memory."""

import datetime
import io
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import segno
import time_machine
import zxingcpp
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client
from django_scopes import scopes_disabled
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from ablesung.core.models import Property
from ablesung.core.scoping import organisation_scope
from ablesung.core.services.access import resolve_code, resolve_token
from ablesung.letters import pdf, services
from ablesung.letters.models import LetterBatch, LetterStatus
from ablesung.letters.services import build_batch, do_request_letters, do_retry_letters
from ablesung.letters.tasks import resume_letter_batches
from ablesung.lib.codes import generate_token
from tests.conftest import OrgData
from tests.core.test_access import add_property
from tests.letters.pdfcheck import page_codes, page_texts
from tests.letters.test_generate import ACTOR, CODE, generate, pdf_of

NUMBERS = [f"stadt-a-{n}" for n in range(1, 8)]


@pytest.fixture
def seven(org_a: OrgData, settings: Any) -> OrgData:
    """Seven properties, three letters per chunk: parts of 3, 3 and 1 letters."""
    for number in range(2, 8):
        add_property(org_a, str(number))
    settings.LETTER_CHUNK_SIZE = 3
    return org_a


def links_and_codes(path: Path) -> dict[str, tuple[str, str]]:
    """object number → (the QR code's link, the printed access code), one per page."""
    found: dict[str, tuple[str, str]] = {}
    for text, codes in zip(page_texts(path), page_codes(path), strict=True):
        [number] = [n for n in NUMBERS if re.search(rf"{n}\b", text)]
        assert number not in found, f"{number} twice"
        [link] = [code for code in codes if code.startswith(settings.BASE_URL)]
        match = CODE.search(text)
        assert match is not None
        found[number] = (link, match.group(1))
    return found


def printed_order(batch: LetterBatch) -> list[str]:
    with scopes_disabled():
        numbers = dict(Property.objects.values_list("pk", "object_number"))
    return [numbers[pk] for pk in batch.property_ids]


def meter_of(number: str) -> str:
    return number.replace("stadt-a-", "stadt-a-M")


def test_several_chunks_make_one_pdf_whose_codes_all_work(seven: OrgData, tmp_path: Path) -> None:
    first = links_and_codes(pdf_of(generate(seven), tmp_path))
    batch = generate(seven)
    assert (batch.parts, batch.done, batch.pages, batch.total) == (3, 7, 7, 7)
    found = links_and_codes(pdf_of(batch, tmp_path))
    assert sorted(found) == NUMBERS  # each property once, in the fixed order
    assert list(found) == printed_order(batch)
    for number, (link, code) in found.items():
        grant = resolve_token(link.rsplit("/", 1)[1])
        assert grant is not None
        assert grant.property.object_number == number
        assert resolve_code(code, meter_of(number)) is not None
        old_link, old_code = first[number]
        assert resolve_token(old_link.rsplit("/", 1)[1]) is None
        assert resolve_code(old_code, meter_of(number)) is None
    # the parts are gone, the joined PDF carries title and language
    assert not default_storage.exists(services.part_name(batch, 1))
    reader = PdfReader(pdf_of(batch, tmp_path))
    assert str(reader.root_object["/Lang"]) == "de-DE"
    assert reader.metadata is not None
    assert reader.metadata.title == "Ablesebriefe – Jahresablesung 2026"


def test_a_crash_after_a_chunk_resumes_with_the_next_one(
    seven: OrgData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = links_and_codes(pdf_of(generate(seven), tmp_path))
    store = services._store_part
    stored: list[str] = []

    def failing_once(name: str, handle: io.BufferedRandom) -> None:
        if len(stored) == 1:  # the second chunk's storage fails: its transaction rolls back
            stored.append("failed")
            raise OSError("disk full")
        stored.append(name)
        store(name, handle)

    monkeypatch.setattr(services, "_store_part", failing_once)
    batch = do_request_letters(
        seven.campaign, organisation=seven.organisation, actor=ACTOR, enqueue=False
    )
    assert build_batch(batch.pk) == LetterStatus.FAILED
    with organisation_scope(seven.organisation):
        batch.refresh_from_db()
    assert (batch.status, batch.done, batch.parts, batch.position) == ("failed", 3, 1, 3)
    assert batch.message == "Die Ablesebriefe konnten nicht erstellt werden."
    # the first chunk committed: its properties have new access (old codes invalid), the
    # second chunk rolled back completely: its properties keep their old letters
    order = printed_order(batch)
    for number in order[:3]:
        assert resolve_code(before[number][1], meter_of(number)) is None
    for number in order[3:]:
        assert resolve_code(before[number][1], meter_of(number)) is not None
    assert do_retry_letters(batch, actor=ACTOR)
    assert build_batch(batch.pk) == LetterStatus.SUCCEEDED
    assert stored[2:] == [services.part_name(batch, n) for n in (2, 3)]  # from chunk 2 on
    with organisation_scope(seven.organisation):
        batch.refresh_from_db()
    assert (batch.done, batch.parts, batch.pages, batch.attempts) == (7, 3, 7, 2)
    found = links_and_codes(pdf_of(batch, tmp_path))
    assert list(found) == order
    for number, (link, code) in found.items():  # also the codes committed before the crash
        assert resolve_code(code, meter_of(number)) is not None
        assert resolve_token(link.rsplit("/", 1)[1]) is not None
        assert resolve_code(before[number][1], meter_of(number)) is None


def test_a_failed_batch_may_not_continue_after_a_newer_one(seven: OrgData) -> None:
    batch = do_request_letters(
        seven.campaign, organisation=seven.organisation, actor=ACTOR, enqueue=False
    )
    with scopes_disabled():
        LetterBatch.objects.filter(pk=batch.pk).update(status=LetterStatus.FAILED)
    generate(seven)
    with organisation_scope(seven.organisation):
        batch.refresh_from_db()
    assert not do_retry_letters(batch, actor=ACTOR)


def test_the_sweep_hands_a_lost_or_expired_batch_to_a_new_task(seven: OrgData) -> None:
    t0 = datetime.datetime(2027, 1, 10, 12, tzinfo=datetime.UTC)
    with time_machine.travel(t0, tick=False):
        batch = do_request_letters(
            seven.campaign, organisation=seven.organisation, actor=ACTOR, enqueue=False
        )
        assert resume_letter_batches() == 0  # queued only just now
    with time_machine.travel(t0 + services.QUEUED_GRACE + datetime.timedelta(minutes=1)):
        assert services.pending_batches() == [batch.pk]  # the task got lost
    with time_machine.travel(t0, tick=False):
        # a worker took it, committed one chunk and died
        with organisation_scope(seven.organisation):
            assert services._claim(batch.pk) != "skipped"
            head = services.letterhead(seven.organisation, seven.campaign)
            assert services._chunk(batch.pk, 1, seven.organisation, 3, head)
        assert services.pending_batches() == []
        assert build_batch(batch.pk) == "skipped"  # the lease still holds
    later = t0 + services.LEASE + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert services.pending_batches() == [batch.pk]
        assert resume_letter_batches() == 1  # the immediate backend runs the task now
        assert services.pending_batches() == []
    with organisation_scope(seven.organisation):
        batch.refresh_from_db()
    assert (batch.status, batch.done, batch.parts, batch.attempts) == ("succeeded", 7, 3, 2)


def test_progress_is_visible_between_chunks(
    seven: OrgData, client_a: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = client_a
    batch = do_request_letters(
        seven.campaign, organisation=seven.organisation, actor=ACTOR, enqueue=False
    )
    url = f"/o/{seven.organisation.slug}/briefe/{batch.pk}/"
    seen: list[str] = []
    chunk = services._chunk

    def chunk_and_look(*args: object, **kwargs: object) -> bool:
        more = chunk(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(clerk.get(url, {"gesehen": "0"}, headers={"hx-request": "true"}).text)
        return more

    monkeypatch.setattr(services, "_chunk", chunk_and_look)
    assert build_batch(batch.pk) == LetterStatus.SUCCEEDED
    assert '<progress id="letter-progress" max="7" value="3">' in seen[0]
    assert "3 von 7 Briefen" in seen[0]
    assert "6 von 7 Briefen erstellt" in seen[1]  # the live region speaks
    page = clerk.get(url)
    assert "PDF herunterladen" in page.text


def test_a_failed_batch_says_why_and_continues_on_request(
    seven: OrgData,
    client_a: Client,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    clerk = client_a
    batch = do_request_letters(
        seven.campaign, organisation=seven.organisation, actor=ACTOR, enqueue=False
    )
    font_dir = pdf.FONT_DIR
    registered = pdf.FONT in pdfmetrics.getRegisteredFontNames()
    try:
        pdf.FONT_DIR = tmp_path  # no font there
        if registered:
            del pdfmetrics._fonts[pdf.FONT]
        assert build_batch(batch.pk) == LetterStatus.FAILED
    finally:
        pdf.FONT_DIR = font_dir
    url = f"/o/{seven.organisation.slug}/briefe/{batch.pk}/"
    page = clerk.get(url).text
    assert "Die Schrift DejaVu Sans fehlt" in page
    assert "Die bisherigen Zugangscodes und Links gelten weiter." in page
    assert "Erneut versuchen" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(f"{url}fortsetzen/")
    assert response.status_code == 302
    with organisation_scope(seven.organisation):
        batch.refresh_from_db()
    assert (batch.status, batch.done) == ("succeeded", 7)  # the immediate backend ran it


def test_a_fixed_qr_mask_decodes_for_many_payloads() -> None:
    payloads = [f"{settings.BASE_URL}/r/{generate_token()}" for _ in range(100)]
    payloads += [f"ABLESUNG-ANTWORT\n{n}-{n:06d}-001\n{10_000_000 + n}" for n in range(100)]
    for data in payloads:
        code = segno.make_qr(data, error="m", mask=pdf.QR_MASK)
        assert code.mask == pdf.QR_MASK
        image = io.BytesIO()
        code.save(image, kind="png", scale=3, border=4)
        image.seek(0)
        assert [found.text for found in zxingcpp.read_barcodes(Image.open(image))] == [data]


def _letters(count: int) -> list[pdf.Letter]:
    return [
        pdf.Letter(
            object_number=f"OBJ-{n}",
            name="Monika Weiß",
            address=["Monika Weiß", "Gartenstraße 13", "76414 Musterstadt"],
            link=f"{settings.BASE_URL}/r/{generate_token()}",
            code="ABCD-EFGH-JKM",
            rows=[pdf.LetterRow(f"M-{n}", "Wasser", "", "123,5", "31.12.2025")],
        )
        for n in range(count)
    ]


def _peak_of_chunks(head: pdf.Letterhead, count: int, size: int, tmp_path: Path) -> int:
    """Python's peak memory for writing ``count`` letters in chunks and joining them."""
    from ablesung.letters import joining

    letters = _letters(count)
    tracemalloc.start()
    try:
        names = []
        for start in range(0, count, size):
            name = tmp_path / f"part-{count}-{start}.pdf"
            with name.open("wb") as out:
                pdf.write_letters(out, head, letters[start : start + size])
            names.append(name)
        with (tmp_path / f"joined-{count}.pdf").open("wb") as out:
            handles = (path.open("rb") for path in names)
            pages, _sha = joining.join(handles, out, title="T", author="A")
        assert pages == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_per_chunk(tmp_path: Path) -> None:
    pdf.register_fonts()
    head = pdf.Letterhead(organisation="Stadtwerke", sender_line="Stadtwerke · Hauptstr. 1")
    _peak_of_chunks(head, 10, 10, tmp_path)  # warm up (font caches)
    one = _peak_of_chunks(head, 30, 30, tmp_path)
    three = _peak_of_chunks(head, 90, 30, tmp_path)
    assert three < one * 1.3, (one, three)
    # without chunks the canvas keeps every page: the same 90 letters in one go
    pdf.write_letters(io.BytesIO(), head, _letters(5))
    tracemalloc.start()
    try:
        pdf.write_letters(io.BytesIO(), head, _letters(90))
        whole = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert whole > three * 1.5, (three, whole)
