"""Reading letters as one PDF: one DIN A4 letter per property, DIN 5008 form B.

Pure (no Django): the caller hands in plain data (:class:`Letterhead`, :class:`Letter`)
and a binary file; the writer draws with reportlab's canvas at absolute positions.

Layout (millimetres from the top left corner of the page):

* address field of form B: 20 mm from the left, 45 mm from the top, 85 × 45 mm; its upper
  17.7 mm are the Zusatz- und Vermerkzone (the sender line sits at its bottom), the lower
  27.3 mm the Anschriftzone (up to six lines). Form A has a 12.7 mm zone and starts at
  27 mm; form B, chosen here, fits the window of a DL envelope (90 × 45 mm, 20 mm from
  the left, 15 mm from the bottom of the envelope = 50–95 mm from the top of the folded
  letter);
* fold marks at 105 and 210 mm, hole mark at 148.5 mm;
* a detachable reply card below the second fold (212 mm).

Font: DejaVu Sans (Debian's ``fonts-dejavu-core``, which CI installs with Chromium),
embedded as a subset. The built-in Helvetica would need no file, and German umlauts
render in its WinAnsi encoding, but owners' names and streets come from the utility's
register and may hold any Latin letter (Ş, ł, ř …) that WinAnsi cannot encode; a
letter must never print a wrong name. Without the font the writer refuses with a
German message (:class:`FontMissing`).

Accessibility: reportlab writes no structure tree; the document title and its
language (``de-DE``) are set, the text is drawn in reading order.
"""

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import segno
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ablesung.letters import reply_card, texts

rl_config.useA85 = 0  # plain Flate streams: smaller and faster than ASCII85 on top

PAGE_W_MM = 210.0
PAGE_H_MM = 297.0

#: DIN 5008 form B address field (mm)
ADDRESS_LEFT = 20.0
ADDRESS_TOP = 45.0
ADDRESS_WIDTH = 85.0
ADDRESS_HEIGHT = 45.0
ZUSATZ_HEIGHT = 17.7  # Zusatz- und Vermerkzone (form B)
ANSCHRIFT_TOP = ADDRESS_TOP + ZUSATZ_HEIGHT  # 62.7 mm
ANSCHRIFT_LINES = 6
#: the left margin (Fluchtlinie) of DIN 5008: text starts 5 mm inside the address field
LEFT = 25.0
RIGHT = 190.0
#: the address text: from the margin to 5 mm before the field's right edge
TEXT_WIDTH = ADDRESS_LEFT + ADDRESS_WIDTH - 5 - LEFT
FOLD_MARKS = (105.0, 210.0)
HOLE_MARK = 148.5
INFO_LEFT = 125.0
CARD_TOP = 212.0
#: register rows per page (table and reply card); further rows go to continuation pages
ROWS_PER_PAGE = 4
#: the letter's text (below the subject line): its first line's top, width and font size
TEXT_TOP = 101.0
TEXT_WIDTH = 130.0
TEXT_SIZE = 9.5
#: the logo's box in the letterhead (left, top, width, height in mm): top right, above the
#: contact lines; the image keeps its aspect ratio and sits in the box's top right corner
LOGO_BOX = (INFO_LEFT, 5.0, RIGHT - INFO_LEFT, 13.0)
LOGO_FORM = "AblesungLogo"
SAMPLE_NOTE = "MUSTER – Vorschau, nicht versenden"

#: the QR codes' data mask (ISO/IEC 18004 allows any of 0–7; the choice only affects how
#: evenly dark and light modules spread, which scanners tolerate)
QR_MASK = 0

