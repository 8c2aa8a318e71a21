"""Reading back a letters PDF: text, QR codes, and where a text stands on the page."""

from pathlib import Path

import pypdfium2
import zxingcpp
from pypdf import PdfReader

MM = 72 / 25.4


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def page_codes(path: Path, scale: float = 4.0) -> list[list[str]]:
    """The decoded QR codes of every page (rendered at 288 dpi)."""
    document = pypdfium2.PdfDocument(path)
    try:
        result = []
        for page in document:
            image = page.render(scale=scale, grayscale=True).to_pil()
            result.append(sorted(code.text for code in zxingcpp.read_barcodes(image)))
        return result
    finally:
        document.close()


def text_box_mm(
    path: Path, page_index: int, text: str, occurrence: int = 0
) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of ``text`` (its first occurrence, or the one numbered
    ``occurrence`` from 0) on a page, in mm from the top left corner."""
    document = pypdfium2.PdfDocument(path)
    try:
        page = document[page_index]
        height = page.get_height()
        textpage = page.get_textpage()
        searcher = textpage.search(text)
        for _ in range(occurrence + 1):
            found = searcher.get_next()
            assert found is not None, f"{text!r} is not on page {page_index + 1}"
        index, count = found
        boxes = [textpage.get_charbox(i) for i in range(index, index + count)]
        left = min(box[0] for box in boxes)
        bottom = min(box[1] for box in boxes)
        right = max(box[2] for box in boxes)
        top = max(box[3] for box in boxes)
        return (left / MM, (height - top) / MM, right / MM, (height - bottom) / MM)
    finally:
        document.close()


def path_boxes_mm(path: Path, page_index: int) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of every drawn path (lines, boxes) on a page, in mm."""
    document = pypdfium2.PdfDocument(path)
    try:
        page = document[page_index]
        height = page.get_height()
        boxes = []
        for item in page.get_objects(filter=(pypdfium2.raw.FPDF_PAGEOBJ_PATH,)):
            left, bottom, right, top = item.get_bounds()
            boxes.append((left / MM, (height - top) / MM, right / MM, (height - bottom) / MM))
        return boxes
    finally:
        document.close()