FONT_DIR = Path(os.environ.get("ABLESUNG_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
FONT = "AblesungSans"
FONT_BOLD = "AblesungSans-Bold"

INSTRUCTIONS = (
    "So lesen Sie ab: Notieren Sie alle Ziffern vor dem Komma (schwarze oder weiße Ziffern), "
    "ohne die roten Nachkommastellen. Bei mehreren Zählwerken tragen Sie jedes einzeln ein."
)
PRIVACY = (
    "Datenschutz: Wir verarbeiten Ihre Zählerstände nur zur Abrechnung Ihrer Verbräuche "
    "(Art. 6 Abs. 1 lit. c und e DSGVO). Ihr Zugangscode ist persönlich; geben Sie ihn "
    "nicht weiter. Mit einem neuen Ablesebrief wird der alte Code ungültig."
)


class FontMissing(RuntimeError):
    """The letter font is not installed."""


@dataclass(frozen=True)
class LetterRow:
    """One register: one row in the table and one box on the reply card."""

    meter_number: str
    kind: str
    register: str = ""
    previous_value: str = ""
    previous_date: str = ""


@dataclass(frozen=True)
class Letter:
    object_number: str
    name: str
    address: Sequence[str]  # the recipient's lines, name first
    link: str
    code: str  # grouped: ABCD-EFGH-JKM
    rows: Sequence[LetterRow]


@dataclass(frozen=True)
class Letterhead:
    organisation: str
    sender_line: str  # the short return address above the recipient
    contact: Sequence[str] = ()
    portal: str = ""
    key_date: str = ""  # printed, e.g. 31.12.2026
    deadline: str = ""
    date: str = ""
    #: subject line and text, with placeholders (:mod:`ablesung.letters.texts`)
    subject: str = texts.DEFAULTS[texts.TextKind.LETTER].subject
    text: str = texts.DEFAULTS[texts.TextKind.LETTER].body
    title: str = "Ablesebriefe"
    extra: dict[str, str] = field(default_factory=dict)
    #: the organisation's logo (JPEG or PNG bytes), drawn top right; ``None``: no logo
    logo: bytes | None = None
    #: a preview with made-up access data: every page says so in the letterhead
    sample: bool = False


def check_texts(head: Letterhead) -> None:
    """Raises :class:`~ablesung.letters.texts.TextError` for a bad subject or text."""
    texts.check_set(texts.TextKind.LETTER, texts.TextSet(head.subject, head.text))


def placeholder_values(head: Letterhead, letter: Letter) -> dict[str, str]:
    return {
        "name": letter.name,
        "objekt": letter.object_number,
        "stichtag": head.key_date,
        "frist": head.deadline or texts.NO_DEADLINE,
        "link": letter.link,
        "zugangscode": letter.code,
        "portal": head.portal,
        "organisation": head.organisation,
    }


def reply_payload(letter: Letter, rows: Sequence[LetterRow]) -> str:
    """What a reply card's QR code holds: one line with the object number and the card's
    meters that a scanner types into the capture screen (:mod:`ablesung.letters.reply_card`)."""
    return reply_card.encode(letter.object_number, [row.meter_number for row in rows])


def register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular = FONT_DIR / "DejaVuSans.ttf"
    bold = FONT_DIR / "DejaVuSans-Bold.ttf"
    if not regular.is_file() or not bold.is_file():
        raise FontMissing(
            f"Die Schrift DejaVu Sans fehlt ({regular}). Bitte das Paket "
            "„fonts-dejavu-core“ installieren oder ABLESUNG_FONT_DIR setzen."
        )
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))


def _y(top_mm: float) -> float:
    """Millimetres from the top edge → points from the bottom edge."""
    return float((PAGE_H_MM - top_mm) * mm)


class _Writer:
    def __init__(self, out: BinaryIO, head: Letterhead) -> None:
        register_fonts()
        self.head = head
        self.canvas = Canvas(out, pagesize=A4, pageCompression=1, lang="de-DE")
        self.canvas.setTitle(head.title)
        self.canvas.setAuthor(head.organisation)
        self.canvas.setCreator("Ablesung")
        self.pages = 0
        self._logo_state: bool | None = None

    def text(self, x: float, top: float, value: str, size: float = 9, bold: bool = False) -> None:
        self.canvas.setFont(FONT_BOLD if bold else FONT, size)
        self.canvas.drawString(x * mm, _y(top), value)

    def paragraph(
        self, x: float, top: float, value: str, width: float, size: float, max_lines: int = 0
    ) -> float:
        """Draws wrapped text (at most ``max_lines`` lines if given); returns the top of the
        next line (mm)."""
        leading = size * 1.3 / mm  # in mm
        lines = wrap(value, width, size)
        for line in lines[:max_lines] if max_lines else lines:
            top += leading
            self.text(x, top, line, size)
        return top

    def qr(self, data: str, x: float, top: float, size: float) -> None:
        """A QR code as vector paths: one rectangle per run of dark modules in a row.

        With a fixed mask (:data:`QR_MASK`): segno's search for the best of eight masks
        took most of a letter's drawing time, and zxing-cpp decodes every code of the
        fixed mask (``tests/letters/test_pdf.py`` checks a few hundred payloads).
        """
        matrix = segno.make_qr(data, error="m", mask=QR_MASK).matrix
        count = len(matrix) + 8  # with the quiet zone of four modules each side
        module = size / count
        path = self.canvas.beginPath()
        for row_index, row in enumerate(matrix):
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < len(row) and row[column]:
                    column += 1
                left = x + (start + 4) * module
                bottom = top + (row_index + 4 + 1) * module
                path.rect(left * mm, _y(bottom), (column - start) * module * mm, module * mm)
        self.canvas.setFillGray(0)
        self.canvas.drawPath(path, stroke=0, fill=1)

    def marks(self) -> None:
        self.canvas.setLineWidth(0.3)
        for top, length in ((FOLD_MARKS[0], 5.0), (FOLD_MARKS[1], 5.0), (HOLE_MARK, 8.0)):
            self.canvas.line(3 * mm, _y(top), (3 + length) * mm, _y(top))

    def letterhead(self) -> None:
        head = self.head
        self.text(LEFT, 20, head.organisation, 14, bold=True)
        contact_top = 16.0
        if head.logo and self._logo():
            self.canvas.doForm(LOGO_FORM)
            contact_top = LOGO_BOX[1] + LOGO_BOX[3] + 4.5
        for index, line in enumerate(head.contact[:5]):
            self.text(INFO_LEFT, contact_top + index * 3.8, line, 8)
        if head.sample:
            self.canvas.setFillColorRGB(0.75, 0, 0)
            # left of the contact lines: "MUSTER – Vorschau, nicht versenden"
            self.text(LEFT, 28, _fit(SAMPLE_NOTE, INFO_LEFT - LEFT - 3, 9), 9, bold=True)
            self.canvas.setFillGray(0)

    def _logo(self) -> bool:
        """Defines the logo once as a form XObject that every page reuses (one image in
        the file, however many letters); ``False`` if the image cannot be read."""
        if self._logo_state is None:
            try:
                image = ImageReader(io.BytesIO(self.head.logo or b""))
                image.getSize()
            except Exception:  # a broken logo must not stop the letters; they go without
                self._logo_state = False
                return False
            left, top, width, height = LOGO_BOX
            self.canvas.beginForm(LOGO_FORM)
            self.canvas.drawImage(
                image,
                left * mm,
                _y(top + height),
                width * mm,
                height * mm,
                preserveAspectRatio=True,
                anchor="ne",
            )
            self.canvas.endForm()
            self._logo_state = True
        return self._logo_state

    def address(self, letter: Letter) -> None:
        # the sender line at the bottom of the Zusatz- und Vermerkzone, underlined
        sender = self.head.sender_line
        size = 7.0
        while size > 5 and pdfmetrics.stringWidth(sender, FONT, size) > TEXT_WIDTH * mm:
            size -= 0.5
        self.text(LEFT, ANSCHRIFT_TOP - 1.5, sender, size)
        self.canvas.setLineWidth(0.2)
        width = min(pdfmetrics.stringWidth(sender, FONT, size), TEXT_WIDTH * mm)
        line_top = _y(ANSCHRIFT_TOP - 0.8)
        self.canvas.line(LEFT * mm, line_top, LEFT * mm + width, line_top)
        for index, line in enumerate(letter.address[:ANSCHRIFT_LINES]):
            self.text(LEFT, ANSCHRIFT_TOP + 4.0 + index * 4.2, _fit(line, TEXT_WIDTH, 10), 10)

    def info(self, letter: Letter) -> None:
        lines = [
            ("Objektnummer", letter.object_number),
            ("Datum", self.head.date),
            ("Stichtag", self.head.key_date),
            ("Bitte bis", self.head.deadline),
        ]
        for index, (label, value) in enumerate(line for line in lines if line[1]):
            self.text(INFO_LEFT, 55 + index * 4.5, f"{label}:", 8.5)
            self.text(INFO_LEFT + 25, 55 + index * 4.5, value, 8.5)

    def table(self, rows: Sequence[LetterRow], top: float) -> float:
        columns = (LEFT, 55.0, 93.0, 110.0, 136.0, 160.0, RIGHT)
        headers = (
            "Zählernummer",
            "Art",
            "Zählwerk",
            "Stand zuletzt",
            "abgelesen am",
            "Neuer Stand",
        )
        self.canvas.setLineWidth(0.4)
        for index, header in enumerate(headers):
            self.text(columns[index] + 1, top + 4.2, header, 8, bold=True)
        top += 6
        for row in rows:
            cells = (
                row.meter_number,
                row.kind,
                row.register,
                row.previous_value,
                row.previous_date,
            )
            for index, cell in enumerate(cells):
                self.text(
                    columns[index] + 1,
                    top + 5,
                    _fit(cell, columns[index + 1] - columns[index] - 2, 8.5),
                    8.5,
                )
            self.canvas.rect(
                columns[5] * mm, _y(top + 6.5), (columns[6] - columns[5]) * mm, 6.5 * mm
            )
            top += 7.5
        return top

    def card(self, letter: Letter, rows: Sequence[LetterRow]) -> None:
        canvas = self.canvas
        canvas.setLineWidth(0.3)
        canvas.setDash(2, 2)
        canvas.line(0, _y(CARD_TOP), PAGE_W_MM * mm, _y(CARD_TOP))
        canvas.setDash()
        self.text(LEFT, CARD_TOP + 3, "✂ hier abtrennen und zurücksenden", 7)
        self.text(LEFT, CARD_TOP + 10, "Antwortkarte – Zählerstände", 11, bold=True)
        self.text(LEFT, CARD_TOP + 16, f"Objektnummer: {letter.object_number}", 9)
        self.text(LEFT, CARD_TOP + 20.5, _fit(letter.name, 120, 9), 9)
        top = CARD_TOP + 27
        for row in rows:
            label = f"Zähler {row.meter_number}"
            if row.register:
                label += f" ({row.register})"
            self.text(LEFT, top + 5, _fit(label, 55, 9), 9)
            self.text(78, top + 5, _fit(row.kind, 30, 8), 8)
            canvas.rect(110 * mm, _y(top + 7), 45 * mm, 7 * mm)
            top += 9
        # the lines to write on start 2 mm after their label
        for label, left, right in (("Datum:", LEFT, 70.0), ("Unterschrift:", 80.0, 155.0)):
            self.text(left, PAGE_H_MM - 12, label, 9)
            start = left * mm + pdfmetrics.stringWidth(label, FONT, 9) + 2 * mm
            canvas.line(start, _y(PAGE_H_MM - 12), right * mm, _y(PAGE_H_MM - 12))
        self.qr(reply_payload(letter, rows), 163, CARD_TOP + 6, 30)
        self.text(167, CARD_TOP + 37.5, "Für die Verwaltung", 6.5)

    def letter(self, letter: Letter) -> None:
        head = self.head
        chunks = [
            letter.rows[i : i + ROWS_PER_PAGE] for i in range(0, len(letter.rows), ROWS_PER_PAGE)
        ] or [()]
        self.marks()
        self.letterhead()
        self.address(letter)
        self.info(letter)
        values = placeholder_values(head, letter)
        self.text(LEFT, 98.5, _fit(texts.render(head.subject, values), 130, 11), 11, bold=True)
        body = texts.render(head.text, values)
        # the stored text was measured on save (text_lines); the limit is the last guard
        top = self.paragraph(LEFT, TEXT_TOP, body, TEXT_WIDTH, TEXT_SIZE, max_text_lines())
        self.qr(letter.link, 160, 100, 32)
        self.text(164, 133, "Ihr persönlicher Link", 7)
        top = self.table(chunks[0], max(top + 3, 136))
        if len(chunks) > 1:
            self.text(LEFT, top + 3, "Weitere Zähler auf den folgenden Seiten.", 8)
        self.access_box(letter, max(top + 5, 172))
        self.card(letter, chunks[0])
        self.end_page()
        for number, chunk in enumerate(chunks[1:], start=2):
            self.marks()
            self.text(LEFT, 20, head.organisation, 11, bold=True)
            self.text(LEFT, 30, f"Objektnummer {letter.object_number} – Seite {number}", 10)
            self.table(chunk, 40)
            self.card(letter, chunk)
            self.end_page()

    def access_box(self, letter: Letter, top: float) -> None:
        self.text(LEFT, top + 4, "Online ablesen:", 9, bold=True)
        self.text(LEFT + 30, top + 4, self.head.portal, 9)
        self.text(LEFT, top + 10, "Zugangscode:", 9, bold=True)
        self.canvas.setFont("Courier-Bold", 13)
        self.canvas.drawString((LEFT + 30) * mm, _y(top + 10.3), letter.code)
        top = self.paragraph(LEFT, top + 12, INSTRUCTIONS, RIGHT - LEFT, 7.5)
        self.paragraph(LEFT, top + 0.5, PRIVACY, RIGHT - LEFT, 7)

    def end_page(self) -> None:
        self.canvas.showPage()
        self.pages += 1

    def save(self) -> None:
        self.canvas.save()


def wrap(value: str, width_mm: float, size: float) -> list[str]:
    """The lines of ``value`` as drawn: its own line breaks, then wrapped to the width."""
    return [
        line
        for block in value.split("\n")
        for line in simpleSplit(block, FONT, size, width_mm * mm) or [""]
    ]


def text_lines(body: str) -> int:
    """How many lines the (rendered) letter text takes."""
    register_fonts()
    return len(wrap(body, TEXT_WIDTH, TEXT_SIZE))


def max_text_lines() -> int:
    """How many lines of letter text fit above the meter table.

    Below the text come, with their fixed gaps: the table with :data:`ROWS_PER_PAGE` rows
    and the note on further pages, the access box (portal, code, instructions and the
    data-protection note) and the reply card at :data:`CARD_TOP`, 2 mm kept free. The
    text may take what is left between :data:`TEXT_TOP` and the table.
    """
    register_fonts()
    width = RIGHT - LEFT
    access = (
        12
        + len(wrap(INSTRUCTIONS, width, 7.5)) * 7.5 * 1.3 / mm
        + 0.5
        + len(wrap(PRIVACY, width, 7)) * 7 * 1.3 / mm
    )
    table = 6 + ROWS_PER_PAGE * 7.5
    text_bottom = CARD_TOP - 1.5 - access - 5 - table - 3
    return int((text_bottom - TEXT_TOP) // (TEXT_SIZE * 1.3 / mm))


def _fit(value: str, width_mm: float, size: float) -> str:
    while value and pdfmetrics.stringWidth(value, FONT, size) > width_mm * mm:
        value = value[:-1]
    return value


def write_letters(out: BinaryIO, head: Letterhead, letters: Iterable[Letter]) -> int:
    """Writes one letter per entry of ``letters`` into ``out``; returns the page count."""
    check_texts(head)
    writer = _Writer(out, head)
    for letter in letters:
        writer.letter(letter)
    if writer.pages == 0:
        writer.text(20, 30, "Keine Ablesebriefe.", 11)
        writer.end_page()
    writer.save()
    return writer.pages
